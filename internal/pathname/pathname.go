// Package pathname maps names and paths between the local folder, the Disk and the state
// database: Unicode normalisation of keys, remote-to-relative path mapping that refuses
// anything which could escape the root, and conflict-copy names.
//
// All functions are pure: no file system, no clock, no environment.
package pathname

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// MaxNameBytes is the longest name (one path element) that common local file systems hold.
const MaxNameBytes = 255

// ErrBadName is matched (errors.Is) by every *NameError.
var ErrBadName = errors.New("bad name")

// ErrOutsideRoot is returned by RemoteRel for a path that is not under the root.
var ErrOutsideRoot = errors.New("path outside the synced folder")

// NameError says why a name cannot be synced.
type NameError struct {
	Name   string
	Reason string
}

func (e *NameError) Error() string { return fmt.Sprintf("bad name %q: %s", e.Name, e.Reason) }

// Is makes errors.Is(err, ErrBadName) true.
func (e *NameError) Is(target error) bool { return target == ErrBadName }

// Key is the form under which a relative path is stored and compared: Unicode NFC, so a
// local NFD name (macOS, some Linux tools) and the Disk's NFC name are one file.
func Key(rel string) string { return norm.NFC.String(rel) }

// FoldKey is Key with Unicode case folding, for detecting names that collide on a
// case-insensitive file system ("A.txt" and "a.txt").
func FoldKey(key string) string {
	// Folding can produce a non-NFC sequence; normalise on both sides of it. A Caser holds
	// state, so each call gets its own.
	return norm.NFC.String(cases.Fold().String(norm.NFC.String(key)))
}

// CheckName refuses a single path element that could escape the root or cannot be a
// local name: empty, ".", "..", containing "/" (or "\" on Windows), NUL or other control
// characters (0x00-0x1F, 0x7F), invalid UTF-8, or longer than MaxNameBytes bytes. The error
// is a *NameError.
func CheckName(name string) error {
	bad := func(reason string) error { return &NameError{Name: name, Reason: reason} }
	switch {
	case name == "":
		return bad("empty")
	case name == "." || name == "..":
		return bad("refers to a folder itself or its parent")
	case len(name) > MaxNameBytes:
		return bad(fmt.Sprintf("longer than %d bytes", MaxNameBytes))
	case !utf8.ValidString(name):
		return bad("not valid UTF-8")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '/':
			return bad("contains a slash")
		case c == '\\' && runtime.GOOS == "windows":
			// A legal character on Linux and on the Disk; a separator on Windows.
			return bad("contains a backslash")
		case c < 0x20 || c == 0x7f:
			return bad("contains a control character")
		}
	}
	return nil
}

// RemoteRel maps an absolute Disk path under root to a slash-separated path relative to
// root, in the Disk's own spelling: RemoteRel("disk:/Sync", "disk:/Sync/a/b") is "a/b".
// The root itself maps to "". Every element is checked with CheckName, so the result never
// contains "..", a leading "/", an empty element or a NUL. The "disk:" prefix is optional
// on either argument. Paths outside root are ErrOutsideRoot.
func RemoteRel(root, remotePath string) (string, error) {
	r := trimRoot(root)
	p := strings.TrimPrefix(remotePath, "disk:")
	var rel string
	switch {
	case p == r || p == r+"/" && r == "":
		return "", nil
	case strings.HasPrefix(p, r+"/"):
		rel = p[len(r)+1:]
	default:
		return "", fmt.Errorf("%w: %q is not under %q", ErrOutsideRoot, remotePath, root)
	}
	for elem := range strings.SplitSeq(rel, "/") {
		if err := CheckName(elem); err != nil {
			return "", fmt.Errorf("remote path %q: %w", remotePath, err)
		}
	}
	return rel, nil
}

// trimRoot drops the "disk:" prefix and trailing slashes: "disk:/Sync/" is "/Sync", and
// the Disk root "disk:/" is "".
func trimRoot(root string) string {
	return strings.TrimRight(strings.TrimPrefix(root, "disk:"), "/")
}

// RemotePath joins root and a relative path: RemotePath("disk:/Sync", "a/b") is
// "disk:/Sync/a/b"; an empty rel is the root. The root keeps its own form (with or without
// "disk:"), minus trailing slashes.
func RemotePath(root, rel string) string {
	base := strings.TrimRight(root, "/")
	if rel == "" {
		if base == "disk:" || base == "" {
			return base + "/"
		}
		return base
	}
	return base + "/" + rel
}

// HostLabel is the short host name (up to the first dot) with every character other than
// ASCII letters, digits, "-" and "_" replaced by "-", for conflict names. It is "host" when
// nothing is left. It is idempotent.
func HostLabel(hostname string) string {
	short, _, _ := strings.Cut(hostname, ".")
	var b strings.Builder
	for _, r := range short {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	s := b.String()
	if s == "" {
		return "host"
	}
	// Keep the name budget for the user's stem: a DNS label is at most 63 bytes anyway.
	if len(s) > 63 {
		s = s[:63]
	}
	return s
}

// ConflictName is the name of the conflict copy of name (one path element, not a path):
//
//	report.pdf   -> report (conflict 2026-11-21 101500 laptop).pdf
//	a.tar.gz     -> a.tar (conflict 2026-11-21 101500 laptop).gz
//	.bashrc      -> .bashrc (conflict 2026-11-21 101500 laptop)
//	Makefile     -> Makefile (conflict 2026-11-21 101500 laptop)
//
// t is formatted in its own location: pass time.Now() (local time, as contract.md asks).
// host goes through HostLabel. While taken reports the candidate as taken, a counter is
// added inside the parentheses after the host: "report (conflict 2026-11-21 101500 laptop
// 2).pdf", then 3, and so on (taken may be nil). The stem is shortened on a UTF-8 boundary
// so the whole name fits MaxNameBytes; the extension is kept unless it alone leaves no
// room, in which case the whole name is treated as the stem.
func ConflictName(name string, t time.Time, host string, taken func(string) bool) string {
	stem, ext := splitExt(name)
	label := "conflict " + t.Format("2006-01-02 150405") + " " + HostLabel(host)
	for n := 1; ; n++ {
		suffix := " (" + label + ")"
		if n > 1 {
			suffix = " (" + label + " " + strconv.Itoa(n) + ")"
		}
		s, e := stem, ext
		if len(suffix)+len(e)+1 > MaxNameBytes {
			s, e = name, ""
		}
		candidate := truncateUTF8(s, MaxNameBytes-len(suffix)-len(e)) + suffix + e
		if taken == nil || !taken(candidate) {
			return candidate
		}
	}
}

// splitExt splits before the last dot, unless the dot starts the name (".bashrc").
func splitExt(name string) (stem, ext string) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 {
		return name, ""
	}
	return name[:i], name[i:]
}

// truncateUTF8 cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncateUTF8(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
