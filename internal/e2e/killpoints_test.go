package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/yasyncd/yasyncd/internal/emulator"
)

// TestKillPoints kills the yasyncd binary at the riskiest instants of invariant 5, chosen by
// what the emulator just answered rather than by count: right after a folder move, between
// the conditional delete of an old remote version and the upload of the new one, right
// after an upload's bytes arrived (before the state could record it), and right after a
// download's bytes left. The next run must finish the job with nothing lost and, since no
// change conflicts, no conflict copy.
func TestKillPoints(t *testing.T) {
	t.Parallel()
	bin := yasyncdBinary(t)
	isMove := func(a Answered) bool { return a.Method == http.MethodPost && a.Path == "/v1/disk/resources/move" }
	isDelete := func(a Answered) bool { return a.Method == http.MethodDelete && a.Path == "/v1/disk/resources" }
	isPut := func(a Answered) bool { return strings.HasPrefix(a.Path, emulator.UploadPathPrefix) }
	isGet := func(a Answered) bool { return strings.HasPrefix(a.Path, emulator.StoragePathPrefix) }
	for _, tc := range []struct {
		name   string
		change func(w *World) error
		kill   func(Answered) bool
	}{{
		name: "after the move of a renamed local folder with edits inside",
		change: func(w *World) error {
			for i := range 5 {
				if err := w.WriteLocal(fmt.Sprintf("d/f%02d.txt", i), []byte(fmt.Sprintf("local edit %d", i))); err != nil {
					return err
				}
			}
			return w.RenameLocal("d", "d2")
		},
		kill: isMove,
	}, {
		name: "after the delete of the old version of an edited file",
		change: func(w *World) error {
			return w.WriteLocal("e/f00.txt", []byte("local edit"))
		},
		kill: isDelete,
	}, {
		name: "after an upload's bytes arrived",
		change: func(w *World) error {
			if err := w.WriteLocal("e/f01.txt", []byte("local edit")); err != nil {
				return err
			}
			return w.WriteLocal("new.txt", []byte("new local file"))
		},
		kill: isPut,
	}, {
		name: "after a download of a file in a renamed remote folder",
		change: func(w *World) error {
			if err := w.RenameRemote("e", "e2"); err != nil {
				return err
			}
			for i := range 3 {
				if err := w.WriteRemote(fmt.Sprintf("e2/f%02d.txt", i), []byte(fmt.Sprintf("remote edit %d", i))); err != nil {
					return err
				}
			}
			return nil
		},
		kill: isGet,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			w := NewWorld(t, WorldOptions{})
			for i := range 20 {
				for _, d := range []string{"d", "e"} {
					p := fmt.Sprintf("%s/f%02d.txt", d, i)
					if err := w.WriteLocal(p, []byte(fmt.Sprintf("%s %s", t.Name(), p))); err != nil {
						t.Fatal(err)
					}
				}
			}
			m := NewModel()
			before := w.Snapshot()
			m.Before(before)
			if res := w.Sync(ctx, PassOptions{}); res.Err != nil || res.Failures > 0 {
				t.Fatalf("first sync: %s", res.Summary)
			}
			m.Advance(w.Snapshot())
			if err := tc.change(w); err != nil {
				t.Fatal(err)
			}

			start := w.Snapshot()
			round := m.clone()
			round.Before(start)
			m.Before(start)
			killed := runBinary(ctx, t, w, bin, func(a Answered, _ int64) bool { return tc.kill(a) })
			mid := w.Snapshot()
			if !killed.Killed {
				t.Fatalf("the run was not killed: it sent no such request (exit %d)", killed.Code)
			}
			if vs := m.Check(start, mid); len(vs) > 0 {
				t.Fatalf("the killed run broke an invariant:\n%slocal changes:\n%sremote changes:\n%s", formatViolations(vs),
					orNone(diffTrees("before", start.L, "after", mid.L)), orNone(diffTrees("before", start.R, "after", mid.R)))
			}
			m.Advance(mid)
			m.Before(mid)
			final := runBinary(ctx, t, w, bin, nil)
			end := w.Snapshot()
			base, journal, err := w.Base()
			if err != nil {
				t.Fatal(err)
			}
			vs := append(m.Check(mid, end), round.Check(start, end)...)
			vs = append(vs, m.CheckConverged(end, base)...)
			if n := countConflicts(end.L) + countConflicts(end.R); n > 0 {
				vs = append(vs, Violation{5, fmt.Sprintf("%d conflict copies appeared, but no change conflicted", n)})
			}
			if len(journal) > 0 {
				vs = append(vs, Violation{5, "the journal still holds: " + strings.Join(journal, "; ")})
			}
			if final.Code != 0 {
				vs = append(vs, Violation{5, fmt.Sprintf("the run after the kill exited %d", final.Code)})
			}
			if len(vs) > 0 {
				out := final.Output
				if lines := strings.Split(out, "\n"); len(lines) > 60 {
					out = strings.Join(lines[len(lines)-60:], "\n")
				}
				t.Fatalf("after the run that followed the kill:\n%slocal changes over both runs:\n%sremote changes over both runs:\n%sL vs R:\n%soutput of the second run (end):\n%s",
					formatViolations(vs), orNone(diffTrees("before", start.L, "after", end.L)),
					orNone(diffTrees("before", start.R, "after", end.R)), orNone(diffTrees("L", end.L, "R", end.R)), out)
			}
			t.Logf("killed after %d requests; the next run finished in %d", killed.Requests, final.Requests)
		})
	}
}
