package e2e

import (
	"strings"
	"testing"
)

// The checker is the proof's weakest link: these cases show that it accepts what
// sync-semantics allows and catches each kind of violation.

func h(s string) string {
	hash := hashOf([]byte(s))
	labels.set(hash, s)
	return hash
}

func file(s string) Node { return Node{Hash: h(s), Size: int64(len(s))} }

var dir = Node{Dir: true}

func set(contents ...string) map[string]bool {
	out := map[string]bool{}
	for _, c := range contents {
		out[h(c)] = true
	}
	return out
}

func TestModelChecker(t *testing.T) {
	const cc = "a (conflict 2026-03-04 050700 e2e-host).txt"
	tests := []struct {
		name          string
		base          Tree
		before, after Sides
		want          []int // invariants that must be reported, in any order; nil: none
	}{{
		name:   "download of a remote edit, base version to the local trash",
		base:   Tree{"a.txt": file("v1")},
		before: Sides{L: Tree{"a.txt": file("v1")}, R: Tree{"a.txt": file("v2")}},
		after:  Sides{L: Tree{"a.txt": file("v2")}, R: Tree{"a.txt": file("v2")}, LTrash: set("v1")},
	}, {
		name:   "base version replaced without a trash is allowed",
		base:   Tree{"a.txt": file("v1")},
		before: Sides{L: Tree{"a.txt": file("v1")}, R: Tree{"a.txt": file("v2")}},
		after:  Sides{L: Tree{"a.txt": file("v2")}, R: Tree{"a.txt": file("v2")}},
	}, {
		name:   "remote delete into the local trash",
		base:   Tree{"a.txt": file("v1")},
		before: Sides{L: Tree{"a.txt": file("v1")}, R: Tree{}},
		after:  Sides{L: Tree{}, R: Tree{}, LTrash: set("v1")},
	}, {
		name:   "remote delete that destroys the local file",
		base:   Tree{"a.txt": file("v1")},
		before: Sides{L: Tree{"a.txt": file("v1")}, R: Tree{}},
		after:  Sides{L: Tree{}, R: Tree{}},
		want:   []int{1},
	}, {
		name:   "conflict: remote keeps the name, local becomes a conflict copy on both sides",
		base:   Tree{"a.txt": file("v1")},
		before: Sides{L: Tree{"a.txt": file("mine")}, R: Tree{"a.txt": file("theirs")}},
		after: Sides{L: Tree{"a.txt": file("theirs"), cc: file("mine")},
			R: Tree{"a.txt": file("theirs"), cc: file("mine")}},
	}, {
		name:   "an unsynced local edit overwritten by the remote version, kept only in the trash",
		base:   Tree{"a.txt": file("v1")},
		before: Sides{L: Tree{"a.txt": file("mine")}, R: Tree{"a.txt": file("theirs")}},
		after:  Sides{L: Tree{"a.txt": file("theirs")}, R: Tree{"a.txt": file("theirs")}, LTrash: set("mine")},
		want:   []int{2},
	}, {
		name:   "an unsynced remote edit overwritten by the base version",
		base:   Tree{"a.txt": file("v1")},
		before: Sides{L: Tree{"a.txt": file("v1")}, R: Tree{"a.txt": file("theirs")}},
		after:  Sides{L: Tree{"a.txt": file("v1")}, R: Tree{"a.txt": file("v1")}, RTrash: set("theirs")},
		want:   []int{2},
	}, {
		name:   "partial bytes at a real path",
		base:   Tree{},
		before: Sides{L: Tree{"a.txt": file("whole")}, R: Tree{}},
		after:  Sides{L: Tree{"a.txt": file("whole")}, R: Tree{"a.txt": file("who")}},
		want:   []int{4},
	}, {
		name:   "a delete nobody asked for",
		base:   Tree{"a.txt": file("v1"), "b.txt": file("v2")},
		before: Sides{L: Tree{"a.txt": file("v1"), "b.txt": file("v2")}, R: Tree{"a.txt": file("v1"), "b.txt": file("v2")}},
		after:  Sides{L: Tree{"a.txt": file("v1")}, R: Tree{"a.txt": file("v1"), "b.txt": file("v2")}, LTrash: set("v2")},
		want:   []int{4},
	}, {
		name:   "a folder from nowhere",
		base:   Tree{},
		before: Sides{L: Tree{}, R: Tree{}},
		after:  Sides{L: Tree{"x": dir}, R: Tree{}},
		want:   []int{4},
	}, {
		name:   "an old version brought back from the trash",
		base:   Tree{"a.txt": file("v2")},
		before: Sides{L: Tree{"a.txt": file("v2")}, R: Tree{"a.txt": file("v2")}, LTrash: set("v1")},
		after:  Sides{L: Tree{"a.txt": file("v1")}, R: Tree{"a.txt": file("v2")}, LTrash: set("v1", "v2")},
		want:   []int{4},
	}, {
		name:   "a remote folder rename followed locally",
		base:   Tree{"d": dir, "d/a.txt": file("v1")},
		before: Sides{L: Tree{"d": dir, "d/a.txt": file("v1")}, R: Tree{"e": dir, "e/a.txt": file("v1")}},
		after:  Sides{L: Tree{"e": dir, "e/a.txt": file("v1")}, R: Tree{"e": dir, "e/a.txt": file("v1")}},
	}, {
		name:   "a remote rename against a local edit: the edit follows the move",
		base:   Tree{"a.txt": file("v1")},
		before: Sides{L: Tree{"a.txt": file("mine")}, R: Tree{"b.txt": file("v1")}},
		after:  Sides{L: Tree{"b.txt": file("mine")}, R: Tree{"b.txt": file("mine")}, RTrash: set("v1")},
	}, {
		name: "a local folder rename against a remote addition in it: the addition follows",
		base: Tree{"n": dir},
		before: Sides{L: Tree{"d": dir},
			R: Tree{"n": dir, "n/e": dir, "n/e/m": file("m")}},
		after: Sides{L: Tree{"d": dir, "d/e": dir, "d/e/m": file("m")},
			R: Tree{"d": dir, "d/e": dir, "d/e/m": file("m")}},
	}, {
		name: "a remote folder rename followed locally, before the remote delete inside it",
		base: Tree{"d": dir, "d/a": file("1"), "d/b": file("2")},
		before: Sides{L: Tree{"d": dir, "d/a": file("1"), "d/b": file("2")},
			R: Tree{"e": dir, "e/a": file("1")}},
		after: Sides{L: Tree{"e": dir, "e/a": file("1"), "e/b": file("2")},
			R: Tree{"e": dir, "e/a": file("1")}},
	}, {
		name:   "a replace cut short: the synced version is in the trash, the edit not yet uploaded",
		base:   Tree{"a": file("v1")},
		before: Sides{L: Tree{"a": file("mine")}, R: Tree{"a": file("v1")}},
		after:  Sides{L: Tree{"a": file("mine")}, R: Tree{}, RTrash: set("v1")},
	}, {
		name:   "a synced version deleted while the other side had an edit",
		base:   Tree{"a": file("v1")},
		before: Sides{L: Tree{"a": file("mine")}, R: Tree{"a": file("v1")}},
		after:  Sides{L: Tree{"a": file("mine")}, R: Tree{}},
		want:   []int{1, 4},
	}, {
		name:   "a folder from nowhere inside a renamed folder",
		base:   Tree{"n": dir},
		before: Sides{L: Tree{"d": dir}, R: Tree{"n": dir}},
		after:  Sides{L: Tree{"d": dir, "d/x": dir}, R: Tree{"d": dir, "d/x": dir}},
		want:   []int{4},
	}, {
		name:   "a file against a folder: the folder keeps the name",
		base:   Tree{},
		before: Sides{L: Tree{"a.txt": file("mine")}, R: Tree{"a.txt": dir, "a.txt/b": file("x")}},
		after: Sides{L: Tree{cc: file("mine"), "a.txt": dir, "a.txt/b": file("x")},
			R: Tree{cc: file("mine"), "a.txt": dir, "a.txt/b": file("x")}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewModel()
			m.B = tc.base
			m.Before(tc.before)
			got := m.Check(tc.before, tc.after)
			gotInv := map[int]bool{}
			for _, v := range got {
				gotInv[v.Invariant] = true
			}
			for _, inv := range tc.want {
				if !gotInv[inv] {
					t.Errorf("invariant %d not reported; got:\n%s", inv, formatViolations(got))
				}
			}
			if len(tc.want) == 0 && len(got) > 0 {
				t.Errorf("allowed pass reported:\n%s", formatViolations(got))
			}
			for inv := range gotInv {
				found := false
				for _, w := range tc.want {
					found = found || w == inv
				}
				if !found {
					t.Errorf("unexpected invariant %d reported:\n%s", inv, formatViolations(got))
				}
			}
		})
	}
}

func TestModelGuardAndConvergence(t *testing.T) {
	m := NewModel()
	before := Sides{L: Tree{"a": file("1"), "b": file("2")}, R: Tree{"a": file("1")}}
	after := Sides{L: Tree{"a": file("1")}, R: Tree{"a": file("1")}, LTrash: set("2")}
	if vs := m.CheckGuard(before, after); len(vs) != 1 || vs[0].Invariant != 6 || !strings.Contains(vs[0].Text, `"b"`) {
		t.Errorf("CheckGuard = %v, want one violation of 6 naming b", vs)
	}
	if vs := m.CheckGuard(before, before); len(vs) != 0 {
		t.Errorf("CheckGuard of an unchanged pair = %v", vs)
	}
	if vs := m.CheckConverged(before, nil); len(vs) != 1 || vs[0].Invariant != 3 {
		t.Errorf("CheckConverged of differing sides = %v", vs)
	}
	if vs := m.CheckConverged(after, Tree{"a": file("1"), "x": file("9")}); len(vs) != 1 {
		t.Errorf("CheckConverged with a differing base = %v", vs)
	}
	m.Advance(Sides{L: Tree{"a": file("1"), "b": file("2")}, R: Tree{"a": file("1"), "b": file("3")}})
	if _, ok := m.B["b"]; ok || m.B["a"] != file("1") {
		t.Errorf("Advance recorded %v, want only a", m.B)
	}
}

func TestConflictNames(t *testing.T) {
	for _, tc := range []struct{ name, orig string }{
		{"a (conflict 2026-03-04 050700 host).txt", "a.txt"},
		{"d/a b.tar (conflict 2026-03-04 050700 my-host 2).gz", "d/a b.tar.gz"},
		{".bashrc (conflict 2026-03-04 050700 host)", ".bashrc"},
		{"Makefile (conflict 2026-12-31 235959 h 13)", "Makefile"},
		{"Привет (conflict 2026-03-04 050700 host).txt", "Привет.txt"},
	} {
		got, ok := conflictOriginal(tc.name)
		if !ok || got != tc.orig {
			t.Errorf("conflictOriginal(%q) = %q, %v; want %q", tc.name, got, ok, tc.orig)
		}
	}
	for _, name := range []string{"a.txt", "a (conflict).txt", "a (conflict 2026-03-04 host).txt", "x (1).txt"} {
		if isConflictCopy(name) {
			t.Errorf("isConflictCopy(%q) = true", name)
		}
	}
}
