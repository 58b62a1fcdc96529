package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// syncedWorld returns a world whose two sides hold n files (in a few folders) and agree.
func syncedWorld(t *testing.T, ctx context.Context, n int) (*World, *Model) {
	t.Helper()
	w := NewWorld(t, WorldOptions{})
	for i := range n {
		p := fmt.Sprintf("dir%d/file%03d.txt", i%3, i)
		data := fmt.Appendf(nil, "%s guard file %d\n", t.Name(), i)
		labels.set(hashOf(data), fmt.Sprintf("f%d", i))
		var err error
		if i%2 == 0 {
			err = w.WriteLocal(p, data)
		} else {
			err = w.WriteRemote(p, data)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	m := NewModel()
	before := w.Snapshot()
	m.Before(before)
	res := w.Sync(ctx, PassOptions{})
	after := w.Snapshot()
	if res.Err != nil {
		t.Fatalf("first pass: %v\n%s", res.Err, w.PassLog(50))
	}
	if vs := append(m.Check(before, after), m.CheckConverged(after, nil)...); len(vs) > 0 {
		t.Fatalf("first pass:\n%s", formatViolations(vs))
	}
	m.Advance(after)
	if got := len(after.L.Files()); got != n {
		t.Fatalf("after the first pass the local side has %d files, want %d", got, n)
	}
	return w, m
}

// guardPass runs a pass that must stop at a guard and checks invariant 6: nothing was
// deleted on either side, and neither trash grew.
func guardPass(t *testing.T, ctx context.Context, w *World, m *Model) {
	t.Helper()
	before := w.Snapshot()
	m.Before(before)
	res := w.Sync(ctx, PassOptions{})
	after := w.Snapshot()
	if !isGuard(res.Err) {
		t.Errorf("pass returned %v (%s), want a guard error\n%s", res.Err, res.Summary, w.PassLog(40))
	}
	vs := append(m.CheckGuard(before, after), m.Check(before, after)...)
	if len(after.LTrash) != len(before.LTrash) || len(after.RTrash) != len(before.RTrash) {
		vs = append(vs, Violation{6, fmt.Sprintf("a trash grew while a guard held: local %d→%d, Disk %d→%d",
			len(before.LTrash), len(after.LTrash), len(before.RTrash), len(after.RTrash))})
	}
	if len(vs) > 0 {
		t.Errorf("guard pass:\n%slocal changes:\n%sremote changes:\n%s", formatViolations(vs),
			diffTrees("before", before.L, "after", after.L), diffTrees("before", before.R, "after", after.R))
	}
	t.Logf("guard stopped the pass: %v", res.Err)
}

// TestGuards checks invariant 6: a missing root, an emptied side, or a mass delete over the
// limit deletes nothing on either side.
func TestGuards(t *testing.T) {
	t.Parallel()

	t.Run("local root missing", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		w, m := syncedWorld(t, ctx, 12)
		// An unmounted disk: the folder is simply not there.
		if err := os.Rename(w.Local, w.Local+".unmounted"); err != nil {
			t.Fatal(err)
		}
		guardPass(t, ctx, w, m)
	})

	t.Run("local marker missing", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		w, m := syncedWorld(t, ctx, 12)
		// An empty folder at the root's place (a mount point without its disk) has no
		// .yasyncd/ marker; the files must not look deleted.
		if err := os.Rename(w.Local, w.Local+".away"); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(w.Local, 0o755); err != nil {
			t.Fatal(err)
		}
		guardPass(t, ctx, w, m)
	})

	t.Run("remote root missing", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		w, m := syncedWorld(t, ctx, 12)
		if err := w.Disk.Move(remoteRoot, remoteRoot+" (moved)"); err != nil {
			t.Fatal(err)
		}
		guardPass(t, ctx, w, m)
	})

	t.Run("remote side emptied", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		w, m := syncedWorld(t, ctx, 12)
		for _, d := range []string{"dir0", "dir1", "dir2"} {
			if err := w.RemoveRemote(d); err != nil {
				t.Fatal(err)
			}
		}
		guardPass(t, ctx, w, m)
		confirmDeletes(t, ctx, w, m)
	})

	t.Run("local side emptied", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		w, m := syncedWorld(t, ctx, 12)
		for _, d := range []string{"dir0", "dir1", "dir2"} {
			if err := os.RemoveAll(filepath.Join(w.Local, d)); err != nil {
				t.Fatal(err)
			}
		}
		guardPass(t, ctx, w, m)
		confirmDeletes(t, ctx, w, m)
	})

	t.Run("mass delete over the limit", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		w, m := syncedWorld(t, ctx, 30)
		// 20 of 30 tracked files: over the default 50% and over the 10-file floor.
		for i := range 20 {
			if err := w.RemoveLocal(fmt.Sprintf("dir%d/file%03d.txt", i%3, i)); err != nil {
				t.Fatal(err)
			}
		}
		guardPass(t, ctx, w, m)
		after := confirmDeletes(t, ctx, w, m)
		if got := len(after.R.Files()); got != 10 {
			t.Errorf("after --force-delete the Disk has %d files, want 10", got)
		}
	})

	t.Run("deletes under the limit pass", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		w, m := syncedWorld(t, ctx, 30)
		for i := range 5 {
			if err := w.RemoveRemote(fmt.Sprintf("dir%d/file%03d.txt", i%3, i)); err != nil {
				t.Fatal(err)
			}
		}
		before := w.Snapshot()
		m.Before(before)
		res := w.Sync(ctx, PassOptions{})
		after := w.Snapshot()
		if res.Err != nil {
			t.Fatalf("pass deleting 5 of 30 files: %v\n%s", res.Err, w.PassLog(40))
		}
		if vs := append(m.Check(before, after), m.CheckConverged(after, nil)...); len(vs) > 0 {
			t.Fatalf("%s", formatViolations(vs))
		}
		if got := len(after.L.Files()); got != 25 {
			t.Errorf("local side has %d files, want 25", got)
		}
	})
}

// confirmDeletes runs the pass the user confirmed with --force-delete: the deletes go
// through, into the trash, and the sides converge.
func confirmDeletes(t *testing.T, ctx context.Context, w *World, m *Model) Sides {
	t.Helper()
	before := w.Snapshot()
	m.Advance(before)
	m.Before(before)
	res := w.Sync(ctx, PassOptions{ForceDelete: true})
	after := w.Snapshot()
	if res.Err != nil {
		t.Fatalf("pass with --force-delete: %v\n%s", res.Err, w.PassLog(40))
	}
	if vs := append(m.Check(before, after), m.CheckConverged(after, nil)...); len(vs) > 0 {
		t.Fatalf("pass with --force-delete:\n%s%s", formatViolations(vs), diffTrees("L", after.L, "R", after.R))
	}
	return after
}
