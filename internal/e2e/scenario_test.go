package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestScenarios plays the scenario files in testdata/scenarios (after rclone bisync's
// test_changes): steps on each side, passes, and the trees the passes must produce, written
// from sync-semantics.md by hand. Every pass is also checked against the model.
//
// The format, one command a line ('#' starts a comment):
//
//	L put a.txt v1         write a file (the content is the rest of the line)
//	R put d/b.txt v2       the same on the Disk, as another device
//	L mkdir d              make a folder (with parents)
//	L rm a.txt             delete a file or a folder with everything in it
//	R mv a.txt b.txt       rename (parents of the target are created)
//	L touch a.txt          a new mtime, the same bytes
//	sync                   one pass, which must succeed and converge
//	sync guard             one pass, which must stop at a safety guard
//	sync force-delete      one pass with --force-delete
//	expect [L|R]           the tree (of both sides, or of one) that the last pass left:
//	  a.txt = v2           one path a line, indented, "path = content" or "path/" for a
//	  d/                   folder, up to a line "end"
//	end
//	trash L v1             content v1 is in the local trash (R: the Disk trash)
//	report moved=2 uploaded=0   totals of the last pass's report (uploaded, downloaded,
//	                       moved, deleted, conflicts, recorded)
//
// The engine's clock moves one minute per pass from 2026-03-04 05:06, so the conflict copy
// made by the first pass is "name (conflict 2026-03-04 050700 e2e-host).ext".
func TestScenarios(t *testing.T) {
	t.Parallel()
	playScenarios(t, filepath.Join("testdata", "scenarios"))
}

// TestPendingScenarios plays testdata/pending: scenarios that the engine fails today (each
// file says how). They are skipped unless YASYNCD_E2E_PENDING=1; once one passes, it moves
// to testdata/scenarios.
func TestPendingScenarios(t *testing.T) {
	if os.Getenv("YASYNCD_E2E_PENDING") == "" {
		t.Skip("known engine bugs; run with YASYNCD_E2E_PENDING=1")
	}
	dir := filepath.Join("testdata", "pending")
	if files, _ := filepath.Glob(filepath.Join(dir, "*.txt")); len(files) == 0 {
		t.Skip("no pending scenarios")
	}
	t.Parallel()
	playScenarios(t, dir)
}

func playScenarios(t *testing.T, dir string) {
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no scenario files in %s", dir)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			t.Parallel()
			runScenario(t, f)
		})
	}
	t.Logf("%d scenarios", len(files))
}

func runScenario(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWorld(t, WorldOptions{})
	m := NewModel()
	var last Sides
	var lastPass Pass
	var log []string
	lines := strings.Split(string(data), "\n")
	fail := func(n int, format string, args ...any) {
		t.Helper()
		t.Fatalf("%s:%d: %s\nsteps so far:\n  %s", file, n+1, fmt.Sprintf(format, args...), strings.Join(log, "\n  "))
	}
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if j := strings.Index(line, "#"); j >= 0 {
			line = line[:j]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		log = append(log, strings.TrimSpace(line))
		switch cmd := f[0]; cmd {
		case "L", "R":
			if len(f) < 3 {
				fail(i, "want %q SIDE OP PATH [ARG]", line)
			}
			if err := scenarioOp(w, cmd, f[1], f[2], restAfter(line, 3)); err != nil {
				fail(i, "%v", err)
			}
		case "sync":
			o := PassOptions{}
			wantGuard := false
			for _, a := range f[1:] {
				switch a {
				case "guard":
					wantGuard = true
				case "force-delete":
					o.ForceDelete = true
				default:
					fail(i, "unknown sync option %q", a)
				}
			}
			before := w.Snapshot()
			m.Before(before)
			res := w.Sync(t.Context(), o)
			after := w.Snapshot()
			log = append(log, "  → "+res.Summary)
			vs := m.Check(before, after)
			switch {
			case wantGuard:
				if !isGuard(res.Err) {
					fail(i, "pass returned %v, want a guard error", res.Err)
				}
				vs = append(vs, m.CheckGuard(before, after)...)
			case res.Err != nil || res.Failures > 0:
				fail(i, "pass failed: %s\n%s", res.Summary, w.PassLog(40))
			default:
				vs = append(vs, m.CheckConverged(after, nil)...)
			}
			if len(vs) > 0 {
				fail(i, "pass broke an invariant:\n%slocal changes:\n%sremote changes:\n%s", formatViolations(vs),
					orNone(diffTrees("before", before.L, "after", after.L)), orNone(diffTrees("before", before.R, "after", after.R)))
			}
			m.Advance(after)
			last, lastPass = after, res
		case "expect":
			want := Tree{}
			start := i
			for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "end"; i++ {
				e := strings.TrimSpace(lines[i])
				if e == "" || strings.HasPrefix(e, "#") {
					continue
				}
				if p, ok := strings.CutSuffix(e, "/"); ok {
					want[key(p)] = Node{Dir: true}
					continue
				}
				p, content, ok := strings.Cut(e, " = ")
				if !ok {
					fail(i, "want \"path = content\" or \"path/\", got %q", e)
				}
				if content == "<empty>" {
					content = ""
				}
				want[key(p)] = Node{Hash: hashOf([]byte(content)), Size: int64(len(content))}
				labels.set(hashOf([]byte(content)), content)
			}
			if i == len(lines) {
				fail(start, "expect without end")
			}
			sides := []string{"L", "R"}
			if len(f) > 1 {
				sides = f[1:]
			}
			for _, s := range sides {
				if d := diffTrees(s, last.side(s), "want", want); d != "" {
					fail(start, "%s tree differs from the expected one:\n%s", s, d)
				}
			}
		case "trash":
			if len(f) < 3 {
				fail(i, "want \"trash L|R content\"")
			}
			content := restAfter(line, 2)
			if !last.trash(f[1])[hashOf([]byte(content))] {
				fail(i, "%s trash lacks %q", f[1], content)
			}
		case "report":
			for _, kv := range f[1:] {
				k, v, ok := strings.Cut(kv, "=")
				n, err := strconv.Atoi(v)
				if _, known := lastPass.Counts[k]; !ok || err != nil || !known {
					fail(i, "want name=count with a name of %v, got %q", lastPass.Counts, kv)
				}
				if got := lastPass.Counts[k]; got != n {
					fail(i, "the last pass reported %s=%d, want %d (%s)", k, got, n, lastPass.Summary)
				}
			}
		default:
			fail(i, "unknown command %q", cmd)
		}
	}
}

// scenarioOp applies one side's operation.
func scenarioOp(w *World, side, op, p, arg string) error {
	local := side == "L"
	switch op {
	case "put":
		if arg == "<empty>" {
			arg = ""
		}
		labels.set(hashOf([]byte(arg)), arg)
		if local {
			return w.WriteLocal(p, []byte(arg))
		}
		return w.WriteRemote(p, []byte(arg))
	case "mkdir":
		if local {
			return w.MkdirLocal(p)
		}
		return w.MkdirRemote(p)
	case "rm":
		if local {
			return w.RemoveLocal(p)
		}
		return w.RemoveRemote(p)
	case "mv":
		if local {
			return w.RenameLocal(p, arg)
		}
		return w.RenameRemote(p, arg)
	case "touch":
		if !local {
			return fmt.Errorf("touch is a local operation")
		}
		fi, err := os.Stat(w.localPath(p))
		if err != nil {
			return err
		}
		return w.TouchLocal(p, fi.ModTime().Add(-3600e9))
	}
	return fmt.Errorf("unknown operation %q", op)
}

// restAfter returns the fields of line after the first n, joined by single spaces.
func restAfter(line string, n int) string {
	f := strings.Fields(line)
	if len(f) <= n {
		return ""
	}
	return strings.Join(f[n:], " ")
}
