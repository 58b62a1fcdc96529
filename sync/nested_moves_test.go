package sync

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A rename inside a renamed folder is one more move on the other side, on either side,
// whatever the file's new place: in a sibling subfolder, above the folder, outside it.
func TestRenameInsideRenamedFolder(t *testing.T) {
	synced := tree{"s/a/f.txt": "f", "s/b/": "", "s/g": "g", "o/keep": "k"}
	type mv struct{ from, to string }
	cases := []struct {
		name  string
		moves []mv // in this order, on one side
		want  tree
		moved int
	}{
		{"into a sibling subfolder", []mv{{"s/a/f.txt", "s/b/f.txt"}, {"s", "x"}},
			tree{"x/a/": "", "x/b/f.txt": "f", "x/g": "g", "o/keep": "k"}, 2},
		{"into the renamed folder's parent", []mv{{"s", "x"}, {"x/a/f.txt", "f.txt"}},
			tree{"x/a/": "", "x/b/": "", "x/g": "g", "f.txt": "f", "o/keep": "k"}, 2},
		{"out of it, into another folder", []mv{{"s", "x"}, {"x/a/f.txt", "o/f.txt"}},
			tree{"x/a/": "", "x/b/": "", "x/g": "g", "o/f.txt": "f", "o/keep": "k"}, 2},
		{"out of it, into a new folder", []mv{{"s", "x"}, {"x/a/f.txt", "n/m/f.txt"}},
			tree{"x/a/": "", "x/b/": "", "x/g": "g", "n/m/f.txt": "f", "o/keep": "k"}, 2},
		{"a renamed subfolder of a renamed folder", []mv{{"s", "x"}, {"x/a", "x/c"}, {"x/g", "x/c/g2"}},
			tree{"x/c/f.txt": "f", "x/c/g2": "g", "x/b/": "", "o/keep": "k"}, 3},
		{"the folder renamed twice over", []mv{{"s", "x"}, {"x/a", "y"}, {"y/f.txt", "x/b/f.txt"}},
			tree{"y/": "", "x/b/f.txt": "f", "x/g": "g", "o/keep": "k"}, 3},
		// Taken outermost first, the folder's move would wait for its subfolder's, which
		// waits for it: the subfolder is not taken for one move (its files still are).
		{"a folder moved into its subfolder, moved out first", []mv{{"s/a", "a2"}, {"s", "a2/s2"}},
			tree{"a2/f.txt": "f", "a2/s2/b/": "", "a2/s2/g": "g", "o/keep": "k"}, -1},
	}
	for _, c := range cases {
		for _, side := range []byte{'L', 'R'} {
			t.Run(string(side)+" "+c.name, func(t *testing.T) {
				t.Parallel()
				w := newWorld(t)
				w.writeLocal(synced)
				w.sync()
				for _, m := range c.moves {
					w.apply(step{side, "mv", m.from, m.to})
				}
				w.srv.ResetRequests()
				rep := w.sync()
				w.expectBoth(c.want)
				if c.moved >= 0 {
					counts(0, 0, c.moved, 0, 0)(t, w, rep)
				}
				if n := w.countRequests("PUT", "/upload"); n != 0 {
					t.Errorf("%d uploads for renames", n)
				}
				w.expectConverged()
			})
		}
	}
}

// failingRemote and failingLocal fail the n-th move the engine makes on one side (1-based); done says
// whether that move happened before the error (a crash after the Disk or the file
// system did it, before the state recorded it) or not at all.
type failingRemote struct {
	Remote
	n, calls int
	done     bool
}

func (r *failingRemote) Move(ctx contextT, from, to string, overwrite bool) error {
	r.calls++
	if r.calls == r.n {
		if r.done {
			if err := r.Remote.Move(ctx, from, to, overwrite); err != nil {
				return err
			}
		}
		return errors.New("injected: connection lost")
	}
	return r.Remote.Move(ctx, from, to, overwrite)
}

type failingLocal struct {
	Local
	n, calls int
	done     bool
}

func (l *failingLocal) Rename(from, to string, expect LocalEntry) (LocalEntry, error) {
	l.calls++
	if l.calls == l.n {
		if l.done {
			if _, err := l.Local.Rename(from, to, expect); err != nil {
				return LocalEntry{}, err
			}
		}
		return LocalEntry{}, errors.New("injected: crash")
	}
	return l.Local.Rename(from, to, expect)
}

// A pass cut between a folder's move and the move of a file renamed inside it (or
// during either, before the state recorded it): the next pass finishes with renames
// only, no transfer, no delete, no conflict copy. The journal replays a move found done
// on its side, and the folder move recorded the file at its path in between.
func TestCrashBetweenNestedMoves(t *testing.T) {
	for _, side := range []byte{'L', 'R'} {
		for _, failAt := range []int{1, 2} {
			for _, done := range []bool{false, true} {
				name := string(side)
				switch {
				case failAt == 1 && done:
					name += " folder moved, not recorded"
				case failAt == 1:
					name += " folder move failed"
				case done:
					name += " file moved, not recorded"
				default:
					name += " file move failed"
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					w := newWorld(t)
					w.writeLocal(tree{"s/a/f.txt": "f", "s/b/": "", "p.txt": "p"})
					w.sync()
					w.apply(step{side, "mv", "s/a/f.txt", "s/b/f.txt"})
					w.apply(step{side, "mv", "s", "x"})
					fr := &failingRemote{Remote: w.cl, n: failAt, done: done}
					fl := &failingLocal{Local: w.local, n: failAt, done: done}
					rep, err := w.run(func(o *Options) {
						if side == 'L' {
							o.Remote = fr
						} else {
							o.Local = fl
						}
					})
					if err != nil {
						t.Fatal(err)
					}
					if len(rep.Failures) == 0 {
						t.Fatalf("no failure injected (moved %d)", rep.Moved)
					}
					want := tree{"x/a/": "", "x/b/f.txt": "f", "p.txt": "p"}
					rep = w.sync()
					w.expectBoth(want)
					moved := 1 // the move not done yet
					if failAt == 1 && !done {
						moved = 2
					}
					if failAt == 2 && done {
						moved = 0
					}
					counts(0, 0, moved, 0, 0)(t, w, rep)
					w.expectConverged()
					if side == 'R' {
						trash := filepath.Join(w.root, ".yasyncd", "trash")
						if _, err := os.Stat(trash); err == nil {
							entries, _ := os.ReadDir(trash)
							if len(entries) != 0 {
								t.Errorf("local trash holds %d entries after renames only", len(entries))
							}
						}
					} else if n := len(w.srv.Trash()); n != 0 {
						t.Errorf("Disk trash holds %d entries after renames only", n)
					}
				})
			}
		}
	}
}

// Renames inside renamed folders combined with other changes.
func TestNestedMoveScenarios(t *testing.T) {
	scenarios := []scenario{
		{
			name:   "local: a file deleted in a renamed subfolder of a renamed folder is deleted between the moves",
			synced: tree{"s/a/f": "f", "s/a/g": "g", "s/h": "h"},
			steps:  []step{L("mv", "s", "x"), L("mv", "x/a", "x/c"), L("rm", "x/c/g")},
			want:   tree{"x/c/f": "f", "x/h": "h"},
			check: func(t *testing.T, w *world, rep *Report) {
				counts(0, 0, 2, 1, 0)(t, w, rep)
				ops := ""
				for _, j := range rep.Plan.Jobs {
					ops += string(j.Op) + " " + j.RemotePath + ";"
				}
				if want := "move-remote x;delete-remote x/a/g;move-remote x/c;"; ops != want {
					t.Errorf("jobs %s, want %s", ops, want)
				}
			},
		},
		{
			name:   "remote: a file deleted in a renamed subfolder of a renamed folder",
			synced: tree{"s/a/f": "f", "s/a/g": "g", "s/h": "h"},
			steps:  []step{R("mv", "s", "x"), R("mv", "x/a", "x/c"), R("rm", "x/c/g")},
			want:   tree{"x/c/f": "f", "x/h": "h"},
			check:  counts(0, 0, 2, 1, 0),
		},
		{
			name:   "local rename inside a renamed folder, remote edit of the file: moves, then the edit follows",
			synced: tree{"s/a/f": "f", "s/b/": ""},
			steps:  []step{L("mv", "s/a/f", "s/b/f"), L("mv", "s", "x"), R("put", "s/a/f", "remote edit")},
			want:   tree{"x/a/": "", "x/b/f": "remote edit"},
			check:  counts(0, 1, 2, 0, 0),
		},
		{
			name:   "remote rename inside a renamed folder, local edit of the file: moves, then the edit follows",
			synced: tree{"s/a/f": "f", "s/b/": ""},
			steps:  []step{R("mv", "s/a/f", "s/b/f"), R("mv", "s", "x"), L("put", "s/a/f", "local edit")},
			want:   tree{"x/a/": "", "x/b/f": "local edit"},
			check:  counts(1, 0, 2, 0, 0),
		},
		{
			name:   "local rename inside a renamed folder against a remote delete: the file survives",
			synced: tree{"s/a/f": "f", "s/b/": "", "k": "k"},
			steps:  []step{L("mv", "s/a/f", "s/b/f"), L("mv", "s", "x"), R("rm", "s/a/f")},
			want:   tree{"x/a/": "", "x/b/f": "f", "k": "k"},
		},
		{
			name:   "remote folder rename, local rename inside it: both renames, on both sides",
			synced: tree{"s/a/f": "f", "s/b/": ""},
			steps:  []step{R("mv", "s", "x"), L("mv", "s/a/f", "s/b/f")},
			want:   tree{"x/a/": "", "x/b/f": "f"},
			check:  counts(0, 0, 2, 0, 0),
		},
		{
			name:   "local folder rename, remote rename inside it: both renames, on both sides",
			synced: tree{"s/a/f": "f", "s/b/": ""},
			steps:  []step{L("mv", "s", "x"), R("mv", "s/a/f", "s/b/f")},
			want:   tree{"x/a/": "", "x/b/f": "f"},
			check:  counts(0, 0, 2, 0, 0),
		},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.writeLocal(sc.synced)
			w.sync()
			w.expectBoth(sc.synced)
			for _, s := range sc.steps {
				w.apply(s)
			}
			w.srv.ResetRequests()
			rep := w.sync()
			w.expectBoth(sc.want)
			if sc.check != nil {
				sc.check(t, w, rep)
			}
			w.expectConverged()
		})
	}
}
