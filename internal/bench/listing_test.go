package bench

import (
	"fmt"
	gosync "sync"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/yasyncd/yasyncd/client"
	"github.com/yasyncd/yasyncd/internal/emulator"
)

// remoteTree is an emulator seeded once per process with shape s below memRoot.
type remoteTree struct {
	srv   *emulator.Server
	shape shape
}

var (
	remotesMu gosync.Mutex
	remotes   = map[shape]*remoteTree{}
)

func sharedRemote(s shape) (*remoteTree, error) {
	remotesMu.Lock()
	defer remotesMu.Unlock()
	if t := remotes[s]; t != nil {
		return t, nil
	}
	srv, err := startEmulator(emulator.Options{})
	if err != nil {
		return nil, err
	}
	// Folders on this goroutine first, then files from a few at once (PutFile is safe
	// for concurrent use; seeding is most of this fixture's cost).
	var g errgroup.Group
	g.SetLimit(4)
	s.each(func(rel string, dir bool, i int) {
		if dir {
			g.Go(func() error { return srv.Mkdir(memRoot + "/" + rel) })
		} else {
			g.Go(func() error { return srv.PutFile(memRoot+"/"+rel, content(i)) })
		}
	})
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("seed emulator: %w", err)
	}
	t := &remoteTree{srv: srv, shape: s}
	remotes[s] = t
	return t, nil
}

// listingShapes are the sizes of BenchmarkRemoteWalk.
func listingShapes() []shape {
	if full {
		return []shape{shape100k, shape1M}
	}
	return []shape{shape100k}
}

// listingRounds is how many client/raw pairs one iteration runs (the median is reported).
const listingRounds = 2

// BenchmarkRemoteWalk lists a 100,000-file tree (1,010 folders) from the emulator with
// client.Walk against a raw walk: paged GET /resources with the same page size, the same
// fields parameter and the same number of folders in flight, decoding the same keys (times
// kept as strings). ratio = client / raw; ns/item and B/item per listed resource.
func BenchmarkRemoteWalk(b *testing.B) {
	for _, s := range listingShapes() {
		b.Run("files="+sizeName(int64(s.nFiles())), func(b *testing.B) {
			t, err := sharedRemote(s)
			if err != nil {
				b.Fatal(err)
			}
			benchRemoteWalk(b, t)
		})
	}
}

// listConcurrency is the client's default number of folders listed at once
// (client.Options.ListConcurrency), which the raw walk matches.
const listConcurrency = 4

func benchRemoteWalk(b *testing.B, t *remoteTree) {
	srv := t.srv
	c := newClient(b, srv.URL, srv.Token())
	r := newRaw(srv.URL, srv.Token())
	ctx := b.Context()
	want := t.shape.nFiles() + t.shape.nDirs()
	fields, limit, err := listQueryOf(ctx, srv, c, memRoot)
	if err != nil {
		b.Fatal(err)
	}
	walkClient := func() error {
		n := 0
		err := c.Walk(ctx, memRoot, func(client.Resource) error { n++; return nil })
		if err == nil && n != want {
			err = fmt.Errorf("client walk listed %d, want %d", n, want)
		}
		return err
	}
	walkRaw := func() error {
		n := 0
		err := r.walk(ctx, memRoot, fields, limit, listConcurrency, func(rawItem) { n++ })
		if err == nil && n != want {
			err = fmt.Errorf("raw walk listed %d, want %d", n, want)
		}
		return err
	}
	srv.ResetRequests()
	if err := walkClient(); err != nil { // warm; and count the client's requests
		b.Fatal(err)
	}
	clientReqs := len(srv.Requests())
	srv.ResetRequests()
	if err := walkRaw(); err != nil {
		b.Fatal(err)
	}
	rawReqs := len(srv.Requests())
	srv.ResetRequests()

	var cm, rm meter
	i := 0
	for b.Loop() {
		for range listingRounds {
			i++
			if err := alternate(i, func() error { return cm.run(walkClient) }, func() error { return rm.run(walkRaw) }); err != nil {
				b.Fatal(err)
			}
			srv.ResetRequests() // the log would otherwise grow with every round
		}
	}
	b.ReportMetric(pairedRatio(&cm, &rm), "ratio")
	b.ReportMetric(float64(cm.perOp().Nanoseconds())/float64(want), "ns/item")
	b.ReportMetric(float64(rm.perOp().Nanoseconds())/float64(want), "raw-ns/item")
	b.ReportMetric(cm.allocPerOp()/float64(want), "B/item")
	b.ReportMetric(rm.allocPerOp()/float64(want), "raw-B/item")
	b.ReportMetric(float64(clientReqs), "requests")
	b.ReportMetric(float64(rawReqs), "raw-requests")
}
