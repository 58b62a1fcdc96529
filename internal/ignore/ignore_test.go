package ignore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type probe struct {
	path string
	dir  bool
	want bool
}

func expect(t *testing.T, m *Matcher, probes []probe) {
	t.Helper()
	for _, p := range probes {
		if got := m.Match(p.path, p.dir); got != p.want {
			t.Errorf("Match(%q, dir=%v) = %v, want %v", p.path, p.dir, got, p.want)
		}
	}
}

func TestDefaults(t *testing.T) {
	m, err := New(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	expect(t, m, []probe{
		{".yasyncd", true, true},
		{".yasyncd/tmp/x", false, true},
		{".yasyncd/trash/2026-11-21/a.txt", false, true},
		{"sub/.yasyncd", true, false}, // only the root's private folder is special
		{".yasyncd-dl-0123", false, true},
		{"a/.report.txt.swp", false, true},
		{"notes.swp", false, true},
		{".x.swo", false, true},
		{"4913", false, true},
		{"deep/dir/4913", false, true},
		{"draft.txt~", false, true},
		{".#draft.txt", false, true},
		{"#draft.txt#", false, true},
		{".~lock.report.odt#", false, true},
		{"~$report.docx", false, true},
		{"~WRL0001.tmp", false, true},
		{".goutputstream-ABC123", false, true},
		{"movie.mp4.crdownload", false, true},
		// ordinary files
		{"report.docx", false, false},
		{".bashrc", false, false},
		{".yasyncignore", false, false},
		{"a/b/c.txt", false, false},
		{"tilde~in~middle.txt", false, false},
		{"49130", false, false},
		{"", true, false},
	})
}

func TestPatterns(t *testing.T) {
	m, err := New([]string{
		"*.log",
		"!keep.log",
		"/build",
		"cache/",
		"docs/**/*.tmp",
		"Отчёты/черновик*",
		"node_modules",
		"/top/only.txt",
		"# a comment",
		"",
		`\#hash`,
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	expect(t, m, []probe{
		{"debug.log", false, true},
		{"a/b/debug.log", false, true},
		{"keep.log", false, false},   // negation
		{"a/keep.log", false, false}, // negation at any depth
		{"build", true, true},        // anchored
		{"build/out.bin", false, true},
		{"src/build", true, false}, // anchored: not below the top
		{"cache", true, true},      // dir-only
		{"cache", false, false},    // dir-only pattern does not match a file
		{"x/cache", true, true},
		{"x/cache/blob", false, true}, // under an excluded folder
		{"docs/a/b/x.tmp", false, true},
		{"docs/x.tmp", false, true},
		{"other/x.tmp", false, false},
		{"Отчёты/черновик 1.docx", false, true},
		{"Отчёты/итог.docx", false, false},
		{"web/node_modules/pkg/index.js", false, true},
		{"top/only.txt", false, true},
		{"sub/top/only.txt", false, false},
		{"# a comment", false, false},
		{"#hash", false, true}, // an escaped leading "#"
	})
}

// Patterns and paths meet in NFC whatever the spelling of either.
func TestUnicodeNormalisation(t *testing.T) {
	nfd := "Cafe\u0301"
	m, err := New([]string{nfd + "/"}, "")
	if err != nil {
		t.Fatal(err)
	}
	expect(t, m, []probe{
		{"Caf\u00e9", true, true},
		{nfd, true, true},
		{"Caf\u00e9/menu.txt", false, true},
	})
}

func TestIgnoreFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, FileName)
	content := "# comment\r\n*.bak\r\n\r\n!important.bak\r\nlogs/\n"
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := New([]string{"*.iso", "!x.bak"}, file)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, m, []probe{
		{"a.bak", false, true},
		{"x.bak", false, true}, // the file comes after the setting and wins
		{"important.bak", false, false},
		{"logs", true, true},
		{"disk.iso", false, true},
		{"readme", false, false},
	})
	// A missing file is fine.
	if _, err := New(nil, filepath.Join(dir, "missing")); err != nil {
		t.Errorf("missing ignore file: %v", err)
	}
	// A folder where the file should be is not.
	if _, err := New(nil, dir); err == nil {
		t.Error("ignore file is a folder: no error")
	}
}

func TestPrivateFolderCannotBeReincluded(t *testing.T) {
	m, err := New([]string{"!.yasyncd", "!.yasyncd/**", "!*.swp"}, "")
	if err != nil {
		t.Fatal(err)
	}
	expect(t, m, []probe{
		{".yasyncd", true, true},
		{".yasyncd/tmp/a", false, true},
		{"notes.swp", false, false}, // defaults other than the private folder can be overridden
	})
}

func TestBadPatterns(t *testing.T) {
	for _, p := range []string{"[abc", "a/[z-a/b", "x\\", "!", "/", "a\x00b"} {
		_, err := New([]string{"ok", p}, "")
		if err == nil {
			t.Errorf("pattern %q: no error", p)
			continue
		}
		if !strings.Contains(err.Error(), "exclude setting") || !strings.Contains(err.Error(), "pattern") {
			t.Errorf("pattern %q: error %q does not say where", p, err)
		}
	}
	dir := t.TempDir()
	file := filepath.Join(dir, FileName)
	if err := os.WriteFile(file, []byte("ok\n[bad\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := New(nil, file)
	if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), `"[bad"`) {
		t.Errorf("bad line in ignore file: %v", err)
	}
}
