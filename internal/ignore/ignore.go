// Package ignore decides which paths yasyncd leaves alone: gitignore-style patterns from
// the `exclude` setting and from a .yasyncignore file in the local root, on top of a fixed
// set of defaults (yasyncd's private folder, its temp files, editors' temp files).
//
// An excluded path is neither uploaded, downloaded nor deleted on either side; when a
// path becomes excluded it is only forgotten from the state (sync-semantics: filter
// changes). .yasyncignore itself is synced, like .gitignore, so every device shares it.
//
// # Pattern syntax
//
// As in .gitignore (see gitignore(5)), matched against the slash-separated path relative to
// the root after Unicode NFC normalisation:
//
//	*.log          any file or folder named *.log, at any depth
//	/build         only build at the top of the root
//	cache/         folders named cache (and everything under them), not files
//	docs/**/*.tmp  *.tmp at any depth under docs
//	!keep.log      re-include what an earlier pattern excluded
//
// Later patterns win over earlier ones; the order is Defaults, then the `exclude` setting,
// then .yasyncignore. Anything under an excluded folder is excluded. Blank lines and lines
// starting with "#" are skipped, in the setting as in the file; write "\#" for a name
// that starts with "#". The private .yasyncd folder is excluded before any
// pattern is consulted, so no negation can bring it back.
package ignore

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"

	"github.com/yasyncd/yasyncd/internal/pathname"
)

// FileName is the per-root ignore file.
const FileName = ".yasyncignore"

// privateDir is localfs.MetaDir; it is not imported to keep this package free of I/O
// dependencies.
const privateDir = ".yasyncd"

// Defaults are always applied, first (so a user pattern such as "!*~" can re-include one).
// They cover files that exist only while a program works and that would otherwise be
// uploaded and deleted again a moment later, or conflict across devices:
var Defaults = []string{
	"/.yasyncd/",      // yasyncd's private folder (also excluded unconditionally)
	".yasyncd-*",      // yasyncd's own temp files
	"*.swp", ".*.sw?", // vim swap files (.name.swp, .swo, .swn...)
	"4913",             // vim's probe file when checking that a folder is writable
	"*~",               // backups of emacs, gedit, nano and others
	".#*",              // emacs lock files
	`\#*#`,             // emacs auto-save files (a leading "#" would be a comment)
	".~lock.*#",        // LibreOffice lock files
	"~$*",              // Microsoft Office owner files
	"~*.tmp",           // Microsoft Office temp files (~WRL0001.tmp)
	".goutputstream-*", // GNOME (GIO) atomic-save temp files
	"*.kate-swp",       // Kate swap files
	"*.crdownload",     // Chrome downloads in progress
}

// Matcher answers whether a path is excluded. It is immutable and safe for concurrent use.
type Matcher struct {
	m gitignore.Matcher
}

// New builds a Matcher from Defaults, patterns (the `exclude` setting, in order) and the
// ignore file at ignoreFile (a path; a missing file is not an error). A malformed pattern
// is an error naming it and where it came from.
func New(patterns []string, ignoreFile string) (*Matcher, error) {
	var ps []gitignore.Pattern
	add := func(where, p string) error {
		p = strings.TrimSuffix(p, "\r")
		if strings.TrimSpace(p) == "" || strings.HasPrefix(p, "#") {
			return nil
		}
		if err := check(p); err != nil {
			return fmt.Errorf("%s: exclude pattern %q: %w", where, p, err)
		}
		ps = append(ps, gitignore.ParsePattern(pathname.Key(p), nil))
		return nil
	}
	for _, p := range Defaults {
		if err := add("built-in defaults", p); err != nil {
			return nil, err
		}
	}
	for _, p := range patterns {
		if err := add("exclude setting", p); err != nil {
			return nil, err
		}
	}
	if ignoreFile != "" {
		fh, err := os.Open(ignoreFile)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("read %s: %w", ignoreFile, err)
		default:
			defer fh.Close()
			sc := bufio.NewScanner(fh)
			for n := 1; sc.Scan(); n++ {
				if err := add(fmt.Sprintf("%s line %d", ignoreFile, n), sc.Text()); err != nil {
					return nil, err
				}
			}
			if err := sc.Err(); err != nil {
				return nil, fmt.Errorf("read %s: %w", ignoreFile, err)
			}
		}
	}
	return &Matcher{m: gitignore.NewMatcher(ps)}, nil
}

// check refuses what the gitignore package would silently never match: a malformed
// character class, a trailing backslash, a NUL.
func check(p string) error {
	if strings.ContainsRune(p, 0) {
		return errors.New("contains a NUL character")
	}
	body := strings.TrimPrefix(p, "!")
	body = strings.Trim(body, "/")
	if body == "" {
		return errors.New("matches nothing")
	}
	for elem := range strings.SplitSeq(body, "/") {
		if elem == "**" || elem == "" {
			continue
		}
		if _, err := path.Match(elem, ""); err != nil {
			return fmt.Errorf("bad glob %q: %w", elem, err)
		}
	}
	return nil
}

// Match reports whether rel (slash-separated, relative to the root, in any Unicode
// normalisation) is excluded; dir says whether it is a folder.
func (m *Matcher) Match(rel string, dir bool) bool {
	if rel == "" {
		return false
	}
	parts := strings.Split(pathname.Key(rel), "/")
	if parts[0] == privateDir {
		return true
	}
	return m.m.Match(parts, dir)
}
