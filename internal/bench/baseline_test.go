package bench

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yasyncd/yasyncd/client"
	"github.com/yasyncd/yasyncd/internal/emulator"
	"github.com/yasyncd/yasyncd/internal/localfs"
	yasync "github.com/yasyncd/yasyncd/sync"
)

// The tests below check the baselines and fixtures at a small size: a baseline that
// silently did less work than the code it is compared with would make every ratio lie.

// small is a tree of 2 × 3 × 4 = 24 files in 8 folders.
var small = shape{top: 2, sub: 3, files: 4}

func TestRawTransfersMoveTheSameBytes(t *testing.T) {
	srv := emulator.NewServer(t, emulator.Options{Logf: quiet})
	c := newClient(t, srv.URL, srv.Token())
	r := newRaw(srv.URL, srv.Token())
	ctx := t.Context()
	data := bytes.Repeat([]byte("0123456789abcdef"), 70_000) // 1.1 MB, several reads

	if err := r.upload(ctx, "disk:/raw.bin", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	got, err := srv.ReadFile("disk:/raw.bin")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("raw upload stored %d bytes (err %v), want the %d sent", len(got), err, len(data))
	}
	var viaRaw, viaClient bytes.Buffer
	if _, err := r.download(ctx, "disk:/raw.bin", &viaRaw); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Download(ctx, "disk:/raw.bin", &viaClient); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(viaRaw.Bytes(), data) || !bytes.Equal(viaClient.Bytes(), data) {
		t.Fatalf("downloads returned %d (raw) and %d (client) bytes, want the %d uploaded",
			viaRaw.Len(), viaClient.Len(), len(data))
	}
}

func TestRawWalkListsWhatClientWalkLists(t *testing.T) {
	srv := emulator.NewServer(t, emulator.Options{Logf: quiet})
	small.each(func(rel string, dir bool, i int) {
		var err error
		if dir {
			err = srv.Mkdir(memRoot + "/" + rel)
		} else {
			err = srv.PutFile(memRoot+"/"+rel, content(i))
		}
		if err != nil {
			t.Fatal(err)
		}
	})
	c := newClient(t, srv.URL, srv.Token())
	r := newRaw(srv.URL, srv.Token())
	ctx := t.Context()
	fields, limit, err := listQueryOf(ctx, srv, c, memRoot)
	if err != nil {
		t.Fatal(err)
	}
	if limit <= 0 || !strings.Contains(fields, "_embedded.items.md5") {
		t.Fatalf("listing query: limit %d, fields %q", limit, fields)
	}
	var viaClient, viaRaw []string
	if err := c.Walk(ctx, memRoot, func(res client.Resource) error {
		viaClient = append(viaClient, res.Path+" "+res.Type+" "+res.MD5)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// A page size of 2 makes the raw walk page through every folder.
	if err := r.walk(ctx, memRoot, fields, 2, listConcurrency, func(it rawItem) {
		viaRaw = append(viaRaw, it.Path+" "+it.Type+" "+it.MD5)
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(viaClient)
	slices.Sort(viaRaw)
	if want := small.nFiles() + small.nDirs(); len(viaClient) != want || !slices.Equal(viaClient, viaRaw) {
		t.Fatalf("client walk (%d items) and raw walk (%d items) differ, want %d each:\n%v\n%v",
			len(viaClient), len(viaRaw), want, viaClient, viaRaw)
	}
}

func TestLocalTreeAndRawWalk(t *testing.T) {
	tr, err := sharedTree(small)
	if err != nil {
		t.Fatal(err)
	}
	lfs, err := localfs.New(tr.root, localfs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var walked []string
	if err := lfs.Walk(t.Context(), func(le yasync.LocalEntry) error {
		walked = append(walked, le.Path)
		return nil
	}, func(p, reason string) { t.Errorf("skipped %s: %s", p, reason) }); err != nil {
		t.Fatal(err)
	}
	n, err := rawWalk(tr.root)
	if err != nil {
		t.Fatal(err)
	}
	want := small.nFiles() + small.nDirs()
	if len(walked) != want || n != want || len(tr.base) != want {
		t.Fatalf("localfs walked %d, raw walk saw %d, base has %d; want %d", len(walked), n, len(tr.base), want)
	}
	// The base must describe the files as written, or the no-change pass would hash.
	for _, e := range tr.base {
		if e.Dir {
			continue
		}
		var i int
		small.each(func(rel string, dir bool, j int) {
			if rel == e.LocalPath {
				i = j
			}
		})
		sum := md5.Sum(content(i))
		if e.MD5 != hex.EncodeToString(sum[:]) || e.Size != int64(len(content(i))) || e.Inode == 0 || e.LocalMtime.IsZero() {
			t.Fatalf("base entry %+v does not describe the file", e)
		}
	}
}

// TestNoChangePassOnSharedTree runs the engine the way BenchmarkLocalScan does: the
// populated state must make the pass plan nothing and send only the revision probe.
func TestNoChangePassOnSharedTree(t *testing.T) {
	tr, err := sharedTree(small)
	if err != nil {
		t.Fatal(err)
	}
	srv := emulator.NewServer(t, emulator.Options{Logf: quiet})
	c := newClient(t, srv.URL, srv.Token())
	db := openState(t, tr.base, srv.Revision())
	lfs, err := localfs.New(tr.root, localfs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := yasync.New(yasync.Options{Local: lfs, Remote: c, State: db, RemoteRoot: memRoot, ListingMaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	srv.ResetRequests()
	rep, err := eng.RunOnce(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Plan; len(p.Jobs)+len(p.Record)+len(p.Forget)+len(rep.Failures) != 0 {
		t.Fatalf("planned %d jobs, %d records, %d forgets, %d failures; want nothing",
			len(p.Jobs), len(p.Record), len(p.Forget), len(rep.Failures))
	}
	if reqs := srv.Requests(); len(reqs) != 1 {
		t.Fatalf("sent %d requests, want only the revision probe: %+v", len(reqs), reqs)
	}
}

// TestPlanWorld checks the in-memory sides: agreeing listings plan nothing, and one change
// in every changeEvery files plans exactly one job each.
func TestPlanWorld(t *testing.T) {
	for _, every := range []int{0, 5} {
		w := newPlanWorld(small, every)
		db := openState(t, w.base, 0)
		eng, err := yasync.New(yasync.Options{Local: w.local, Remote: w.remote, State: db, RemoteRoot: memRoot,
			DryRun: true, FullListing: true})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := eng.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		wantChanged := 0
		if every > 0 {
			wantChanged = (small.nFiles() + every - 1) / every
		}
		ups, downs := 0, 0
		for _, j := range rep.Plan.Jobs {
			switch j.Op {
			case yasync.OpUpload:
				ups++
			case yasync.OpDownload:
				downs++
			default:
				t.Errorf("unexpected job %s", j)
			}
		}
		if w.changed != wantChanged || ups+downs != wantChanged || (every > 0 && (ups == 0 || downs == 0)) {
			t.Fatalf("changeEvery %d: %d changed, planned %d uploads and %d downloads; want %d, both kinds",
				every, w.changed, ups, downs, wantChanged)
		}
	}
}
