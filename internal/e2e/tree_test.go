package e2e

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"golang.org/x/text/unicode/norm"
)

// Node is one entry of a Tree: a folder, or a file known by the md5 of its bytes.
type Node struct {
	Dir  bool
	Hash string // lowercase hex md5; "" for folders
	Size int64
}

func (n Node) String() string {
	if n.Dir {
		return "dir"
	}
	return labels.of(n.Hash)
}

// Tree is one side's files and folders by path relative to the synced root, slash separated
// and NFC-normalised (sync-semantics: names are compared in NFC), so a local and a remote
// tree compare with ==. Excluded paths (.yasyncd/) are never in it.
type Tree map[string]Node

// hashOf is the content identity the whole package uses: the md5 the Disk API reports.
func hashOf(data []byte) string {
	sum := md5.Sum(data)
	return hex.EncodeToString(sum[:])
}

// key normalises a path for comparisons.
func key(p string) string { return norm.NFC.String(p) }

// Files returns the paths of t's files, sorted.
func (t Tree) Files() []string {
	var out []string
	for p, n := range t {
		if !n.Dir {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// Paths returns every path of t, sorted.
func (t Tree) Paths() []string {
	out := make([]string, 0, len(t))
	for p := range t {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Contents returns the set of file contents (hashes) in t.
func (t Tree) Contents() map[string]bool {
	out := make(map[string]bool, len(t))
	for _, n := range t {
		if !n.Dir {
			out[n.Hash] = true
		}
	}
	return out
}

// Clone returns a copy of t.
func (t Tree) Clone() Tree {
	out := make(Tree, len(t))
	for p, n := range t {
		out[p] = n
	}
	return out
}

// String renders the tree one path a line, for failure messages.
func (t Tree) String() string {
	var b strings.Builder
	for _, p := range t.Paths() {
		n := t[p]
		if n.Dir {
			fmt.Fprintf(&b, "  %s/\n", p)
		} else {
			fmt.Fprintf(&b, "  %s = %s\n", p, labels.of(n.Hash))
		}
	}
	if b.Len() == 0 {
		return "  (empty)\n"
	}
	return b.String()
}

// diffTrees lists the paths where a and b differ, one a line, for failure messages.
func diffTrees(aName string, a Tree, bName string, b Tree) string {
	all := map[string]bool{}
	for p := range a {
		all[p] = true
	}
	for p := range b {
		all[p] = true
	}
	var ps []string
	for p := range all {
		if an, bn := a[p], b[p]; an != bn || hasKey(a, p) != hasKey(b, p) {
			ps = append(ps, p)
		}
	}
	sort.Strings(ps)
	var sb strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&sb, "  %-40q %s=%-14s %s=%s\n", p, aName, describe(a, p), bName, describe(b, p))
	}
	return sb.String()
}

func hasKey(t Tree, p string) bool { _, ok := t[p]; return ok }

func describe(t Tree, p string) string {
	n, ok := t[p]
	if !ok {
		return "-"
	}
	return n.String()
}

// dataDir is the local root's own folder, never synced (contract "Files").
const dataDir = ".yasyncd"

// snapshotLocal reads the local tree below root, leaving out .yasyncd/. A missing root is
// an empty tree.
func snapshotLocal(root string) (Tree, error) { return readLocal(root, key) }

// rawLocal is snapshotLocal with the file system's own spelling of each path, for the
// operations that must name existing files.
func rawLocal(root string) (Tree, error) {
	return readLocal(root, func(p string) string { return p })
}

func readLocal(root string, key func(string) string) (Tree, error) {
	t := Tree{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == dataDir {
			return fs.SkipDir
		}
		switch {
		case d.IsDir():
			t[key(rel)] = Node{Dir: true}
		case d.Type().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			t[key(rel)] = Node{Hash: hashOf(data), Size: int64(len(data))}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("snapshot local %s: %w", root, err)
	}
	return t, nil
}

// snapshotLocalTrash returns the contents of every file in the local trash
// (.yasyncd/trash/, contract "Files") with the paths they have there.
func snapshotLocalTrash(root string) (map[string]bool, error) {
	out := map[string]bool{}
	dir := filepath.Join(root, dataDir, "trash")
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if d.Type().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[hashOf(data)] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("snapshot local trash: %w", err)
	}
	return out, nil
}

// localTempFiles lists what is left in .yasyncd/tmp/.
func localTempFiles(root string) []string {
	ents, _ := os.ReadDir(filepath.Join(root, dataDir, "tmp"))
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// conflictName matches the contract's conflict copy names:
// `name (conflict YYYY-MM-DD HHMMSS HOST[ N]).ext`, the suffix before the last extension
// or at the end for names like `.bashrc` and `Makefile`.
var conflictName = regexp.MustCompile(`^(.*) \(conflict \d{4}-\d{2}-\d{2} \d{6} [^ ()/]+(?: \d+)?\)(\.[^./]*)?$`)

// isConflictCopy reports whether the last element of p is a conflict copy name.
func isConflictCopy(p string) bool { return conflictName.MatchString(path.Base(p)) }

// conflictOriginal returns the path a conflict copy was made from, and false when p is
// not a conflict copy name.
func conflictOriginal(p string) (string, bool) {
	m := conflictName.FindStringSubmatch(path.Base(p))
	if m == nil {
		return "", false
	}
	name := m[1] + m[2]
	if dir := path.Dir(p); dir != "." {
		return dir + "/" + name, true
	}
	return name, true
}

// contentLabels gives every content the tests write a short readable name, so failure
// messages say "c17" or "c17(edit L a.txt)" instead of a hash.
type contentLabels struct {
	mu    sync.Mutex
	names map[string]string
}

var labels = &contentLabels{names: map[string]string{hashOf(nil): "empty"}}

func (l *contentLabels) set(hash, name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.names[hash]; !ok {
		l.names[hash] = name
	}
}

func (l *contentLabels) of(hash string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n, ok := l.names[hash]; ok {
		return n
	}
	if len(hash) > 8 {
		return "?" + hash[:8]
	}
	return "?" + hash
}
