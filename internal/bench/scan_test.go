package bench

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/yasyncd/yasyncd/internal/emulator"
	"github.com/yasyncd/yasyncd/internal/localfs"
	"github.com/yasyncd/yasyncd/state"
	yasync "github.com/yasyncd/yasyncd/sync"
)

// scanShapes are the local trees of BenchmarkLocalScan.
func scanShapes() []shape {
	if full {
		return []shape{shape100k, shape1M}
	}
	return []shape{shape100k}
}

// scanRounds is how many yasyncd/raw pairs one iteration runs (the median is reported).
const scanRounds = 3

// rawWalk is the baseline of a local scan: filepath.WalkDir and an Lstat of every entry,
// skipping the private .yasyncd folder as localfs does. It returns the entries seen.
func rawWalk(root string) (int, error) {
	n := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == localfs.MetaDir {
			return filepath.SkipDir
		}
		if p == root {
			return nil
		}
		if _, err := os.Lstat(p); err != nil {
			return err
		}
		n++
		return nil
	})
	return n, err
}

// openState opens a state database in a temp dir holding entries and, when rev is not
// zero, a cursor saying the Disk was listed at revision rev just now.
func openState(b testing.TB, entries []state.Entry, rev int64) *state.DB {
	b.Helper()
	db, err := state.Open(filepath.Join(b.TempDir(), "state.db"), state.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	if len(entries) > 0 {
		if err := db.Apply(entries, nil); err != nil {
			b.Fatal(err)
		}
	}
	if rev != 0 {
		if err := db.SetCursor(state.Cursor{Revision: rev, ListedAt: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
	return db
}

// BenchmarkLocalScan measures the local side of a pass over a 100,000-file tree in 1,010
// folders (small files, built once per process).
//
//   - walk: localfs.Walk (sorted, lstat-checked, symlink-refusing) against the raw
//     filepath.WalkDir + Lstat of the same tree. ratio = localfs / raw.
//   - no-change-pass: a whole Engine.RunOnce with the state populated and the Disk
//     revision unchanged (so the remote side is one revision probe to an emulator), against
//     the same raw walk. ratio = pass / raw walk: what a quiet pass costs over merely
//     looking at every file.
func BenchmarkLocalScan(b *testing.B) {
	for _, s := range scanShapes() {
		b.Run("files="+sizeName(int64(s.nFiles())), func(b *testing.B) {
			t, err := sharedTree(s)
			if err != nil {
				b.Fatal(err)
			}
			entries := s.nFiles() + s.nDirs()
			b.Run("walk", func(b *testing.B) { benchWalk(b, t, entries) })
			b.Run("no-change-pass", func(b *testing.B) { benchNoChangePass(b, t, entries) })
		})
	}
}

func benchWalk(b *testing.B, t *localTree, entries int) {
	lfs, err := localfs.New(t.root, localfs.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	walk := func() error {
		n := 0
		err := lfs.Walk(ctx, func(yasync.LocalEntry) error { n++; return nil },
			func(p, reason string) { b.Errorf("skipped %s: %s", p, reason) })
		if err == nil && n != entries {
			b.Fatalf("localfs walked %d entries, want %d", n, entries)
		}
		return err
	}
	raw := func() error {
		n, err := rawWalk(t.root)
		if err == nil && n != entries {
			b.Fatalf("raw walk saw %d entries, want %d", n, entries)
		}
		return err
	}
	var ym, rm meter
	i := 0
	for b.Loop() {
		for range scanRounds {
			i++
			if err := alternate(i, func() error { return ym.run(walk) }, func() error { return rm.run(raw) }); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportScan(b, entries, &ym, &rm)
}

func benchNoChangePass(b *testing.B, t *localTree, entries int) {
	srv := newEmulator(b, emulator.Options{})
	c := newClient(b, srv.URL, srv.Token())
	db := openState(b, t.base, srv.Revision())
	lfs, err := localfs.New(t.root, localfs.Options{})
	if err != nil {
		b.Fatal(err)
	}
	eng, err := yasync.New(yasync.Options{Local: lfs, Remote: c, State: db, RemoteRoot: "disk:/Sync",
		ListingMaxAge: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	pass := func() error {
		rep, err := eng.RunOnce(ctx)
		if err != nil {
			return err
		}
		if p := rep.Plan; len(p.Jobs)+len(p.Record)+len(p.Forget) != 0 || len(rep.Failures) != 0 {
			b.Fatalf("a no-change pass planned %d jobs, %d records, %d forgets, %d failures",
				len(p.Jobs), len(p.Record), len(p.Forget), len(rep.Failures))
		}
		return nil
	}
	raw := func() error {
		n, err := rawWalk(t.root)
		if err == nil && n != entries {
			b.Fatalf("raw walk saw %d entries, want %d", n, entries)
		}
		return err
	}
	if err := pass(); err != nil { // warm the caches and the client's connections
		b.Fatal(err)
	}
	var ym, rm meter
	i := 0
	for b.Loop() {
		for range scanRounds {
			i++
			if err := alternate(i, func() error { return ym.run(pass) }, func() error { return rm.run(raw) }); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportScan(b, entries, &ym, &rm)
}

func reportScan(b *testing.B, entries int, ym, rm *meter) {
	b.ReportMetric(pairedRatio(ym, rm), "ratio")
	b.ReportMetric(float64(ym.perOp().Nanoseconds())/float64(entries), "ns/file")
	b.ReportMetric(float64(rm.perOp().Nanoseconds())/float64(entries), "raw-ns/file")
	b.ReportMetric(float64(ym.cpuPerOp().Nanoseconds())/float64(entries), "cpu-ns/file")
	b.ReportMetric(float64(rm.cpuPerOp().Nanoseconds())/float64(entries), "raw-cpu-ns/file")
	b.ReportMetric(ym.allocPerOp()/float64(entries), "B/file")
}
