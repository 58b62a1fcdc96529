package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// TestHarness checks the harness itself against the emulator, without the engine: the
// trees and trashes it reads, its request counter and its fault switch.
func TestHarness(t *testing.T) {
	t.Parallel()
	w := NewWorld(t, WorldOptions{Seed: 1})

	if err := w.WriteRemote("d/e/a.txt", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteRemote("d/b.txt", []byte("b")); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteRemote(norm.NFD.String("naïve.txt"), []byte("n")); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteRemote("gone/c.txt", []byte("c")); err != nil {
		t.Fatal(err)
	}
	if err := w.RemoveRemote("gone"); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteRemote("x.txt", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := w.RemoveRemote("x.txt"); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteLocal("l/m.txt", []byte("m")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(w.Local, dataDir, "trash", "2026-03-04", "old"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.Local, dataDir, "trash", "2026-03-04", "old", "t.txt"), []byte("t"), 0o644); err != nil {
		t.Fatal(err)
	}

	s := w.Snapshot()
	wantR := Tree{"d": dir, "d/e": dir, "d/e/a.txt": file("a"), "d/b.txt": file("b"), "naïve.txt": file("n")}
	if d := diffTrees("got", s.R, "want", wantR); d != "" {
		t.Errorf("remote tree:\n%s", d)
	}
	if d := diffTrees("got", s.L, "want", Tree{"l": dir, "l/m.txt": file("m")}); d != "" {
		t.Errorf("local tree (.yasyncd/ must be left out):\n%s", d)
	}
	for _, c := range []string{"c", "x"} {
		if !s.RTrash[h(c)] {
			t.Errorf("Disk trash lacks %q (files inside trashed folders count): %v", c, s.RTrash)
		}
	}
	if !s.LTrash[h("t")] || len(s.LTrash) != 1 {
		t.Errorf("local trash = %v, want only t", s.LTrash)
	}
	raw, err := w.Disk.Tree(remoteRoot, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := raw[norm.NFD.String("naïve.txt")]; !ok {
		t.Errorf("raw remote tree lost the NFD spelling: %v", raw.Paths())
	}

	// The counter follows the request log, and faults come only when switched on.
	w.Disk.ResetRequests()
	start := w.Disk.RequestCount()
	get := func() int {
		req, _ := http.NewRequest(http.MethodGet, w.Disk.URL()+"/v1/disk", nil)
		req.Header.Set("Authorization", "OAuth "+w.Disk.Token())
		resp, err := w.Disk.srv.Client().Do(req)
		if err != nil {
			return 0 // a reset connection
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for range 5 {
		if code := get(); code != http.StatusOK {
			t.Fatalf("GET /v1/disk without faults = %d", code)
		}
	}
	w.Disk.SetFaultRate(1)
	for range 5 {
		if code := get(); code == http.StatusOK {
			t.Errorf("GET /v1/disk at fault rate 1 succeeded")
		}
	}
	w.Disk.SetFaultRate(0)
	w.Disk.Quiesce(t.Context())
	if got, log := w.Disk.RequestCount()-start, len(w.Disk.Requests()); got != int64(log) || got != 10 {
		t.Errorf("RequestCount moved by %d, request log has %d, want 10", got, log)
	}
	if bad := changeRequests(w.Disk.Requests()); len(bad) != 0 {
		t.Errorf("GET /v1/disk counted as a change request: %v", bad)
	}
}
