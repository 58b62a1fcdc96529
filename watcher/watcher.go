// Package watcher reports local changes under the synced folder as debounced batches of
// paths, so the daemon can run a pass soon after the user stops writing instead of once per
// written block.
//
// It watches every folder of the tree with fsnotify (inotify on Linux does not recurse),
// adds watches for folders created later, and collapses bursts: a batch is sent after the
// tree has been quiet for Settle, or after MaxWait at the latest while writes go on. A batch
// names paths relative to the root; past MaxPaths it names only their folders, and when the
// kernel's queue overflowed (events were lost) it asks for a full rescan.
//
// # Caveats
//
// Events may over-report (a path that did not really change) and, on overflow or a folder
// moved in from outside, may name a whole subtree: the engine compares content with the
// last-synced state, so over-reporting costs a stat, never a wrong transfer. The periodic
// full scan backs the watcher up for anything the kernel did not report.
package watcher

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// Options configures a Watcher.
type Options struct {
	// Root is the absolute path of the synced folder.
	Root string
	// Settle is the quiet time after the last event before a batch is sent (default 2s).
	Settle time.Duration
	// MaxWait bounds how long a batch is held while events keep coming (default 30s).
	MaxWait time.Duration
	// MaxPaths is how many paths a batch names before it collapses them to their folders
	// (default 1000).
	MaxPaths int
	// Exclude reports paths whose events are dropped. .yasyncd/ is always dropped.
	Exclude func(rel string, dir bool) bool
	// Logger receives watch errors; nil means no logging.
	Logger *zap.Logger
}

// Batch is a set of paths that may have changed.
type Batch struct {
	// Paths are relative to the root, slash-separated, sorted. A folder path stands for
	// everything below it.
	Paths []string
	// Rescan asks for a scan of the whole tree: events were lost.
	Rescan bool
}

// Watcher watches a folder tree. Create it with New and start it with Run.
type Watcher struct {
	opts Options
	log  *zap.Logger
}

// New checks the options; it starts nothing.
func New(opts Options) (*Watcher, error) {
	if !filepath.IsAbs(opts.Root) {
		return nil, fmt.Errorf("watcher: root %q is not an absolute path", opts.Root)
	}
	if opts.Settle <= 0 {
		opts.Settle = 2 * time.Second
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = 30 * time.Second
	}
	if opts.MaxWait < opts.Settle {
		opts.MaxWait = opts.Settle
	}
	if opts.MaxPaths <= 0 {
		opts.MaxPaths = 1000
	}
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	return &Watcher{opts: opts, log: log}, nil
}

// Run watches until ctx is cancelled and sends batches to out; it returns nil on
// cancellation and an error when the watch cannot be set up. Sending blocks, so a slow
// consumer holds the next batch back while events keep accumulating in it: nothing is lost.
func (w *Watcher) Run(ctx context.Context, out chan<- Batch) error {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch %s: %w", w.opts.Root, err)
	}
	defer fw.Close()
	if err := w.addTree(fw, w.opts.Root); err != nil {
		return err
	}
	return w.loop(ctx, fw.Events, fw.Errors, func(dir string) error { return w.addTree(fw, dir) }, out)
}

// loop is Run without fsnotify, so tests can drive it with fake events and a fake clock.
func (w *Watcher) loop(ctx context.Context, events <-chan fsnotify.Event, errs <-chan error, watch func(dir string) error, out chan<- Batch) error {
	agg := newAggregator(w.opts.MaxPaths)
	var quiet, deadline <-chan time.Time
	var quietTimer, deadlineTimer *time.Timer
	stopTimers := func() {
		if quietTimer != nil {
			quietTimer.Stop()
		}
		if deadlineTimer != nil {
			deadlineTimer.Stop()
		}
		quiet, deadline = nil, nil
	}
	defer stopTimers()

	for {
		var send chan<- Batch
		var ready Batch
		if agg.due {
			send, ready = out, agg.peek()
		}
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			if !w.handle(watch, ev, agg) {
				continue
			}
			// Every event restarts the quiet period; the first of a batch also starts
			// the deadline so a file written forever still gets synced.
			if quietTimer != nil {
				quietTimer.Stop()
			}
			quietTimer = time.NewTimer(w.opts.Settle)
			quiet = quietTimer.C
			if deadline == nil {
				deadlineTimer = time.NewTimer(w.opts.MaxWait)
				deadline = deadlineTimer.C
			}
		case err, ok := <-errs:
			if !ok {
				return nil
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				w.log.Warn("watch queue overflowed; a full rescan follows")
				agg.rescan = true
				agg.due = true
				stopTimers()
				continue
			}
			w.log.Warn("watch error", zap.Error(err))
		case <-quiet:
			agg.due = true
			stopTimers()
		case <-deadline:
			agg.due = true
			stopTimers()
		case send <- ready:
			agg.reset()
		}
	}
}

// handle records one event; it reports whether the event counts.
func (w *Watcher) handle(watch func(dir string) error, ev fsnotify.Event, agg *aggregator) bool {
	rel, ok := w.rel(ev.Name)
	if !ok || rel == "" {
		return false
	}
	isDir := false
	if ev.Has(fsnotify.Create) {
		if fi, err := os.Lstat(ev.Name); err == nil && fi.IsDir() {
			isDir = true
		}
	}
	if w.excluded(rel, isDir) {
		return false
	}
	if isDir {
		// Files may have been created in the new folder before its watch existed, so the
		// folder path stands for its whole subtree in the batch.
		if err := watch(ev.Name); err != nil {
			w.log.Warn("cannot watch new folder", zap.String("path", rel), zap.Error(err))
		}
	}
	agg.add(rel)
	return true
}

func (w *Watcher) rel(name string) (string, bool) {
	rel, err := filepath.Rel(w.opts.Root, name)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	if rel == "." {
		return "", true
	}
	return filepath.ToSlash(rel), true
}

func (w *Watcher) excluded(rel string, dir bool) bool {
	if rel == ".yasyncd" || strings.HasPrefix(rel, ".yasyncd/") {
		return true
	}
	return w.opts.Exclude != nil && w.opts.Exclude(rel, dir)
}

// addTree watches dir and every folder below it that is not excluded. Symlinked folders
// are not followed: the engine does not sync them either.
func (w *Watcher) addTree(fw *fsnotify.Watcher, dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return fmt.Errorf("watch %s: %w", p, err)
			}
			// A folder removed or made unreadable while walking: the scan reports it.
			return nil
		}
		if !d.IsDir() {
			return nil
		}
		if rel, ok := w.rel(p); ok && rel != "" && w.excluded(rel, true) {
			return filepath.SkipDir
		}
		if err := fw.Add(p); err != nil {
			if p == dir {
				return fmt.Errorf("watch %s: %w", p, err)
			}
			w.log.Warn("cannot watch folder", zap.String("path", p), zap.Error(err))
		}
		return nil
	})
}
