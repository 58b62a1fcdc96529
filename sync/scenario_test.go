package sync

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"
)

// step is one change made by the user on one side between passes.
type step struct {
	side      byte   // 'L' local, 'R' remote
	op        string // put, rm, mv, mkdir
	path, arg string // arg: content for put, destination for mv
}

func (w *world) apply(s step) {
	w.t.Helper()
	var err error
	switch s.side {
	case 'L':
		abs := filepath.Join(w.root, filepath.FromSlash(s.path))
		switch s.op {
		case "put":
			if err = os.MkdirAll(filepath.Dir(abs), 0o755); err == nil {
				err = os.WriteFile(abs, []byte(s.arg), 0o644)
			}
		case "rm":
			err = os.RemoveAll(abs)
		case "mv":
			dst := filepath.Join(w.root, filepath.FromSlash(s.arg))
			if err = os.MkdirAll(filepath.Dir(dst), 0o755); err == nil {
				err = os.Rename(abs, dst)
			}
		case "mkdir":
			err = os.MkdirAll(abs, 0o755)
		case "touch":
			later := time.Now().Add(time.Hour)
			err = os.Chtimes(abs, later, later)
		}
	case 'R':
		p := testRoot + "/" + s.path
		switch s.op {
		case "put":
			err = w.srv.PutFile(p, []byte(s.arg))
		case "rm":
			err = w.srv.Remove(p)
		case "mv":
			err = w.srv.Move(p, testRoot+"/"+s.arg)
		case "mkdir":
			err = w.srv.Mkdir(p)
		case "touch":
			err = w.srv.SetProperty(p, "other_app", "x")
		}
	}
	if err != nil {
		w.t.Fatalf("step %c %s %s: %v", s.side, s.op, s.path, err)
	}
}

// scenario: a tree synced to both sides, user changes, and the golden result both sides
// must hold after one pass. Then a further pass must plan nothing (invariant 3).
type scenario struct {
	name   string
	synced tree
	local  tree // first sync only: what each side holds before any pass
	remote tree
	steps  []step
	want   tree
	check  func(t *testing.T, w *world, rep *Report)
}

func L(op, path string, arg ...string) step { return step{'L', op, path, strings.Join(arg, "")} }
func R(op, path string, arg ...string) step { return step{'R', op, path, strings.Join(arg, "")} }

func counts(up, down, moved, deleted, conflicts int) func(*testing.T, *world, *Report) {
	return func(t *testing.T, w *world, rep *Report) {
		t.Helper()
		got := [5]int{rep.Uploaded, rep.Downloaded, rep.Moved, rep.Deleted, rep.Conflicts}
		if want := [5]int{up, down, moved, deleted, conflicts}; got != want {
			t.Errorf("up/down/moved/deleted/conflicts = %v, want %v", got, want)
		}
	}
}

func TestScenarios(t *testing.T) {
	nfd := norm.NFD.String("Café.txt")
	odd := tree{
		"with space.txt": "1", "hash#.txt": "2", "pct%20.txt": "3", "q?.txt": "4", "plus+.txt": "5",
		`quote'".txt`: "6", "Привет мир.txt": "7", "emoji 🎉.txt": "8", "dir #%?/in+side.txt": "9",
	}
	scenarios := []scenario{
		{
			name:   "first sync both directions",
			local:  tree{"a.txt": "A", "d/x.txt": "X", "empty/": ""},
			remote: tree{"b.txt": "B", "e/y.txt": "Y", "remote-empty/": ""},
			want:   tree{"a.txt": "A", "d/x.txt": "X", "empty/": "", "b.txt": "B", "e/y.txt": "Y", "remote-empty/": ""},
			check:  counts(2, 2, 0, 0, 0),
		},
		{
			name:   "first sync: same content on both sides is recorded, not transferred",
			local:  tree{"same.txt": "S", "diff.txt": "local"},
			remote: tree{"same.txt": "S", "diff.txt": "remote"},
			want:   tree{"same.txt": "S", "diff.txt": "remote", conflictOf("diff.txt"): "local"},
			check:  counts(1, 1, 0, 0, 1),
		},
		{
			name:   "first sync: local file against remote folder",
			local:  tree{"x": "file"},
			remote: tree{"x/in.txt": "in"},
			want:   tree{"x/in.txt": "in", conflictOf("x"): "file"},
		},
		{
			name:   "edit local",
			synced: tree{"a.txt": "1", "b.txt": "b"},
			steps:  []step{L("put", "a.txt", "local edit")},
			want:   tree{"a.txt": "local edit", "b.txt": "b"},
			check:  counts(1, 0, 0, 0, 0),
		},
		{
			name:   "edit remote",
			synced: tree{"a.txt": "1", "b.txt": "b"},
			steps:  []step{R("put", "a.txt", "remote edit")},
			want:   tree{"a.txt": "remote edit", "b.txt": "b"},
			check:  counts(0, 1, 0, 0, 0),
		},
		{
			name:   "delete local",
			synced: tree{"a.txt": "1", "b.txt": "b", "d/x": "x"},
			steps:  []step{L("rm", "a.txt"), L("rm", "d")},
			want:   tree{"b.txt": "b"},
			check: func(t *testing.T, w *world, rep *Report) {
				if rep.Deleted != 2 {
					t.Errorf("deleted %d, want 2 (a file and one folder)", rep.Deleted)
				}
				if len(w.srv.Trash()) != 2 {
					t.Errorf("Disk trash holds %d entries, want 2", len(w.srv.Trash()))
				}
			},
		},
		{
			name:   "delete remote",
			synced: tree{"a.txt": "1", "b.txt": "b", "d/x": "x"},
			steps:  []step{R("rm", "a.txt"), R("rm", "d")},
			want:   tree{"b.txt": "b"},
			check: func(t *testing.T, w *world, rep *Report) {
				if rep.Deleted != 2 {
					t.Errorf("deleted %d, want 2", rep.Deleted)
				}
				trashed := filepath.Join(w.root, ".yasyncd", "trash")
				n := 0
				_ = filepath.WalkDir(trashed, func(p string, d os.DirEntry, err error) error {
					if err == nil && !d.IsDir() {
						n++
					}
					return nil
				})
				if n != 2 {
					t.Errorf("local trash holds %d files, want 2", n)
				}
			},
		},
		{
			name:   "deleted on both sides",
			synced: tree{"a.txt": "1", "b.txt": "b"},
			steps:  []step{L("rm", "a.txt"), R("rm", "a.txt")},
			want:   tree{"b.txt": "b"},
			check:  counts(0, 0, 0, 0, 0),
		},
		{
			name:   "local edit survives remote delete",
			synced: tree{"a.txt": "1"},
			steps:  []step{L("put", "a.txt", "edited"), R("rm", "a.txt")},
			want:   tree{"a.txt": "edited"},
		},
		{
			name:   "remote edit survives local delete",
			synced: tree{"a.txt": "1"},
			steps:  []step{L("rm", "a.txt"), R("put", "a.txt", "edited")},
			want:   tree{"a.txt": "edited"},
		},
		{
			name:   "remote edit below a locally deleted folder keeps the folder",
			synced: tree{"d/a.txt": "1", "d/b.txt": "2", "keep": "k"},
			steps:  []step{L("rm", "d"), R("put", "d/a.txt", "edited")},
			want:   tree{"d/a.txt": "edited", "keep": "k"},
		},
		{
			name:   "conflict keeps both",
			synced: tree{"c.txt": "base"},
			steps:  []step{L("put", "c.txt", "local"), R("put", "c.txt", "remote")},
			want:   tree{"c.txt": "remote", conflictOf("c.txt"): "local"},
			check:  counts(1, 1, 0, 0, 1),
		},
		{
			name:   "same edit on both sides",
			synced: tree{"a.txt": "1"},
			steps:  []step{L("put", "a.txt", "same"), R("put", "a.txt", "same")},
			want:   tree{"a.txt": "same"},
			check: func(t *testing.T, w *world, rep *Report) {
				counts(0, 0, 0, 0, 0)(t, w, rep)
				if rep.Recorded != 1 {
					t.Errorf("recorded %d, want 1", rep.Recorded)
				}
			},
		},
		{
			name:   "touched on both sides, same bytes: no transfer",
			synced: tree{"a.txt": "1"},
			steps:  []step{L("touch", "a.txt"), R("touch", "a.txt")},
			want:   tree{"a.txt": "1"},
			check: func(t *testing.T, w *world, rep *Report) {
				counts(0, 0, 0, 0, 0)(t, w, rep)
				if rep.Recorded != 1 {
					t.Errorf("recorded %d, want the new mtime recorded", rep.Recorded)
				}
			},
		},
		{
			name:   "local file rename is one move",
			synced: tree{"a.txt": "content", "d/": ""},
			steps:  []step{L("mv", "a.txt", "d/b.txt")},
			want:   tree{"d/b.txt": "content"},
			check: func(t *testing.T, w *world, rep *Report) {
				counts(0, 0, 1, 0, 0)(t, w, rep)
				if n := w.countRequests("PUT", "/upload"); n != 0 {
					t.Errorf("%d uploads for a rename", n)
				}
			},
		},
		{
			name:   "remote file rename is one local rename",
			synced: tree{"a.txt": "content"},
			steps:  []step{R("mv", "a.txt", "b.txt")},
			want:   tree{"b.txt": "content"},
			check:  counts(0, 0, 1, 0, 0),
		},
		{
			name:   "local folder rename is one move",
			synced: tree{"dir/a": "1", "dir/sub/b": "2", "dir/empty/": ""},
			steps:  []step{L("mv", "dir", "renamed")},
			want:   tree{"renamed/a": "1", "renamed/sub/b": "2", "renamed/empty/": ""},
			check:  counts(0, 0, 1, 0, 0),
		},
		{
			name:   "folder rename with a sibling sorting between the folder and its content",
			synced: tree{"c/a": "1", "c (1)": "sibling", "c.txt": "s2"},
			steps:  []step{R("mv", "c", "deep")},
			want:   tree{"deep/a": "1", "c (1)": "sibling", "c.txt": "s2"},
			check:  counts(0, 0, 1, 0, 0),
		},
		{
			name:   "remote folder rename is one local rename",
			synced: tree{"dir/a": "1", "dir/sub/b": "2"},
			steps:  []step{R("mv", "dir", "other/renamed")},
			want:   tree{"other/renamed/a": "1", "other/renamed/sub/b": "2"},
		},
		{
			name:   "local move, remote edit: move then the edit follows",
			synced: tree{"a.txt": "1"},
			steps:  []step{L("mv", "a.txt", "b.txt"), R("put", "a.txt", "remote edit")},
			want:   tree{"b.txt": "remote edit"},
			check:  counts(0, 1, 1, 0, 0),
		},
		{
			name:   "remote move, local edit: move then the edit follows",
			synced: tree{"a.txt": "1"},
			steps:  []step{R("mv", "a.txt", "b.txt"), L("put", "a.txt", "local edit")},
			want:   tree{"b.txt": "local edit"},
			check:  counts(1, 0, 1, 0, 0),
		},
		{
			name:   "local move and edit, remote edit: not a move, both kept",
			synced: tree{"a.txt": "1"},
			steps:  []step{L("mv", "a.txt", "b.txt"), L("put", "b.txt", "local"), R("put", "a.txt", "remote")},
			want:   tree{"a.txt": "remote", "b.txt": "local"},
		},
		{
			name:   "local move against remote delete: the moved file survives",
			synced: tree{"a.txt": "1"},
			steps:  []step{L("mv", "a.txt", "b.txt"), R("rm", "a.txt")},
			want:   tree{"b.txt": "1"},
		},
		{
			name:   "moved to different paths on both sides: both kept",
			synced: tree{"a.txt": "1"},
			steps:  []step{L("mv", "a.txt", "l.txt"), R("mv", "a.txt", "r.txt")},
			want:   tree{"l.txt": "1", "r.txt": "1"},
		},
		{
			name:   "local type change file to folder",
			synced: tree{"x": "file"},
			steps:  []step{L("rm", "x"), L("put", "x/in.txt", "in")},
			want:   tree{"x/in.txt": "in"},
		},
		{
			name:   "remote type change folder to file",
			synced: tree{"x/in.txt": "in"},
			steps:  []step{R("rm", "x"), R("put", "x", "file")},
			want:   tree{"x": "file"},
		},
		{
			name:   "type change against an edit: the folder keeps the name",
			synced: tree{"x": "file"},
			steps:  []step{L("rm", "x"), L("put", "x/in.txt", "in"), R("put", "x", "remote edit")},
			want:   tree{"x/in.txt": "in", conflictOf("x"): "remote edit"},
		},
		{
			name:   "local move into a new folder",
			synced: tree{"a.txt": "1"},
			steps:  []step{L("mv", "a.txt", "new/deeper/a.txt")},
			want:   tree{"new/deeper/a.txt": "1"},
			check:  counts(0, 0, 1, 0, 0),
		},
		{
			name:   "remote folder deleted, local file added inside: the folder stays",
			synced: tree{"d/a": "1", "keep": "k"},
			steps:  []step{R("rm", "d"), L("put", "d/new", "n")},
			want:   tree{"d/new": "n", "keep": "k"},
		},
		{
			name:   "local folder rename, remote file added inside",
			synced: tree{"dir/a": "1"},
			steps:  []step{L("mv", "dir", "dir2"), R("put", "dir/new", "n")},
			want:   tree{"dir2/a": "1", "dir2/new": "n"},
			check:  counts(0, 1, 1, 0, 0),
		},
		{
			name:   "local folder rename, remote file deleted inside",
			synced: tree{"dir/a": "1", "dir/b": "2"},
			steps:  []step{L("mv", "dir", "dir2"), R("rm", "dir/a")},
			want:   tree{"dir2/b": "2"},
			check:  counts(0, 0, 1, 1, 0),
		},
		{
			name:   "local folder rename with a file deleted in it: deleted before the move",
			synced: tree{"dir/a": "1", "dir/b": "2", "dir/sub/c": "3", "dir/sub/d": "4"},
			steps:  []step{L("mv", "dir", "dir2"), L("rm", "dir2/a"), L("rm", "dir2/sub")},
			want:   tree{"dir2/b": "2"},
			check: func(t *testing.T, w *world, rep *Report) {
				counts(0, 0, 1, 2, 0)(t, w, rep)
				ops := ""
				for _, j := range rep.Plan.Jobs {
					ops += string(j.Op) + " " + j.RemotePath + ";"
				}
				if want := "delete-remote dir/a;delete-remote dir/sub;move-remote dir2;"; ops != want {
					t.Errorf("jobs %s, want %s", ops, want)
				}
			},
		},
		{
			name:   "remote folder rename with a file deleted in it: deleted before the move",
			synced: tree{"dir/a": "1", "dir/b": "2"},
			steps:  []step{R("mv", "dir", "dir2"), R("rm", "dir2/a")},
			want:   tree{"dir2/b": "2"},
			check: func(t *testing.T, w *world, rep *Report) {
				counts(0, 0, 1, 1, 0)(t, w, rep)
				if j := rep.Plan.Jobs[0]; j.Op != OpDeleteLocal || j.LocalPath != "dir/a" {
					t.Errorf("first job %v, want the delete at the old path", j)
				}
			},
		},
		{
			name:   "local folder rename onto a folder the remote created: files move, the old folder goes after",
			synced: tree{"d/e/Makefile": "m", "d/e/a.txt": "a", "d/x": "x"},
			steps:  []step{R("put", "Папка/Привет мир.txt", "p"), L("mv", "d/e", "Папка")},
			want:   tree{"Папка/Makefile": "m", "Папка/a.txt": "a", "Папка/Привет мир.txt": "p", "d/x": "x"},
			check:  counts(0, 1, 2, 1, 0),
		},
		{
			name:   "remote folder rename with a new file two levels down: the download waits for the move",
			synced: tree{"sub dir/inner/a": "1", "sub dir/b": "2"},
			steps:  []step{R("put", "sub dir/inner/new", "n"), R("mv", "sub dir", "deep")},
			want:   tree{"deep/inner/a": "1", "deep/b": "2", "deep/inner/new": "n"},
			check:  counts(0, 1, 1, 0, 0),
		},
		{
			name:   "remote folder rename, local file edited inside",
			synced: tree{"dir/a": "1", "dir/b": "2"},
			steps:  []step{R("mv", "dir", "dir2"), L("put", "dir/a", "edited")},
			want:   tree{"dir2/a": "edited", "dir2/b": "2"},
			check:  counts(1, 0, 1, 0, 0),
		},
		{
			name:   "both sides create the same folder with different files",
			synced: tree{"x": "x"},
			steps:  []step{L("put", "d/l.txt", "l"), R("put", "d/r.txt", "r")},
			want:   tree{"x": "x", "d/l.txt": "l", "d/r.txt": "r"},
		},
		{
			name:   "local folder replaced by a file, remote unchanged",
			synced: tree{"x/a": "1", "x/b": "2", "keep": "k"},
			steps:  []step{L("rm", "x"), L("put", "x", "now a file")},
			want:   tree{"x": "now a file", "keep": "k"},
		},
		{
			name:   "remote file replaced by a folder, local edit: the folder keeps the name",
			synced: tree{"x": "file", "keep": "k"},
			steps:  []step{R("rm", "x"), R("put", "x/in", "in"), L("put", "x", "local edit")},
			want:   tree{"x/in": "in", conflictOf("x"): "local edit", "keep": "k"},
		},
		{
			name:   "remote type change file to folder, local delete",
			synced: tree{"x": "file", "keep": "k"},
			steps:  []step{R("rm", "x"), R("put", "x/in", "in"), L("rm", "x")},
			want:   tree{"x/in": "in", "keep": "k"},
		},
		{
			name:   "local edit and rename of the same file",
			synced: tree{"a.txt": "1", "keep": "k"},
			steps:  []step{L("mv", "a.txt", "b.txt"), L("put", "b.txt", "edited")},
			want:   tree{"b.txt": "edited", "keep": "k"},
		},
		{
			name:   "identical files renamed: no wrong move",
			synced: tree{"a": "same", "b": "same"},
			steps:  []step{R("mv", "a", "c")},
			want:   tree{"c": "same", "b": "same"},
		},
		{
			name:   "unicode: NFD local and NFC remote are one file",
			local:  tree{nfd: "same"},
			remote: tree{"Café.txt": "same"},
			check: func(t *testing.T, w *world, rep *Report) {
				counts(0, 0, 0, 0, 0)(t, w, rep)
				if _, ok := w.localTree()[nfd]; !ok {
					t.Error("the local NFD name was not kept")
				}
				if _, ok := w.remoteTree()["Café.txt"]; !ok {
					t.Error("the remote NFC name was not kept")
				}
			},
		},
		{
			name:  "odd names upload",
			local: odd,
			want:  odd,
		},
		{
			name:   "odd names download",
			remote: odd,
			want:   odd,
		},
		{
			name:   "empty folders and zero-byte files",
			local:  tree{"empty/": "", "zero": "", "deep/er/": ""},
			remote: tree{"rempty/": "", "rzero": ""},
			want:   tree{"empty/": "", "zero": "", "deep/er/": "", "rempty/": "", "rzero": ""},
		},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			if sc.synced != nil {
				w.writeLocal(sc.synced)
				w.sync()
				w.expectBoth(sc.synced)
			} else {
				w.writeLocal(sc.local)
				w.seedRemote(sc.remote)
			}
			for _, s := range sc.steps {
				w.apply(s)
			}
			w.srv.ResetRequests()
			rep := w.sync()
			if sc.want != nil {
				w.expectBoth(sc.want)
			}
			if sc.check != nil {
				sc.check(t, w, rep)
			}
			w.expectConverged()
		})
	}
}
