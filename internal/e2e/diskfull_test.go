package e2e

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	yasync "github.com/yasyncd/yasyncd/sync"
)

// TestDiskFull: a full Disk (507) stops the uploads with ErrDiskFull (exit 3) and changes
// nothing else wrongly; once space is freed, the next pass finishes the job.
func TestDiskFull(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	w := NewWorld(t, WorldOptions{})
	for i := range 8 {
		data := fmt.Appendf(nil, "%s file %d %s", t.Name(), i, strings.Repeat("x", 1000))
		labels.set(hashOf(data), fmt.Sprintf("f%d", i))
		if err := w.WriteLocal(fmt.Sprintf("f%d.txt", i), data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteRemote("r.txt", []byte("remote")); err != nil {
		t.Fatal(err)
	}
	w.Disk.srv.SetQuota(3000) // room for about two of the files

	m := NewModel()
	before := w.Snapshot()
	m.Before(before)
	res := w.Sync(ctx, PassOptions{})
	after := w.Snapshot()
	if !errors.Is(res.Err, yasync.ErrDiskFull) {
		t.Errorf("pass on a full Disk returned %v, want ErrDiskFull (%s)", res.Err, res.Summary)
	}
	if vs := m.Check(before, after); len(vs) > 0 {
		t.Fatalf("pass on a full Disk:\n%s", formatViolations(vs))
	}
	m.Advance(after)
	if _, ok := after.L["r.txt"]; !ok {
		t.Errorf("the download was not done although only uploads need space")
	}
	uploaded := len(after.R.Files()) - 1
	t.Logf("full Disk: %d of 8 files uploaded; %s", uploaded, res.Summary)

	w.Disk.srv.SetQuota(10 << 30)
	before = w.Snapshot()
	m.Before(before)
	res = w.Sync(ctx, PassOptions{})
	after = w.Snapshot()
	if res.Err != nil || res.Failures > 0 {
		t.Fatalf("pass after space was freed: %s\n%s", res.Summary, w.PassLog(40))
	}
	if vs := append(m.Check(before, after), m.CheckConverged(after, nil)...); len(vs) > 0 {
		t.Fatalf("pass after space was freed:\n%s", formatViolations(vs))
	}
}
