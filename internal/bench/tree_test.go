package bench

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	gosync "sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/yasyncd/yasyncd/internal/localfs"
	"github.com/yasyncd/yasyncd/internal/pathname"
	"github.com/yasyncd/yasyncd/state"
	yasync "github.com/yasyncd/yasyncd/sync"
)

// shape is a synthetic tree: top folders, each with sub folders, each with files. The
// default 10 × 100 × 100 is 100,000 files in 1,010 folders.
type shape struct{ top, sub, files int }

func (s shape) nFiles() int { return s.top * s.sub * s.files }
func (s shape) nDirs() int  { return s.top + s.top*s.sub }

func (s shape) dir(t, d int) string { return fmt.Sprintf("t%02d/d%03d", t, d) }

func (s shape) file(t, d, f int) string { return fmt.Sprintf("t%02d/d%03d/f%04d.txt", t, d, f) }

// content is the bytes of file number i: small, distinct, cheap to make again.
func content(i int) []byte { return fmt.Appendf(nil, "yasyncd benchmark file %d\n", i) }

// each calls fn for every folder then its files, in creation order (not sorted).
func (s shape) each(fn func(rel string, dir bool, i int)) {
	i := 0
	for t := range s.top {
		fn(fmt.Sprintf("t%02d", t), true, -1)
		for d := range s.sub {
			fn(s.dir(t, d), true, -1)
			for f := range s.files {
				fn(s.file(t, d, f), false, i)
				i++
			}
		}
	}
}

var (
	shape100k = shape{top: 10, sub: 100, files: 100}
	shape10k  = shape{top: 10, sub: 10, files: 100}
	shape1M   = shape{top: 10, sub: 100, files: 1000}
)

// localTree is a synced folder on disk built once per process: the root carries the
// .yasyncd marker, and base holds the state entries a completed first sync would have
// written for it (sorted by key, as the state stores them).
type localTree struct {
	root  string
	shape shape
	base  []state.Entry
}

var (
	treesMu gosync.Mutex
	trees   = map[shape]*localTree{}
)

// sharedTree returns the on-disk tree of shape s, making it on first use.
func sharedTree(s shape) (*localTree, error) {
	treesMu.Lock()
	defer treesMu.Unlock()
	if t := trees[s]; t != nil {
		return t, nil
	}
	// Up to 100,000 small files fit a tmpfs easily (~400 MB) and are made there in a few
	// seconds; once warm, a scan reads the kernel's caches either way. A million go to disk.
	mk := memTempDir
	if s.nFiles() > shape100k.nFiles() {
		mk = func() (string, error) { return os.MkdirTemp("", "yasyncd-bench-tree-") }
	}
	dir, err := mk()
	if err != nil {
		return nil, err
	}
	atExit(func() { _ = os.RemoveAll(dir) })
	t := &localTree{root: filepath.Join(dir, "Sync"), shape: s}
	if err := t.build(); err != nil {
		return nil, fmt.Errorf("build tree: %w", err)
	}
	trees[s] = t
	return t, nil
}

func (t *localTree) build() error {
	fs, err := localfs.New(t.root, localfs.Options{})
	if err != nil {
		return err
	}
	if err := fs.Init(); err != nil {
		return err
	}
	sums := map[string]string{}
	var g errgroup.Group
	g.SetLimit(8)
	var mkErr error
	t.shape.each(func(rel string, dir bool, i int) {
		if mkErr != nil {
			return
		}
		abs := filepath.Join(t.root, filepath.FromSlash(rel))
		if dir {
			// Folders on this goroutine, once the files queued so far are written.
			if mkErr = g.Wait(); mkErr == nil {
				mkErr = os.Mkdir(abs, 0o755)
			}
			return
		}
		b := content(i)
		s := md5.Sum(b)
		sums[rel] = hex.EncodeToString(s[:])
		g.Go(func() error { return os.WriteFile(abs, b, 0o644) })
	})
	if err := g.Wait(); err != nil {
		return err
	}
	if mkErr != nil {
		return mkErr
	}
	// The base is what the engine records after a first sync: both sides' bookkeeping.
	now := time.Now().UTC().Truncate(time.Second)
	rev := int64(1)
	return fs.Walk(context.Background(), func(le yasync.LocalEntry) error {
		rev++
		e := state.Entry{Key: pathname.Key(le.Path), LocalPath: le.Path, RemotePath: le.Path, Dir: le.Dir,
			Inode: le.Inode, ResourceID: fmt.Sprintf("bench:%d", rev), RemoteModified: now, RemoteRevision: rev}
		if !le.Dir {
			e.Size, e.MD5, e.LocalMtime = le.Size, sums[le.Path], le.Mtime
		}
		t.base = append(t.base, e)
		return nil
	}, func(p, reason string) {})
}
