package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSkips checks the permanent refusals of sync-semantics ("reported and skipped, not
// retried forever"): a local symlink, and a remote name longer than the 255 bytes a local
// file name can hold. The pass succeeds, everything else is synced, the skipped items are
// left alone on their side, and the next pass is quiet.
func TestSkips(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	w := NewWorld(t, WorldOptions{})
	if err := w.WriteLocal("a.txt", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a.txt", filepath.Join(w.Local, "link")); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("я", 130) + ".txt" // 134 characters, 264 bytes
	if err := w.WriteRemote(long, []byte("long")); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteRemote("b.txt", []byte("b")); err != nil {
		t.Fatal(err)
	}

	m := NewModel()
	before := w.Snapshot()
	m.Before(before)
	res := w.Sync(ctx, PassOptions{})
	after := w.Snapshot()
	if res.Err != nil || res.Failures > 0 {
		t.Fatalf("pass: %s\n%s", res.Summary, w.PassLog(40))
	}
	if vs := m.Check(before, after); len(vs) > 0 {
		t.Fatalf("pass:\n%s", formatViolations(vs))
	}
	for _, want := range []string{"skipped \"link\"", "skipped \"" + long + "\""} {
		if !strings.Contains(res.Summary, want) {
			t.Errorf("report does not say %s: %s", want, res.Summary)
		}
	}
	wantL := Tree{"a.txt": file("a"), "b.txt": file("b")}
	wantR := Tree{"a.txt": file("a"), "b.txt": file("b"), long: file("long")}
	if d := diffTrees("L", after.L, "want", wantL); d != "" {
		t.Errorf("local side:\n%s", d)
	}
	if d := diffTrees("R", after.R, "want", wantR); d != "" {
		t.Errorf("remote side (the symlink must not be uploaded, the long name stays):\n%s", d)
	}
	if fi, err := os.Lstat(filepath.Join(w.Local, "link")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was touched: %v, %v", fi, err)
	}

	w.Disk.ResetRequests()
	res = w.Sync(ctx, PassOptions{})
	if res.Err != nil || res.Failures > 0 || res.Jobs != 0 {
		t.Errorf("second pass: %s", res.Summary)
	}
	if bad := changeRequests(w.Disk.Requests()); len(bad) > 0 {
		t.Errorf("second pass sent change requests: %v", bad)
	}
	t.Logf("skipped: %s", res.Summary)
}
