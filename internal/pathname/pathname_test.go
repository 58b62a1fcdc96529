package pathname

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestKeyAndFold(t *testing.T) {
	nfd := "Cafe\u0301/Re\u0301sume\u0301.txt"
	nfc := "Caf\u00e9/R\u00e9sum\u00e9.txt"
	if got := Key(nfd); got != nfc {
		t.Errorf("Key(NFD) = %q, want %q", got, nfc)
	}
	if got := Key(nfc); got != nfc {
		t.Errorf("Key(NFC) changed: %q", got)
	}
	if FoldKey(nfd) != FoldKey(strings.ToUpper(nfc)) {
		t.Errorf("FoldKey differs for %q and %q", nfd, strings.ToUpper(nfc))
	}
	if FoldKey("Straße") != FoldKey("STRASSE") {
		t.Error("FoldKey does not fold ß to ss")
	}
	if FoldKey("a.txt") == FoldKey("b.txt") {
		t.Error("FoldKey merged different names")
	}
}

func TestCheckName(t *testing.T) {
	good := []string{"a", "a b.txt", "Привет.doc", "😀", "back\\slash", ".hidden", "...", strings.Repeat("я", 127)}
	for _, n := range good {
		if err := CheckName(n); err != nil {
			t.Errorf("CheckName(%q) = %v, want nil", n, err)
		}
	}
	bad := map[string]string{
		"":                       "empty",
		".":                      "itself",
		"..":                     "parent",
		"a/b":                    "slash",
		"/":                      "slash",
		"a\x00b":                 "control",
		"tab\there":              "control",
		"del\x7f":                "control",
		"bad\xffutf8":            "UTF-8",
		strings.Repeat("x", 256): "longer than 255",
		strings.Repeat("я", 128): "longer than 255",
	}
	for n, reason := range bad {
		err := CheckName(n)
		var ne *NameError
		if !errors.As(err, &ne) || !errors.Is(err, ErrBadName) {
			t.Errorf("CheckName(%q) = %v, want a *NameError", n, err)
			continue
		}
		if !strings.Contains(ne.Reason, reason) {
			t.Errorf("CheckName(%q) reason %q, want it to mention %q", n, ne.Reason, reason)
		}
	}
}

func TestRemoteRel(t *testing.T) {
	cases := []struct {
		root, path, want string
		err              error
	}{
		{"disk:/Sync", "disk:/Sync/a/b", "a/b", nil},
		{"disk:/Sync/", "disk:/Sync/a", "a", nil},
		{"disk:/Sync", "/Sync/a", "a", nil},
		{"/Sync", "disk:/Sync/a", "a", nil},
		{"disk:/Sync", "disk:/Sync", "", nil},
		{"disk:/", "disk:/a/b", "a/b", nil},
		{"disk:/", "disk:/", "", nil},
		{"disk:/Sync", "disk:/Sync/Привет мир/😀.txt", "Привет мир/😀.txt", nil},
		{"disk:/Sync", "disk:/SyncOther/a", "", ErrOutsideRoot},
		{"disk:/Sync", "disk:/Other/a", "", ErrOutsideRoot},
		{"disk:/Sync", "app:/Sync/a", "", ErrOutsideRoot},
		{"disk:/Sync", "disk:/Sync/../etc/passwd", "", ErrBadName},
		{"disk:/Sync", "disk:/Sync/a/./b", "", ErrBadName},
		{"disk:/Sync", "disk:/Sync/a//b", "", ErrBadName},
		{"disk:/Sync", "disk:/Sync/a/", "", ErrBadName},
		{"disk:/Sync", "disk:/Sync/a\x00b", "", ErrBadName},
	}
	for _, c := range cases {
		got, err := RemoteRel(c.root, c.path)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("RemoteRel(%q, %q) = %q, %v; want error %v", c.root, c.path, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("RemoteRel(%q, %q) = %q, %v; want %q", c.root, c.path, got, err, c.want)
		}
	}
}

func TestRemotePath(t *testing.T) {
	cases := []struct{ root, rel, want string }{
		{"disk:/Sync", "a/b", "disk:/Sync/a/b"},
		{"disk:/Sync/", "a", "disk:/Sync/a"},
		{"disk:/Sync", "", "disk:/Sync"},
		{"disk:/", "a", "disk:/a"},
		{"disk:/", "", "disk:/"},
	}
	for _, c := range cases {
		if got := RemotePath(c.root, c.rel); got != c.want {
			t.Errorf("RemotePath(%q, %q) = %q, want %q", c.root, c.rel, got, c.want)
		}
		if rel, err := RemoteRel(c.root, RemotePath(c.root, c.rel)); err != nil || rel != c.rel {
			t.Errorf("RemoteRel(RemotePath(%q, %q)) = %q, %v", c.root, c.rel, rel, err)
		}
	}
}

func TestHostLabel(t *testing.T) {
	cases := map[string]string{
		"laptop.example.com": "laptop",
		"my host":            "my-host",
		"ноут.local":         "----",
		"a/b:c":              "a-b-c",
		"":                   "host",
		"work_pc-2":          "work_pc-2",
	}
	for in, want := range cases {
		if got := HostLabel(in); got != want {
			t.Errorf("HostLabel(%q) = %q, want %q", in, got, want)
		}
		if HostLabel(HostLabel(in)) != HostLabel(in) {
			t.Errorf("HostLabel not idempotent on %q", in)
		}
	}
	if got := HostLabel(strings.Repeat("h", 100)); len(got) != 63 {
		t.Errorf("long host label is %d bytes, want 63", len(got))
	}
}

var when = time.Date(2026, 11, 21, 10, 15, 0, 0, time.FixedZone("MSK", 3*3600))

func TestConflictName(t *testing.T) {
	cases := map[string]string{
		"report.pdf": "report (conflict 2026-11-21 101500 laptop).pdf",
		"a.tar.gz":   "a.tar (conflict 2026-11-21 101500 laptop).gz",
		".bashrc":    ".bashrc (conflict 2026-11-21 101500 laptop)",
		"Makefile":   "Makefile (conflict 2026-11-21 101500 laptop)",
		"Отчёт.docx": "Отчёт (conflict 2026-11-21 101500 laptop).docx",
		"a b.c d":    "a b (conflict 2026-11-21 101500 laptop).c d",
	}
	for in, want := range cases {
		if got := ConflictName(in, when, "laptop.home", nil); got != want {
			t.Errorf("ConflictName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConflictNameTaken(t *testing.T) {
	taken := map[string]bool{
		"x (conflict 2026-11-21 101500 pc).txt":   true,
		"x (conflict 2026-11-21 101500 pc 2).txt": true,
	}
	got := ConflictName("x.txt", when, "pc", func(n string) bool { return taken[n] })
	if want := "x (conflict 2026-11-21 101500 pc 3).txt"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestConflictNameLong(t *testing.T) {
	// 3-byte runes so that a byte cut would split one.
	name := strings.Repeat("ж", 80) + "x.pdf" // 245 bytes
	got := ConflictName(name, when, "laptop", nil)
	if len(got) > MaxNameBytes || !utf8.ValidString(got) {
		t.Fatalf("%d bytes, valid UTF-8 %v: %q", len(got), utf8.ValidString(got), got)
	}
	if !strings.HasSuffix(got, " (conflict 2026-11-21 101500 laptop).pdf") || !strings.HasPrefix(got, "жжж") {
		t.Errorf("shortened name %q lost its stem start or suffix", got)
	}
	// An extension so long that it leaves no room is treated as part of the stem.
	long := "a." + strings.Repeat("e", 240)
	got = ConflictName(long, when, "laptop", nil)
	if len(got) > MaxNameBytes || !strings.HasPrefix(got, "a.eee") || !strings.HasSuffix(got, "laptop)") {
		t.Errorf("long extension: %q", got)
	}
}

func FuzzConflictName(f *testing.F) {
	f.Add("report.pdf", "laptop.local", int64(0))
	f.Add(".bashrc", "host", int64(1))
	f.Add(strings.Repeat("ж", 120)+".txt", "h", int64(2))
	f.Add("a.tar.gz", "my host/x", int64(5))
	f.Fuzz(func(t *testing.T, name, host string, takenCount int64) {
		if len(name) > MaxNameBytes || !utf8.ValidString(name) {
			t.Skip()
		}
		n := takenCount % 5
		if n < 0 {
			n = -n
		}
		calls := int64(0)
		got := ConflictName(name, when, host, func(string) bool { calls++; return calls <= n })
		if len(got) > MaxNameBytes {
			t.Fatalf("%d bytes: %q", len(got), got)
		}
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 out: %q", got)
		}
		if !strings.Contains(got, "(conflict 2026-11-21 101500 "+HostLabel(host)) {
			t.Fatalf("no conflict label: %q", got)
		}
		_, ext := splitExt(name)
		if ext != "" && len(ext) <= 64 && !strings.HasSuffix(got, ")"+ext) {
			t.Fatalf("extension %q lost: %q", ext, got)
		}
		if got == name {
			t.Fatalf("conflict name equals the original %q", name)
		}
	})
}

func FuzzRemoteRel(f *testing.F) {
	f.Add("disk:/Sync", "disk:/Sync/a/b")
	f.Add("disk:/Sync", "disk:/Sync/../x")
	f.Add("disk:/", "disk://a")
	f.Add("disk:/Sync", "disk:/Sync/a\x00")
	f.Fuzz(func(t *testing.T, root, p string) {
		rel, err := RemoteRel(root, p)
		if err != nil {
			return
		}
		if strings.HasPrefix(rel, "/") || strings.Contains(rel, "\x00") {
			t.Fatalf("RemoteRel(%q, %q) = %q", root, p, rel)
		}
		for _, elem := range strings.Split(rel, "/") {
			if rel != "" && (elem == ".." || elem == "." || elem == "") {
				t.Fatalf("RemoteRel(%q, %q) = %q has element %q", root, p, rel, elem)
			}
		}
	})
}
