package localfs

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	yasync "github.com/yasyncd/yasyncd/sync"
)

var _ yasync.Local = (*FS)(nil)

var fixedNow = time.Date(2026, 11, 21, 10, 15, 0, 0, time.Local)

// tree describes files as data: a key ending in "/" is a folder, anything else a file
// with that content.
type tree map[string]string

func write(t testing.TB, root string, tr tree) {
	t.Helper()
	for p, content := range tr {
		full := filepath.Join(root, filepath.FromSlash(p))
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// newFS makes an initialised root in a temp dir, next to an "outside" folder that no
// operation may touch.
func newFS(t testing.TB, tr tree) (*FS, string) {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "root")
	f, err := New(root, Options{Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Init(); err != nil {
		t.Fatal(err)
	}
	write(t, root, tr)
	write(t, base, tree{"outside/secret.txt": "secret", "outside/dir/": ""})
	return f, base
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestNewValidates(t *testing.T) {
	for _, bad := range []string{"rel/dir", "/a/../b", "/a/b/", ""} {
		if _, err := New(bad, Options{}); err == nil {
			t.Errorf("New(%q): no error", bad)
		}
	}
	f, err := New("/does/not/exist", Options{})
	if err != nil || f.Root() != "/does/not/exist" {
		t.Fatalf("New of a missing root: %v", err)
	}
	if f.opts.TrashDays != 30 {
		t.Errorf("default TrashDays = %d", f.opts.TrashDays)
	}
}

func TestCheckInit(t *testing.T) {
	root := filepath.Join(t.TempDir(), "a", "b")
	f, err := New(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if exists, marked, err := f.Check(); exists || marked || err != nil {
		t.Fatalf("Check of a missing root = %v, %v, %v", exists, marked, err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if exists, marked, err := f.Check(); !exists || marked || err != nil {
		t.Fatalf("Check of an unmarked root = %v, %v, %v", exists, marked, err)
	}
	for i := 0; i < 2; i++ { // idempotent
		if err := f.Init(); err != nil {
			t.Fatalf("Init #%d: %v", i+1, err)
		}
	}
	if exists, marked, err := f.Check(); !exists || !marked || err != nil {
		t.Fatalf("Check after Init = %v, %v, %v", exists, marked, err)
	}
	if got := readFile(t, filepath.Join(root, ".yasyncd", "root")); got != markerText {
		t.Errorf("marker = %q", got)
	}
	for _, d := range []string{".yasyncd/tmp", ".yasyncd/trash"} {
		st, err := os.Stat(filepath.Join(root, d))
		if err != nil || !st.IsDir() || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v", d, st, err)
		}
	}
	names, _ := os.ReadDir(filepath.Join(root, ".yasyncd", "tmp"))
	if len(names) != 0 {
		t.Errorf("Init left temp files: %v", names)
	}
	// A file where the root should be is an error, not "missing".
	file := filepath.Join(t.TempDir(), "file")
	write(t, filepath.Dir(file), tree{"file": "x"})
	g, _ := New(file, Options{})
	if _, _, err := g.Check(); err == nil {
		t.Error("Check of a file root: no error")
	}
}

type walked struct {
	entries []yasync.LocalEntry
	skipped map[string]string
}

func walk(t *testing.T, f *FS) walked {
	t.Helper()
	w := walked{skipped: map[string]string{}}
	err := f.Walk(context.Background(), func(e yasync.LocalEntry) error {
		w.entries = append(w.entries, e)
		return nil
	}, func(p, reason string) { w.skipped[p] = reason })
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (w walked) paths() []string {
	var ps []string
	for _, e := range w.entries {
		ps = append(ps, e.Path)
	}
	return ps
}

func TestWalkOrderAndNames(t *testing.T) {
	nfd := "Cafe\u0301.txt"
	f, _ := newFS(t, tree{
		"a/x":                "1",
		"a.txt":              "22",
		"a b/c":              "",
		"a-b/":               "",
		"Привет мир/файл.md": "привет",
		"emoji 😀/🎉.png":      "png",
		nfd:                  "nfd",
		"z/y/x/w":            "deep",
		"empty/":             "",
	})
	w := walk(t, f)
	got := w.paths()
	want := slices.Clone(got)
	slices.Sort(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Walk order is not byte order of paths:\n got %q\nwant %q", got, want)
	}
	wantSet := []string{"Cafe\u0301.txt", "a", "a b", "a b/c", "a-b", "a.txt", "a/x", "emoji 😀", "emoji 😀/🎉.png",
		"empty", "z", "z/y", "z/y/x", "z/y/x/w", "Привет мир", "Привет мир/файл.md"}
	slices.Sort(wantSet)
	if !reflect.DeepEqual(got, wantSet) {
		t.Errorf("Walk paths:\n got %q\nwant %q", got, wantSet)
	}
	if len(w.skipped) != 0 {
		t.Errorf("skipped %v", w.skipped)
	}
	for _, e := range w.entries {
		if e.Inode == 0 || e.Mtime.IsZero() {
			t.Errorf("%s: inode %d mtime %v", e.Path, e.Inode, e.Mtime)
		}
		switch e.Path {
		case "a.txt":
			if e.Dir || e.Size != 2 {
				t.Errorf("a.txt: %+v", e)
			}
		case "a":
			if !e.Dir || e.Size != 0 {
				t.Errorf("a: %+v", e)
			}
		}
	}
}

func TestWalkSkipsSpecialAndPrivate(t *testing.T) {
	f, base := newFS(t, tree{"ok.txt": "ok", "sub/inner.txt": "in"})
	root := f.Root()
	must(t, os.Symlink(filepath.Join(base, "outside"), filepath.Join(root, "linkdir")))
	must(t, os.Symlink(filepath.Join(base, "outside", "secret.txt"), filepath.Join(root, "sub", "linkfile")))
	must(t, os.Symlink("ok.txt", filepath.Join(root, "inside-link")))
	must(t, syscall.Mkfifo(filepath.Join(root, "pipe"), 0o644))
	must(t, os.Mkdir(filepath.Join(root, ".YASYNCD"), 0o755))
	write(t, root, tree{".yasyncd/tmp/.yasyncd-dl-1": "partial"})

	w := walk(t, f)
	if want := []string{"ok.txt", "sub", "sub/inner.txt"}; !reflect.DeepEqual(w.paths(), want) {
		t.Errorf("paths %q, want %q", w.paths(), want)
	}
	wantSkip := map[string]string{
		"linkdir":      "symbolic link",
		"sub/linkfile": "symbolic link",
		"inside-link":  "symbolic link",
		"pipe":         "named pipe",
		".YASYNCD":     "reserved name",
	}
	if !reflect.DeepEqual(w.skipped, wantSkip) {
		t.Errorf("skipped %v, want %v", w.skipped, wantSkip)
	}
}

func TestWalkUnreadableFolder(t *testing.T) {
	f, _ := newFS(t, tree{"a.txt": "", "locked/x": "1", "open/y": "2"})
	locked := filepath.Join(f.Root(), "locked")
	if os.Geteuid() != 0 {
		must(t, os.Chmod(locked, 0))
		t.Cleanup(func() { os.Chmod(locked, 0o755) })
	}
	w := walked{skipped: map[string]string{}}
	err := f.Walk(context.Background(), func(e yasync.LocalEntry) error {
		w.entries = append(w.entries, e)
		if e.Path == "a.txt" && os.Geteuid() == 0 {
			// root reads any folder: make this one fail to read by swapping it for a
			// file after the root was listed.
			must(t, os.RemoveAll(locked))
			must(t, os.WriteFile(locked, nil, 0o644))
		}
		return nil
	}, func(p, reason string) { w.skipped[p] = reason })
	must(t, err)
	if want := []string{"a.txt", "open", "open/y"}; !reflect.DeepEqual(w.paths(), want) {
		t.Errorf("paths %q, want %q", w.paths(), want)
	}
	if r := w.skipped["locked"]; !strings.HasPrefix(r, "unreadable folder: ") {
		t.Errorf("skip reason for locked = %q", r)
	}
}

// A folder removed while the walk runs is a delete, not an error.
func TestWalkVanishedFolder(t *testing.T) {
	f, _ := newFS(t, tree{"a.txt": "", "gone/x": "1"})
	w := walked{skipped: map[string]string{}}
	err := f.Walk(context.Background(), func(e yasync.LocalEntry) error {
		w.entries = append(w.entries, e)
		if e.Path == "a.txt" {
			must(t, os.RemoveAll(filepath.Join(f.Root(), "gone")))
		}
		return nil
	}, func(p, reason string) { w.skipped[p] = reason })
	must(t, err)
	if want := []string{"a.txt"}; !reflect.DeepEqual(w.paths(), want) || len(w.skipped) != 0 {
		t.Errorf("paths %q skipped %v", w.paths(), w.skipped)
	}
}

func TestWalkStops(t *testing.T) {
	f, _ := newFS(t, tree{"a": "", "b": "", "c": ""})
	stop := errors.New("stop")
	n := 0
	err := f.Walk(context.Background(), func(yasync.LocalEntry) error { n++; return stop }, func(string, string) {})
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("Walk = %v after %d calls", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.Walk(ctx, func(yasync.LocalEntry) error { return nil }, func(string, string) {}); !errors.Is(err, context.Canceled) {
		t.Errorf("Walk with a cancelled ctx = %v", err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestStat(t *testing.T) {
	f, base := newFS(t, tree{"d/f.txt": "hello"})
	must(t, os.Symlink(filepath.Join(base, "outside"), filepath.Join(f.Root(), "out")))
	e, err := f.Stat("d/f.txt")
	if err != nil || e.Path != "d/f.txt" || e.Dir || e.Size != 5 || e.Inode == 0 {
		t.Errorf("Stat(d/f.txt) = %+v, %v", e, err)
	}
	st, _ := os.Stat(filepath.Join(f.Root(), "d", "f.txt"))
	if !e.Mtime.Equal(st.ModTime()) {
		t.Errorf("mtime %v, want %v (nanoseconds kept)", e.Mtime, st.ModTime())
	}
	if e, err := f.Stat("d"); err != nil || !e.Dir {
		t.Errorf("Stat(d) = %+v, %v", e, err)
	}
	if _, err := f.Stat("missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(missing) = %v", err)
	}
	if _, err := f.Stat("out"); !errors.Is(err, ErrNotRegular) {
		t.Errorf("Stat(symlink) = %v, want ErrNotRegular", err)
	}
	if _, err := f.Stat("out/secret.txt"); err == nil {
		t.Error("Stat through a symlinked folder: no error")
	}
	for _, bad := range []string{"", ".", "..", "../x", "/etc/passwd", "a//b", "a/./b", "a/", ".yasyncd/root", ".YASYNCD/x", ".yasyncd"} {
		if _, err := f.Stat(bad); !errors.Is(err, ErrBadPath) {
			t.Errorf("Stat(%q) = %v, want ErrBadPath", bad, err)
		}
	}
}

// No operation may read, write, move or stat through a symlink pointing outside the root.
func TestSymlinkEscape(t *testing.T) {
	f, base := newFS(t, tree{"here.txt": "here"})
	root := f.Root()
	outside := filepath.Join(base, "outside")
	must(t, os.Symlink(outside, filepath.Join(root, "out")))
	must(t, os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(root, "secret-link")))
	must(t, os.Symlink("../outside", filepath.Join(root, "relout")))
	secretSt, _ := os.Stat(filepath.Join(outside, "secret.txt"))

	if _, err := f.Open("secret-link"); err == nil {
		t.Error("Open(symlink to outside file): no error")
	}
	if _, err := f.Open("out/secret.txt"); err == nil {
		t.Error("Open(through symlinked folder): no error")
	}
	if _, err := f.Open("relout/secret.txt"); err == nil {
		t.Error("Open(through relative symlink): no error")
	}
	if _, _, err := f.Hash(context.Background(), "secret-link"); err == nil {
		t.Error("Hash(symlink): no error")
	}
	tmp, err := f.CreateTemp()
	must(t, err)
	io.WriteString(tmp, "evil")
	if _, err := f.Commit(tmp, "out/new.txt", fixedNow, nil); err == nil {
		t.Error("Commit through a symlinked folder: no error")
	}
	if _, err := os.Lstat(filepath.Join(outside, "new.txt")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("Commit wrote outside the root")
	}
	if _, err := f.Mkdir("out/d"); err == nil {
		t.Error("Mkdir through a symlinked folder: no error")
	}
	if err := f.Trash("out/secret.txt", yasync.LocalEntry{Size: 6}); err == nil {
		t.Error("Trash through a symlinked folder: no error")
	}
	if err := f.Trash("secret-link", yasync.LocalEntry{}); err == nil {
		t.Error("Trash(symlink): no error")
	}
	here, _ := f.Stat("here.txt")
	if _, err := f.Rename("here.txt", "out/here.txt", here); err == nil {
		t.Error("Rename into a symlinked folder: no error")
	}
	if _, err := f.SetMtime("secret-link", time.Unix(0, 0)); err == nil {
		t.Error("SetMtime(symlink): no error")
	}
	if _, err := f.SetMtime("out/secret.txt", time.Unix(0, 0)); err == nil {
		t.Error("SetMtime through a symlinked folder: no error")
	}
	if got := readFile(t, filepath.Join(outside, "secret.txt")); got != "secret" {
		t.Errorf("outside file changed: %q", got)
	}
	if st, _ := os.Stat(filepath.Join(outside, "secret.txt")); !st.ModTime().Equal(secretSt.ModTime()) {
		t.Error("outside file's mtime changed")
	}
	entries, _ := os.ReadDir(outside)
	if len(entries) != 2 {
		t.Errorf("outside folder now holds %d entries", len(entries))
	}
	if got := readFile(t, filepath.Join(root, "here.txt")); got != "here" {
		t.Errorf("here.txt = %q", got)
	}
}

func TestOpenHash(t *testing.T) {
	content := strings.Repeat("0123456789", 100_000) // spans several read buffers
	f, _ := newFS(t, tree{"big.bin": content, "Привет 😀.txt": "hi", "d/": ""})
	sum := md5.Sum([]byte(content))
	got, e, err := f.Hash(context.Background(), "big.bin")
	if err != nil || got != hex.EncodeToString(sum[:]) || e.Size != int64(len(content)) {
		t.Fatalf("Hash = %s, %+v, %v", got, e, err)
	}
	rc, err := f.Open("Привет 😀.txt")
	must(t, err)
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "hi" {
		t.Errorf("Open read %q", b)
	}
	if _, ok := rc.(io.Seeker); !ok {
		t.Error("Open does not return a Seeker")
	}
	if _, err := f.Open("d"); !errors.Is(err, ErrNotRegular) {
		t.Errorf("Open(folder) = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := f.Hash(ctx, "big.bin"); !errors.Is(err, context.Canceled) {
		t.Errorf("Hash with a cancelled ctx = %v", err)
	}
}

func TestHashDetectsChange(t *testing.T) {
	f, _ := newFS(t, tree{"f.txt": "version one"})
	p := filepath.Join(f.Root(), "f.txt")
	cases := map[string]func(){
		"appended": func() {
			fh, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			fh.WriteString(" and more")
			fh.Close()
		},
		"replaced": func() {
			must(t, os.WriteFile(p+".new", []byte("version one"), 0o644))
			must(t, os.Rename(p+".new", p))
		},
		"touched": func() {
			must(t, os.Chtimes(p, time.Time{}, time.Now().Add(time.Hour)))
		},
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			must(t, os.WriteFile(p, []byte("version one"), 0o644))
			testHookHashed = func(string) { change() }
			defer func() { testHookHashed = nil }()
			if _, _, err := f.Hash(context.Background(), "f.txt"); !errors.Is(err, yasync.ErrLocalChanged) {
				t.Errorf("Hash = %v, want ErrLocalChanged", err)
			}
		})
	}
}

func tempWith(t *testing.T, f *FS, content string) yasync.Temp {
	t.Helper()
	tmp, err := f.CreateTemp()
	must(t, err)
	if _, err := io.WriteString(tmp, content); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tmp.Name(), ".yasyncd/tmp/") {
		t.Fatalf("temp name %q", tmp.Name())
	}
	return tmp
}

func tmpEmpty(t *testing.T, f *FS) {
	t.Helper()
	names, err := os.ReadDir(filepath.Join(f.Root(), ".yasyncd", "tmp"))
	must(t, err)
	if len(names) != 0 {
		t.Errorf("tmp not empty: %v", names)
	}
}

func TestCommitNew(t *testing.T) {
	f, _ := newFS(t, nil)
	mtime := time.Date(2025, 3, 4, 5, 6, 7, 891011121, time.UTC)
	tmp := tempWith(t, f, "downloaded")
	e, err := f.Commit(tmp, "new/sub/ф 😀.txt", mtime, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(f.Root(), "new", "sub", "ф 😀.txt")); got != "downloaded" {
		t.Errorf("content %q", got)
	}
	if e.Path != "new/sub/ф 😀.txt" || e.Size != 10 || !e.Mtime.Equal(mtime) || e.Inode == 0 {
		t.Errorf("entry %+v", e)
	}
	if st, _ := f.Stat("new/sub/ф 😀.txt"); !st.Same(e) {
		t.Errorf("Stat %+v differs from Commit's %+v", st, e)
	}
	tmpEmpty(t, f)
}

func TestCommitRefusesCreated(t *testing.T) {
	f, _ := newFS(t, tree{"taken.txt": "user's"})
	tmp := tempWith(t, f, "download")
	if _, err := f.Commit(tmp, "taken.txt", fixedNow, nil); !errors.Is(err, yasync.ErrLocalChanged) {
		t.Fatalf("Commit over an existing file with expect nil = %v", err)
	}
	if got := readFile(t, filepath.Join(f.Root(), "taken.txt")); got != "user's" {
		t.Errorf("existing file now %q", got)
	}
	tmpEmpty(t, f)
}

func TestCommitReplace(t *testing.T) {
	f, _ := newFS(t, tree{"doc.txt": "old version"})
	old, err := f.Stat("doc.txt")
	must(t, err)
	tmp := tempWith(t, f, "new version")
	e, err := f.Commit(tmp, "doc.txt", fixedNow, &old)
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(f.Root(), "doc.txt")); got != "new version" {
		t.Errorf("content %q", got)
	}
	if e.Inode == old.Inode {
		t.Error("replaced file kept its inode")
	}
	trashed := filepath.Join(f.Root(), ".yasyncd", "trash", fixedNow.Format("2006-01-02"), "doc.txt")
	if got := readFile(t, trashed); got != "old version" {
		t.Errorf("trashed copy %q", got)
	}
	tmpEmpty(t, f)
}

func TestCommitRefusesModified(t *testing.T) {
	f, _ := newFS(t, tree{"doc.txt": "old"})
	old, err := f.Stat("doc.txt")
	must(t, err)
	must(t, os.WriteFile(filepath.Join(f.Root(), "doc.txt"), []byte("user edit"), 0o644))
	tmp := tempWith(t, f, "download")
	if _, err := f.Commit(tmp, "doc.txt", fixedNow, &old); !errors.Is(err, yasync.ErrLocalChanged) {
		t.Fatalf("Commit over a modified file = %v", err)
	}
	if got := readFile(t, filepath.Join(f.Root(), "doc.txt")); got != "user edit" {
		t.Errorf("user's edit replaced: %q", got)
	}
	tmpEmpty(t, f)

	// Removed since the scan: also a change.
	must(t, os.Remove(filepath.Join(f.Root(), "doc.txt")))
	tmp = tempWith(t, f, "download")
	if _, err := f.Commit(tmp, "doc.txt", fixedNow, &old); !errors.Is(err, yasync.ErrLocalChanged) {
		t.Fatalf("Commit over a removed file = %v", err)
	}
	tmpEmpty(t, f)
}

// An edit that lands between the check and the move to the trash is put back.
func TestCommitRaceEditPutBack(t *testing.T) {
	f, _ := newFS(t, tree{"doc.txt": "old"})
	p := filepath.Join(f.Root(), "doc.txt")
	old, err := f.Stat("doc.txt")
	must(t, err)
	testHookBeforeTrash = func(string) {
		fh, _ := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		fh.WriteString(" + user edit")
		fh.Close()
	}
	defer func() { testHookBeforeTrash = nil }()
	tmp := tempWith(t, f, "download")
	if _, err := f.Commit(tmp, "doc.txt", fixedNow, &old); !errors.Is(err, yasync.ErrLocalChanged) {
		t.Fatalf("Commit = %v, want ErrLocalChanged", err)
	}
	if got := readFile(t, p); got != "old + user edit" {
		t.Errorf("file is %q, want the user's edit back in place", got)
	}
	tmpEmpty(t, f)
}

func TestTempAbort(t *testing.T) {
	f, _ := newFS(t, nil)
	tmp := tempWith(t, f, "partial")
	must(t, tmp.Abort())
	tmpEmpty(t, f)
	other, _ := newFS(t, nil)
	tmp = tempWith(t, f, "x")
	if _, err := other.Commit(tmp, "x", fixedNow, nil); err == nil {
		t.Error("Commit of another root's temp file: no error")
	}
	tmp.Abort()
}

func TestTrash(t *testing.T) {
	f, _ := newFS(t, tree{"a/b.txt": "one", "dir/x": "x", "dir/y/z": "z"})
	day := filepath.Join(f.Root(), ".yasyncd", "trash", fixedNow.Format("2006-01-02"))
	e, err := f.Stat("a/b.txt")
	must(t, err)
	must(t, f.Trash("a/b.txt", e))
	if got := readFile(t, filepath.Join(day, "a", "b.txt")); got != "one" {
		t.Errorf("trashed %q", got)
	}
	// The same path trashed again the same day gets a numbered name.
	write(t, f.Root(), tree{"a/b.txt": "two"})
	e, _ = f.Stat("a/b.txt")
	must(t, f.Trash("a/b.txt", e))
	if got := readFile(t, filepath.Join(day, "a", "b (2).txt")); got != "two" {
		t.Errorf("second trashed copy %q", got)
	}

	// A modified file is refused.
	write(t, f.Root(), tree{"c.txt": "c"})
	e, _ = f.Stat("c.txt")
	write(t, f.Root(), tree{"c.txt": "changed"})
	if err := f.Trash("c.txt", e); !errors.Is(err, yasync.ErrLocalChanged) {
		t.Errorf("Trash of a modified file = %v", err)
	}
	if got := readFile(t, filepath.Join(f.Root(), "c.txt")); got != "changed" {
		t.Errorf("modified file touched: %q", got)
	}
	// Gone: ErrLocalChanged and ErrNotExist.
	err = f.Trash("gone.txt", yasync.LocalEntry{Size: 1})
	if !errors.Is(err, yasync.ErrLocalChanged) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Trash of a missing file = %v", err)
	}
	// A folder goes whole, as long as it is still a folder.
	if err := f.Trash("c.txt", yasync.LocalEntry{Dir: true}); !errors.Is(err, yasync.ErrLocalChanged) {
		t.Errorf("Trash of a file expected to be a folder = %v", err)
	}
	must(t, f.Trash("dir", yasync.LocalEntry{Dir: true, Mtime: time.Unix(1, 0)}))
	if got := readFile(t, filepath.Join(day, "dir", "y", "z")); got != "z" {
		t.Errorf("trashed folder content %q", got)
	}
	if _, err := os.Lstat(filepath.Join(f.Root(), "dir")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("folder still in place")
	}
	if w := walk(t, f); !reflect.DeepEqual(w.paths(), []string{"a", "c.txt"}) {
		t.Errorf("after trashing: %q", w.paths())
	}
}

func TestTrashRaceEditPutBack(t *testing.T) {
	f, _ := newFS(t, tree{"f.txt": "old"})
	p := filepath.Join(f.Root(), "f.txt")
	e, _ := f.Stat("f.txt")
	testHookBeforeTrash = func(string) {
		fh, _ := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		fh.WriteString(" edited")
		fh.Close()
	}
	defer func() { testHookBeforeTrash = nil }()
	if err := f.Trash("f.txt", e); !errors.Is(err, yasync.ErrLocalChanged) {
		t.Fatalf("Trash = %v", err)
	}
	if got := readFile(t, p); got != "old edited" {
		t.Errorf("file %q, want the edit back in place", got)
	}
}

func TestRename(t *testing.T) {
	f, _ := newFS(t, tree{"a.txt": "a", "taken.txt": "t", "dir/in": "i"})
	e, _ := f.Stat("a.txt")
	got, err := f.Rename("a.txt", "new/place/ä.txt", e)
	if err != nil {
		t.Fatal(err)
	}
	if got.Path != "new/place/ä.txt" || got.Inode != e.Inode || !got.Mtime.Equal(e.Mtime) {
		t.Errorf("renamed entry %+v", got)
	}
	if readFile(t, filepath.Join(f.Root(), "new", "place", "ä.txt")) != "a" {
		t.Error("content lost")
	}
	// Target exists.
	if _, err := f.Rename("new/place/ä.txt", "taken.txt", got); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Rename onto an existing file = %v", err)
	}
	if readFile(t, filepath.Join(f.Root(), "taken.txt")) != "t" {
		t.Error("existing target replaced")
	}
	// Source changed.
	write(t, f.Root(), tree{"new/place/ä.txt": "edited!"})
	if _, err := f.Rename("new/place/ä.txt", "b.txt", got); !errors.Is(err, yasync.ErrLocalChanged) {
		t.Errorf("Rename of a changed file = %v", err)
	}
	if _, err := f.Rename("missing", "b.txt", got); !errors.Is(err, yasync.ErrLocalChanged) {
		t.Errorf("Rename of a missing file = %v", err)
	}
	// Folders: same folder, mtime may differ.
	d, _ := f.Stat("dir")
	d.Mtime = time.Unix(1, 0)
	if _, err := f.Rename("dir", "dir2", d); err != nil {
		t.Errorf("Rename folder: %v", err)
	}
	if readFile(t, filepath.Join(f.Root(), "dir2", "in")) != "i" {
		t.Error("folder content lost")
	}
}

func TestMkdir(t *testing.T) {
	f, _ := newFS(t, tree{"file": "x"})
	e, err := f.Mkdir("Новая папка")
	if err != nil || !e.Dir || e.Path != "Новая папка" {
		t.Fatalf("Mkdir = %+v, %v", e, err)
	}
	if e2, err := f.Mkdir("Новая папка"); err != nil || e2.Inode != e.Inode {
		t.Errorf("Mkdir of an existing folder = %+v, %v", e2, err)
	}
	if _, err := f.Mkdir("file"); !errors.Is(err, ErrNotRegular) {
		t.Errorf("Mkdir over a file = %v", err)
	}
	if _, err := f.Mkdir("no/parent"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Mkdir without parent = %v", err)
	}
}

func TestSetMtime(t *testing.T) {
	f, _ := newFS(t, tree{"f": "x"})
	m := time.Date(2020, 1, 2, 3, 4, 5, 123456789, time.UTC)
	e, err := f.SetMtime("f", m)
	if err != nil || !e.Mtime.Equal(m) {
		t.Fatalf("SetMtime = %+v, %v", e, err)
	}
	st, _ := os.Stat(filepath.Join(f.Root(), "f"))
	if !st.ModTime().Equal(m) {
		t.Errorf("mtime on disk %v", st.ModTime())
	}
}

func TestPrepare(t *testing.T) {
	f, _ := newFS(t, nil)
	f.opts.TrashDays = 30
	trash := filepath.Join(f.Root(), ".yasyncd", "trash")
	day := func(d int) string { return fixedNow.AddDate(0, 0, d).Format("2006-01-02") }
	write(t, f.Root(), tree{
		".yasyncd/tmp/.yasyncd-dl-1":        "partial",
		".yasyncd/tmp/dir/x":                "x",
		".yasyncd/trash/" + day(-31) + "/a": "expired",
		".yasyncd/trash/" + day(-30) + "/b": "kept, last day",
		".yasyncd/trash/" + day(0) + "/c":   "today",
		".yasyncd/trash/notes/d":            "not a day",
	})
	must(t, f.Prepare(context.Background()))
	tmpEmpty(t, f)
	var left []string
	entries, _ := os.ReadDir(trash)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := []string{day(-30), day(0), "notes"}
	if !reflect.DeepEqual(left, want) {
		t.Errorf("trash holds %v, want %v", left, want)
	}
	// Prepare does not mark an unmarked folder.
	g, err := New(filepath.Join(t.TempDir(), "plain"), Options{})
	must(t, err)
	must(t, os.Mkdir(g.Root(), 0o755))
	if err := g.Prepare(context.Background()); err == nil {
		t.Error("Prepare of an uninitialised root: no error")
	}
}

func TestCaseInsensitive(t *testing.T) {
	f, _ := newFS(t, nil)
	ci, err := f.CaseInsensitive()
	must(t, err)
	// Linux test machines use case-sensitive file systems for t.TempDir.
	if ci {
		t.Log("temp dir is on a case-insensitive file system")
	}
	tmpEmpty(t, f)
}

// Workers trash files at the same time; every byte ends up in the trash.
func TestConcurrentTrash(t *testing.T) {
	f, _ := newFS(t, nil)
	const n = 8
	for i := 0; i < n; i++ {
		write(t, f.Root(), tree{"d" + string(rune('a'+i)) + "/same.txt": strings.Repeat("x", i+1)})
	}
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			p := "d" + string(rune('a'+i)) + "/same.txt"
			e, err := f.Stat(p)
			if err == nil {
				err = f.Trash(p, e)
			}
			errs <- err
		}()
	}
	for i := 0; i < n; i++ {
		must(t, <-errs)
	}
	var total int
	filepath.WalkDir(filepath.Join(f.Root(), ".yasyncd", "trash"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			total += len(b)
		}
		return nil
	})
	if want := n * (n + 1) / 2; total != want {
		t.Errorf("trash holds %d bytes, want %d", total, want)
	}
}

// A symlink that stays inside the root is not followed either: the operation would land
// in another synced folder than the one the engine named.
func TestInsideSymlinkNotFollowed(t *testing.T) {
	f, _ := newFS(t, tree{"real/": "", "a.txt": "a"})
	must(t, os.Symlink("real", filepath.Join(f.Root(), "inlink")))
	tmp := tempWith(t, f, "x")
	if _, err := f.Commit(tmp, "inlink/new/x.txt", fixedNow, nil); !errors.Is(err, ErrNotRegular) {
		t.Errorf("Commit through an inside symlink = %v, want ErrNotRegular", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(f.Root(), "real")); len(entries) != 0 {
		t.Errorf("real/ now holds %v", entries)
	}
	tmpEmpty(t, f)
	a, _ := f.Stat("a.txt")
	if _, err := f.Rename("a.txt", "inlink/a.txt", a); !errors.Is(err, ErrNotRegular) {
		t.Errorf("Rename through an inside symlink = %v", err)
	}
}

// A hard link of the source at the target is an existing target, not a case-only rename.
func TestRenameOntoHardLink(t *testing.T) {
	f, _ := newFS(t, tree{"a.txt": "a"})
	must(t, os.Link(filepath.Join(f.Root(), "a.txt"), filepath.Join(f.Root(), "b.txt")))
	a, _ := f.Stat("a.txt")
	if _, err := f.Rename("a.txt", "b.txt", a); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Rename onto a hard link = %v, want ErrExist", err)
	}
}

// Trashing "a" (a file) and later "a/b.txt" the same day: the trash keeps both.
func TestTrashTypeChange(t *testing.T) {
	f, _ := newFS(t, tree{"a": "file a", "x/y": "file y"})
	day := filepath.Join(f.Root(), ".yasyncd", "trash", fixedNow.Format("2006-01-02"))
	e, _ := f.Stat("a")
	must(t, f.Trash("a", e))
	write(t, f.Root(), tree{"a/b.txt": "b"})
	e, _ = f.Stat("a/b.txt")
	must(t, f.Trash("a/b.txt", e))
	// The folder x is trashed whole, then x comes back as a file.
	must(t, f.Trash("x", yasync.LocalEntry{Dir: true}))
	write(t, f.Root(), tree{"x": "file x"})
	e, _ = f.Stat("x")
	must(t, f.Trash("x", e))
	for p, want := range map[string]string{"a": "file a", "a (2)/b.txt": "b", "x/y": "file y", "x (2)": "file x"} {
		if got := readFile(t, filepath.Join(day, filepath.FromSlash(p))); got != want {
			t.Errorf("trash %s = %q, want %q", p, got, want)
		}
	}
	// Commit replacing a file below a trashed file's name works the same way.
	write(t, f.Root(), tree{"a/c.txt": "old c"})
	e, _ = f.Stat("a/c.txt")
	tmp := tempWith(t, f, "new c")
	if _, err := f.Commit(tmp, "a/c.txt", fixedNow, &e); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(day, "a (2)", "c.txt")); got != "old c" {
		t.Errorf("trashed c = %q", got)
	}
}
