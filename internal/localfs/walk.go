package localfs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	yasync "github.com/yasyncd/yasyncd/sync"
)

// walkItem is one step of a folder's visit. A folder appears twice: once under its own
// name (report it) and once under name+"/" (descend into it), because byte order of whole
// paths puts "a" < "a.txt" < "a/x": a sibling can sort between a folder and its children.
type walkItem struct {
	key     string // sort key: name, or name+"/" for the descent
	entry   yasync.LocalEntry
	descend bool
}

// Walk calls fn for every folder and regular file below the root, in byte order of the
// whole slash-separated Path (the order the state database and a sorted remote listing
// use), which also puts every folder before its children. Symlinks, devices, sockets and
// pipes go to skip with a reason and are never followed. A folder that cannot be read is
// not passed to fn at all but to skip ("unreadable folder: ..."), so that the caller can
// tell "unknown" from "deleted" for everything below it. The private .yasyncd folder is
// left out. Walk stops at fn's first error, or when ctx is cancelled.
func (f *FS) Walk(ctx context.Context, fn func(yasync.LocalEntry) error, skip func(path, reason string)) error {
	r, err := f.openRoot()
	if err != nil {
		return err
	}
	defer r.Close()
	items, err := f.readDir(r, "", skip)
	if err != nil {
		return fmt.Errorf("walk local root: %w", err)
	}
	return f.walkItems(ctx, r, items, fn, skip)
}

func (f *FS) walkItems(ctx context.Context, r *os.Root, items []walkItem, fn func(yasync.LocalEntry) error, skip func(path, reason string)) error {
	// Children are read when their folder is reported, not when it is descended into, so
	// that an unreadable folder is known before it would be passed to fn.
	children := make(map[string][]walkItem)
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return err
		}
		if it.descend {
			sub := children[it.entry.Path]
			delete(children, it.entry.Path)
			if err := f.walkItems(ctx, r, sub, fn, skip); err != nil {
				return err
			}
			continue
		}
		if it.entry.Dir {
			sub, err := f.readDir(r, it.entry.Path, skip)
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed since its parent was listed: a plain delete
			}
			if err != nil {
				skip(it.entry.Path, "unreadable folder: "+errText(err))
				continue
			}
			children[it.entry.Path] = sub
		}
		if err := fn(it.entry); err != nil {
			return err
		}
	}
	return nil
}

// readDir lists one folder as sorted walk items; entries that are not files or folders
// are reported to skip here.
func (f *FS) readDir(r *os.Root, dir string, skip func(path, reason string)) ([]walkItem, error) {
	name := "."
	if dir != "" {
		name = dir
	}
	d, err := r.Open(name)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	// Opened through os.Root, ReadDir lstat()s each entry relative to the folder's own
	// descriptor, so Info below never follows a symlink.
	des, err := d.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	items := make([]walkItem, 0, len(des)+len(des)/4)
	for _, de := range des {
		n := de.Name()
		rel := n
		if dir != "" {
			rel = dir + "/" + n
		} else if n == MetaDir {
			continue
		} else if strings.EqualFold(n, MetaDir) {
			skip(rel, "reserved name")
			continue
		}
		st, err := de.Info()
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) { // gone since the listing: nothing to report
				skip(rel, "unreadable: "+errText(err))
			}
			continue
		}
		e, err := entryOf(rel, st)
		if err != nil {
			skip(rel, kindOf(st.Mode()))
			continue
		}
		items = append(items, walkItem{key: n, entry: e})
		if e.Dir {
			items = append(items, walkItem{key: n + "/", entry: e, descend: true})
		}
	}
	slices.SortFunc(items, func(a, b walkItem) int { return strings.Compare(a.key, b.key) })
	return items, nil
}

// errText is the cause without the path os adds, which the caller already reports.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
