package bench

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yasyncd/yasyncd/client"
	"github.com/yasyncd/yasyncd/internal/pathname"
	"github.com/yasyncd/yasyncd/state"
	yasync "github.com/yasyncd/yasyncd/sync"
)

// errNotPlanned is what the in-memory sides answer to anything a dry run never asks.
var errNotPlanned = errors.New("bench: not used by a dry run")

// memLocal is a local tree held in memory: a dry run only checks the root, walks and
// hashes, so the planning benchmark measures the engine and not the disk.
type memLocal struct {
	entries []yasync.LocalEntry
	md5     map[string]string // by path, for files the cheap filter cannot vouch for
}

var _ yasync.Local = (*memLocal)(nil)

func (m *memLocal) Check() (bool, bool, error)        { return true, true, nil }
func (m *memLocal) Init() error                       { return errNotPlanned }
func (m *memLocal) Prepare(ctx context.Context) error { return errNotPlanned }
func (m *memLocal) Walk(ctx context.Context, fn func(yasync.LocalEntry) error, skip func(path, reason string)) error {
	for _, e := range m.entries {
		if err := fn(e); err != nil {
			return err
		}
	}
	return ctx.Err()
}
func (m *memLocal) Stat(p string) (yasync.LocalEntry, error) {
	return yasync.LocalEntry{}, fs.ErrNotExist
}
func (m *memLocal) Open(p string) (io.ReadCloser, error) { return nil, errNotPlanned }
func (m *memLocal) Hash(ctx context.Context, p string) (string, yasync.LocalEntry, error) {
	sum, ok := m.md5[p]
	if !ok {
		return "", yasync.LocalEntry{}, fmt.Errorf("hash %s: %w", p, fs.ErrNotExist)
	}
	i, _ := slices.BinarySearchFunc(m.entries, p, func(e yasync.LocalEntry, p string) int { return strings.Compare(e.Path, p) })
	return sum, m.entries[i], nil
}

func (m *memLocal) CreateTemp() (yasync.Temp, error) { return nil, errNotPlanned }
func (m *memLocal) Commit(yasync.Temp, string, time.Time, *yasync.LocalEntry) (yasync.LocalEntry, error) {
	return yasync.LocalEntry{}, errNotPlanned
}
func (m *memLocal) Mkdir(string) (yasync.LocalEntry, error) {
	return yasync.LocalEntry{}, errNotPlanned
}
func (m *memLocal) Trash(string, yasync.LocalEntry) error { return errNotPlanned }
func (m *memLocal) Rename(string, string, yasync.LocalEntry) (yasync.LocalEntry, error) {
	return yasync.LocalEntry{}, errNotPlanned
}
func (m *memLocal) SetMtime(string, time.Time) (yasync.LocalEntry, error) {
	return yasync.LocalEntry{}, errNotPlanned
}

// memRemote is a remote tree held in memory, with a revision that never moves.
type memRemote struct {
	items []client.Resource
}

var _ yasync.Remote = (*memRemote)(nil)

const memRevision = 7

func (m *memRemote) DiskInfo(context.Context) (*client.Disk, error) {
	return &client.Disk{Revision: memRevision}, nil
}
func (m *memRemote) Revision(context.Context) (int64, error) { return memRevision, nil }
func (m *memRemote) Stat(context.Context, string) (*client.Resource, error) {
	return nil, client.ErrNotFound
}
func (m *memRemote) Walk(ctx context.Context, root string, fn func(client.Resource) error) error {
	for _, r := range m.items {
		if err := fn(r); err != nil {
			return err
		}
	}
	return ctx.Err()
}
func (m *memRemote) Download(context.Context, string, io.Writer) (int64, error) {
	return 0, errNotPlanned
}
func (m *memRemote) Upload(context.Context, string, io.Reader, int64, client.UploadOptions) (*client.UploadResult, error) {
	return nil, errNotPlanned
}
func (m *memRemote) Mkdir(context.Context, string) error              { return errNotPlanned }
func (m *memRemote) Move(context.Context, string, string, bool) error { return errNotPlanned }
func (m *memRemote) Delete(context.Context, string, client.DeleteOptions) error {
	return errNotPlanned
}
func (m *memRemote) SetProperties(context.Context, string, map[string]any) (*client.Resource, error) {
	return nil, errNotPlanned
}

const memRoot = "disk:/Sync"

// planWorld is the three listings of a planning benchmark.
type planWorld struct {
	base   []state.Entry
	local  *memLocal
	remote *memRemote
	// changed is how many files differ from the base (local and remote edits together).
	changed int
}

// newPlanWorld makes base, local and remote listings of shape s that all agree, then
// changes one file in every changeEvery (0: none), alternately on the local and the
// remote side, so each changed path plans one transfer.
func newPlanWorld(s shape, changeEvery int) *planWorld {
	w := &planWorld{local: &memLocal{md5: map[string]string{}}, remote: &memRemote{}}
	mtime := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	modified := mtime.Add(time.Minute)
	ino := uint64(1000)
	s.each(func(rel string, dir bool, i int) {
		ino++
		b := state.Entry{Key: pathname.Key(rel), LocalPath: rel, RemotePath: rel, Dir: dir, Inode: ino,
			ResourceID: fmt.Sprintf("bench:%d", ino), RemoteModified: modified, RemoteRevision: int64(ino)}
		l := yasync.LocalEntry{Path: rel, Dir: dir, Inode: ino}
		r := client.Resource{Name: path.Base(rel), Path: memRoot + "/" + rel, Type: client.TypeDir,
			ResourceID: b.ResourceID, Revision: b.RemoteRevision, Modified: modified, Created: modified}
		if !dir {
			data := content(i)
			sum := md5.Sum(data)
			b.Size, b.MD5, b.LocalMtime = int64(len(data)), hex.EncodeToString(sum[:]), mtime
			l.Size, l.Mtime = b.Size, mtime
			r.Type, r.Size, r.MD5 = client.TypeFile, b.Size, b.MD5
			if changeEvery > 0 && i%changeEvery == 0 {
				w.changed++
				edit := content(-i - 1)
				esum := md5.Sum(edit)
				if (i/changeEvery)%2 == 0 {
					// A local edit: the cheap filter misses it, the hash differs.
					l.Size, l.Mtime = int64(len(edit)), mtime.Add(time.Hour)
					w.local.md5[rel] = hex.EncodeToString(esum[:])
				} else {
					r.Size, r.MD5 = int64(len(edit)), hex.EncodeToString(esum[:])
				}
			}
		}
		w.base = append(w.base, b)
		w.local.entries = append(w.local.entries, l)
		w.remote.items = append(w.remote.items, r)
	})
	return w
}

// planShapes are the sizes of BenchmarkPlan: two in the quick tier, so that the growth of
// ns/path and B/path from 10k to 100k (O(n): flat) is read off one run.
func planShapes() []shape {
	s := []shape{shape10k, shape100k}
	if full {
		s = append(s, shape1M)
	}
	return s
}

// BenchmarkPlan measures planning: a dry-run Engine.RunOnce over in-memory local and
// remote trees (FullListing, so the remote listing is merged, not taken from the state)
// with the base in a real state database. equal: the three sides agree; changed-1pct: 1%
// of the files were edited, half locally, half on the Disk. Metrics per path (files and
// folders): ns/path, cpu-ns/path (process CPU time), B/path (allocated), allocs/path, and state-ns/path, the share of
// reading the base from bbolt (ForEach) within it.
func BenchmarkPlan(b *testing.B) {
	for _, variant := range []struct {
		name        string
		changeEvery int
	}{{"equal", 0}, {"changed-1pct", 100}} {
		for _, s := range planShapes() {
			b.Run(fmt.Sprintf("%s/paths=%s", variant.name, sizeName(int64(s.nFiles()))), func(b *testing.B) {
				benchPlan(b, s, variant.changeEvery)
			})
		}
	}
}

// planRounds is how many passes one iteration runs (the median is reported).
const planRounds = 3

func benchPlan(b *testing.B, s shape, changeEvery int) {
	w := newPlanWorld(s, changeEvery)
	db := openState(b, w.base, 0)
	eng, err := yasync.New(yasync.Options{Local: w.local, Remote: w.remote, State: db, RemoteRoot: memRoot,
		DryRun: true, FullListing: true})
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	paths := len(w.base)
	plan := func() error {
		rep, err := eng.RunOnce(ctx)
		if err != nil {
			return err
		}
		if p := rep.Plan; len(p.Jobs) != w.changed || len(p.Record)+len(p.Forget) != 0 {
			b.Fatalf("planned %d jobs, %d records, %d forgets; want %d jobs only",
				len(p.Jobs), len(p.Record), len(p.Forget), w.changed)
		}
		return nil
	}
	forEach := func() error {
		n := 0
		err := db.ForEach(func(state.Entry) error { n++; return nil })
		if err == nil && n != paths {
			b.Fatalf("ForEach visited %d entries, want %d", n, paths)
		}
		return err
	}
	if err := plan(); err != nil { // warm bbolt's pages
		b.Fatal(err)
	}
	var pm, fm meter
	for b.Loop() {
		for range planRounds {
			if err := pm.run(plan); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := fm.run(forEach); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	}
	b.ReportMetric(float64(pm.perOp().Nanoseconds())/float64(paths), "ns/path")
	b.ReportMetric(float64(pm.cpuPerOp().Nanoseconds())/float64(paths), "cpu-ns/path")
	b.ReportMetric(pm.allocPerOp()/float64(paths), "B/path")
	b.ReportMetric(pm.mallocsPerOp()/float64(paths), "allocs/path")
	b.ReportMetric(float64(fm.perOp().Nanoseconds())/float64(paths), "state-ns/path")
	b.ReportMetric(float64(w.changed), "jobs")
}
