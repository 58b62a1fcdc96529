package emulator

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits from §3.1/§7.
const (
	maxNameChars = 255
	maxPathChars = 32760
)

type area int

const (
	areaDisk area = iota
	areaTrash
)

// rpath is a parsed, validated resource path: which tree it lives in and its name segments.
// Segments are kept byte-exact (§7: names are stored as sent, case-sensitive).
type rpath struct {
	area area
	segs []string
}

func (p rpath) String() string {
	prefix := "disk:/"
	if p.area == areaTrash {
		prefix = "trash:/"
	}
	return prefix + strings.Join(p.segs, "/")
}

func (p rpath) isRoot() bool { return len(p.segs) == 0 }

func (p rpath) parent() rpath {
	if p.isRoot() {
		return p
	}
	return rpath{area: p.area, segs: p.segs[:len(p.segs)-1]}
}

func (p rpath) name() string {
	if p.isRoot() {
		if p.area == areaTrash {
			return "trash"
		}
		return "disk"
	}
	return p.segs[len(p.segs)-1]
}

func (p rpath) child(name string) rpath {
	segs := make([]string, len(p.segs), len(p.segs)+1)
	copy(segs, p.segs)
	return rpath{area: p.area, segs: append(segs, name)}
}

// within reports whether p is q or lies inside q's subtree.
func (p rpath) within(q rpath) bool {
	if p.area != q.area || len(p.segs) < len(q.segs) {
		return false
	}
	for i, s := range q.segs {
		if p.segs[i] != s {
			return false
		}
	}
	return true
}

// pathError says why a path was refused; it becomes a 400 FieldValidationError.
type pathError struct{ reason string }

func (e *pathError) Error() string { return e.reason }

// parsePath implements §7. want is the tree the endpoint works on: the Disk endpoints accept
// `disk:`, `app:` and scheme-less paths; the trash endpoints accept `trash:` and scheme-less
// paths relative to the trash root (§2.6). appDir is where `app:/` points (§5.7).
func parsePath(raw string, want area, appDir []string) (rpath, error) {
	if raw == "" {
		return rpath{}, &pathError{"path is required"}
	}
	if utf8.RuneCountInString(raw) > maxPathChars {
		return rpath{}, &pathError{"path is too long"}
	}
	rest := raw
	p := rpath{area: want}
	var prefix []string
	switch {
	case strings.HasPrefix(raw, "disk:"):
		if want != areaDisk {
			return rpath{}, &pathError{"disk: path where a trash: path is expected"}
		}
		rest = raw[len("disk:"):]
	case strings.HasPrefix(raw, "app:"):
		if want != areaDisk {
			return rpath{}, &pathError{"app: path where a trash: path is expected"}
		}
		rest = raw[len("app:"):]
		prefix = appDir
	case strings.HasPrefix(raw, "trash:"):
		if want != areaTrash {
			return rpath{}, &pathError{"trash: paths are served by /v1/disk/trash/resources"}
		}
		rest = raw[len("trash:"):]
	default:
		// §7: a ':' in a scheme-less path is read as an unknown scheme and refused.
		if strings.Contains(raw, ":") {
			return rpath{}, &pathError{fmt.Sprintf("unknown scheme in path %q", raw)}
		}
	}
	segs := append([]string(nil), prefix...)
	for _, s := range strings.Split(rest, "/") {
		if s == "" {
			continue // leading, trailing (§7) and doubled slashes
		}
		if err := checkName(s); err != nil {
			return rpath{}, err
		}
		segs = append(segs, s)
	}
	p.segs = segs
	return p, nil
}

// checkName applies the name rules of §7.
func checkName(s string) error {
	if s == "." || s == ".." {
		return &pathError{"path segments . and .. are not allowed"}
	}
	if !utf8.ValidString(s) {
		return &pathError{"name is not valid UTF-8"}
	}
	if utf8.RuneCountInString(s) > maxNameChars {
		return &pathError{"name is longer than 255 characters"}
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return &pathError{"name contains a control character"}
		}
	}
	return nil
}
