package bench

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/yasyncd/yasyncd/internal/emulator"
	"github.com/yasyncd/yasyncd/internal/localfs"
	"github.com/yasyncd/yasyncd/state"
	yasync "github.com/yasyncd/yasyncd/sync"
)

// engineShapes are the trees of BenchmarkSecondPass.
func engineShapes() []shape {
	if full {
		return []shape{shape10k, shape100k}
	}
	return []shape{shape10k}
}

// BenchmarkSecondPass syncs a 10,000-file local folder (110 folders) to an empty
// emulated Disk with Engine.RunOnce, then runs two more passes with nothing changed.
//
// The second pass lists the Disk again: the first pass saved the revision it saw before
// its own uploads, and the engine cannot tell its uploads from another device's changes,
// so the moved revision means "list". It transfers nothing. The third pass finds the
// revision it saved and sends only the revision probe: requests should be 1.
//
// Metrics: first-ms, second-ms, third-ms (wall time of each pass); ratio = second /
// first and third-ratio = third / first; files/s of the first pass; first-requests,
// second-requests, and requests (the third pass's).
func BenchmarkSecondPass(b *testing.B) {
	for _, s := range engineShapes() {
		b.Run("files="+sizeName(int64(s.nFiles())), func(b *testing.B) {
			t, err := sharedTree(s)
			if err != nil {
				b.Fatal(err)
			}
			benchSecondPass(b, t)
		})
	}
}

func benchSecondPass(b *testing.B, t *localTree) {
	files := t.shape.nFiles()
	var first, second, third meter
	var firstReqs, secondReqs, thirdReqs int
	for b.Loop() {
		b.StopTimer()
		srv := newEmulator(b, emulator.Options{})
		c := newClient(b, srv.URL, srv.Token())
		db, err := state.Open(filepath.Join(b.TempDir(), "state.db"), state.Options{})
		if err != nil {
			b.Fatal(err)
		}
		lfs, err := localfs.New(t.root, localfs.Options{})
		if err != nil {
			b.Fatal(err)
		}
		eng, err := yasync.New(yasync.Options{Local: lfs, Remote: c, State: db, RemoteRoot: memRoot,
			ListingMaxAge: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		ctx := b.Context()
		b.StartTimer()

		err = first.run(func() error {
			rep, err := eng.RunOnce(ctx)
			if err == nil && (rep.Uploaded != files || len(rep.Failures) != 0) {
				err = fmt.Errorf("first pass uploaded %d of %d files, %d failures", rep.Uploaded, files, len(rep.Failures))
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		firstReqs = len(srv.Requests())
		srv.ResetRequests()
		noChange := func() error {
			rep, err := eng.RunOnce(ctx)
			if err == nil && (len(rep.Plan.Jobs)+len(rep.Plan.Record)+len(rep.Plan.Forget) != 0 || len(rep.Failures) != 0) {
				err = fmt.Errorf("a pass with nothing changed planned %d jobs, %d records, %d forgets, %d failures",
					len(rep.Plan.Jobs), len(rep.Plan.Record), len(rep.Plan.Forget), len(rep.Failures))
			}
			return err
		}
		if err := second.run(noChange); err != nil {
			b.Fatal(err)
		}
		secondReqs = len(srv.Requests())
		srv.ResetRequests()
		if err := third.run(noChange); err != nil {
			b.Fatal(err)
		}
		thirdReqs = len(srv.Requests())

		b.StopTimer()
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		srv.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(first.perOp().Milliseconds()), "first-ms")
	b.ReportMetric(float64(second.perOp().Milliseconds()), "second-ms")
	b.ReportMetric(float64(third.perOp().Milliseconds()), "third-ms")
	b.ReportMetric(ratio(second.perOp(), first.perOp()), "ratio")
	b.ReportMetric(ratio(third.perOp(), first.perOp()), "third-ratio")
	b.ReportMetric(float64(files)/first.perOp().Seconds(), "files/s")
	b.ReportMetric(float64(firstReqs), "first-requests")
	b.ReportMetric(float64(secondReqs), "second-requests")
	b.ReportMetric(float64(thirdReqs), "requests")
}
