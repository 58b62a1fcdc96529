package watcher

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fsnotify/fsnotify"
)

func TestAggregatorDropsPathsBelowAFolderInTheBatch(t *testing.T) {
	a := newAggregator(100)
	for _, p := range []string{"a/x", "a b", "a", "c/d/e", "c/d"} {
		a.add(p)
	}
	got := a.peek()
	want := Batch{Paths: []string{"a", "a b", "c/d"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("peek = %+v, want %+v", got, want)
	}
}

func TestAggregatorCollapsesToFoldersPastTheLimit(t *testing.T) {
	a := newAggregator(3)
	for i := range 10 {
		a.add(fmt.Sprintf("photos/2024/img%d.jpg", i))
	}
	a.add("docs/a.txt")
	got := a.peek()
	want := Batch{Paths: []string{"docs/a.txt", "photos/2024"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("peek = %+v, want %+v", got, want)
	}
}

func TestAggregatorAsksForRescanWhenTopLevelDoesNotFit(t *testing.T) {
	a := newAggregator(2)
	for i := range 5 {
		a.add(fmt.Sprintf("top%d", i))
	}
	if got := a.peek(); !got.Rescan || len(got.Paths) != 0 {
		t.Fatalf("peek = %+v, want a rescan", got)
	}
	a.reset()
	a.add("x")
	if got := a.peek(); got.Rescan || !slices.Equal(got.Paths, []string{"x"}) {
		t.Fatalf("after reset peek = %+v", got)
	}
}

// fakeLoop runs the event loop on fake channels inside a synctest bubble.
type fakeLoop struct {
	events chan fsnotify.Event
	errs   chan error
	out    chan Batch
	cancel context.CancelFunc
	done   chan error
}

func startFakeLoop(t *testing.T, opts Options) *fakeLoop {
	t.Helper()
	opts.Root = "/root"
	w, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &fakeLoop{
		events: make(chan fsnotify.Event),
		errs:   make(chan error),
		out:    make(chan Batch),
		cancel: cancel,
		done:   make(chan error, 1),
	}
	go func() {
		f.done <- w.loop(ctx, f.events, f.errs, func(string) error { return nil }, f.out)
	}()
	return f
}

func (f *fakeLoop) write(name string) {
	f.events <- fsnotify.Event{Name: filepath.Join("/root", name), Op: fsnotify.Write}
}

func (f *fakeLoop) stop(t *testing.T) {
	f.cancel()
	if err := <-f.done; err != nil {
		t.Fatalf("loop returned %v, want nil on cancel", err)
	}
}

func TestBatchIsSentAfterTheQuietPeriod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := startFakeLoop(t, Options{Settle: 2 * time.Second, MaxWait: time.Minute})
		start := time.Now()
		f.write("a.txt")
		time.Sleep(time.Second)
		f.write("b.txt") // restarts the quiet period
		b := <-f.out
		if got := time.Since(start); got != 3*time.Second {
			t.Fatalf("batch after %v, want 3s (1s + settle 2s)", got)
		}
		if !slices.Equal(b.Paths, []string{"a.txt", "b.txt"}) {
			t.Fatalf("batch = %+v", b)
		}
		f.stop(t)
	})
}

func TestContinuousWritesAreFlushedAtMaxWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := startFakeLoop(t, Options{Settle: 2 * time.Second, MaxWait: 10 * time.Second})
		start := time.Now()
		got := make(chan Batch, 1)
		go func() { got <- <-f.out }()
		for {
			f.write("log.txt")
			time.Sleep(time.Second)
			synctest.Wait()
			select {
			case b := <-got:
				if d := time.Since(start); d < 10*time.Second || d > 11*time.Second {
					t.Fatalf("batch after %v, want about MaxWait 10s", d)
				}
				if !slices.Equal(b.Paths, []string{"log.txt"}) {
					t.Fatalf("batch = %+v", b)
				}
				f.stop(t)
				return
			default:
			}
			if time.Since(start) > time.Minute {
				t.Fatal("no batch while writes went on")
			}
		}
	})
}

func TestOverflowAsksForRescanAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := startFakeLoop(t, Options{Settle: time.Hour})
		f.write("a.txt")
		start := time.Now()
		f.errs <- fsnotify.ErrEventOverflow
		b := <-f.out
		if !b.Rescan || time.Since(start) != 0 {
			t.Fatalf("batch = %+v after %v, want an immediate rescan", b, time.Since(start))
		}
		f.stop(t)
	})
}

func TestExcludedAndOwnFolderEventsAreDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := startFakeLoop(t, Options{
			Settle:  time.Second,
			Exclude: func(rel string, dir bool) bool { return filepath.Ext(rel) == ".swp" },
		})
		f.write(".yasyncd/tmp/dl-1")
		f.write("notes.txt.swp")
		f.write("notes.txt")
		b := <-f.out
		if !slices.Equal(b.Paths, []string{"notes.txt"}) {
			t.Fatalf("batch = %+v, want only notes.txt", b)
		}
		f.stop(t)
	})
}

// waitBatch returns the first batch that names want (or a rescan), failing after a deadline.
func waitBatch(t *testing.T, out <-chan Batch, want string) Batch {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case b := <-out:
			if b.Rescan || slices.Contains(b.Paths, want) {
				return b
			}
		case <-deadline:
			t.Fatalf("no batch naming %q", want)
		}
	}
}

func TestRealTreeReportsFilesAndNewFolders(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "docs", "old"), 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := New(Options{Root: root, Settle: 20 * time.Millisecond, MaxWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan Batch)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, out) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}()

	// The watch is set up asynchronously; write until the first event is seen.
	deadline := time.Now().Add(10 * time.Second)
	for first := false; !first; {
		if err := os.WriteFile(filepath.Join(root, "docs", "old", "a.txt"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		select {
		case b := <-out:
			first = slices.Contains(b.Paths, "docs/old/a.txt")
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no event for a file in a nested folder")
		}
	}

	// A folder created later is watched too, and its own path stands for its contents.
	if err := os.MkdirAll(filepath.Join(root, "new", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	waitBatch(t, out, "new")
	if err := os.WriteFile(filepath.Join(root, "new", "sub", "b.txt"), []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitBatch(t, out, "new/sub/b.txt")

	// yasyncd's own folder never shows up.
	if err := os.MkdirAll(filepath.Join(root, ".yasyncd", "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, ".yasyncd", "tmp", "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "c.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	b := waitBatch(t, out, "c.txt")
	for _, p := range b.Paths {
		if p == ".yasyncd" || filepath.Dir(p) == ".yasyncd" {
			t.Fatalf("batch names yasyncd's own folder: %+v", b)
		}
	}
}

func TestNewRefusesARelativeRoot(t *testing.T) {
	if _, err := New(Options{Root: "sync"}); err == nil {
		t.Fatal("New accepted a relative root")
	}
}
