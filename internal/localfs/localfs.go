// Package localfs is the synced folder on this machine: the implementation of the sync
// engine's Local interface on a real file system.
//
// Every operation goes through an os.Root opened on the folder, so no path (even one that
// names a symlink planted inside the folder) reaches outside it. On top of that, localfs
// never follows a symlink inside the folder either: the final element of a path is checked
// with lstat and every parent element must be a real folder, because a synced path that
// silently resolves somewhere else would be written or trashed in the wrong place.
//
// The folder holds a private area, .yasyncd/, that is never listed or synced:
//
//	.yasyncd/root                  marker: this folder is a yasyncd root
//	.yasyncd/tmp/                  downloads in progress (emptied by Prepare)
//	.yasyncd/trash/YYYY-MM-DD/...  files sync removed or replaced, by day and original path
//
// Writes are atomic: a download is written to tmp/, fsynced, and only then renamed into
// place (the same file system, so a rename), so every path holds either its old or its new
// bytes at every instant. Replacing and deleting are conditional on the target still
// matching what the caller saw, and the old version goes to the trash rather than away.
//
// # Caveats
//
// The conditional operations check and then act; the file system offers no
// compare-and-rename. The remaining window is the few microseconds between the lstat that
// checks the target and the rename that moves it, and is documented on each method. A
// program that keeps a file open and writes into it after it was moved to the trash writes
// into the trashed copy: the bytes are kept, but not at the original path.
//
// os.Root resolves each path element by element and does not follow a symlink out of the
// root, but it does follow one that stays inside; localfs's own parent checks close that,
// again with a check-then-act window.
package localfs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	yasync "github.com/yasyncd/yasyncd/sync"
)

// Names inside the root.
const (
	// MetaDir is the private folder in the root; never listed, never synced.
	MetaDir   = ".yasyncd"
	markerRel = MetaDir + "/root"
	tmpRel    = MetaDir + "/tmp"
	trashRel  = MetaDir + "/trash"

	markerText = "This folder is synced by yasyncd. Do not remove the .yasyncd folder.\nversion: 1\n"

	// tempPrefix starts every temp file's name (ignore.Defaults excludes it too).
	tempPrefix = ".yasyncd-"

	trashDayLayout = "2006-01-02"
)

// Errors callers branch on, besides yasync.ErrLocalChanged.
var (
	// ErrNotRegular is returned for a path that is neither a regular file nor a folder
	// (symbolic link, device, socket, pipe) where a file or folder is needed.
	ErrNotRegular = errors.New("not a regular file or folder")
	// ErrBadPath is returned for a path that is not a clean relative path inside the root
	// or that names the private .yasyncd folder.
	ErrBadPath = errors.New("invalid path")
)

// Options configure New.
type Options struct {
	// TrashDays is how long Prepare keeps trash day-folders; default 30.
	TrashDays int
	// Now is the clock for trash day-folders; default time.Now.
	Now func() time.Time
	// Logger receives housekeeping events; default no logging.
	Logger *zap.Logger
}

// FS is one synced folder. Its methods are safe for concurrent use on different paths.
type FS struct {
	root string
	opts Options
	log  *zap.Logger

	// trashMu serialises picking a free name in the trash, so two workers trashing files
	// with the same path on the same day cannot choose the same name.
	trashMu sync.Mutex
}

// New describes the folder at root, which must be an absolute, clean path. The folder need
// not exist: Check reports it and Init creates it. No file is opened until an operation
// needs it, and none is kept open between operations, so the folder's disk can be
// unmounted while the daemon idles.
func New(root string, opts Options) (*FS, error) {
	if !filepath.IsAbs(root) || filepath.Clean(root) != root {
		return nil, fmt.Errorf("local root %q: must be an absolute, clean path", root)
	}
	if opts.TrashDays <= 0 {
		opts.TrashDays = 30
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	return &FS{root: root, opts: opts, log: opts.Logger}, nil
}

// Root is the folder's absolute path.
func (f *FS) Root() string { return f.root }

// openRoot opens the folder for one operation.
func (f *FS) openRoot() (*os.Root, error) {
	r, err := os.OpenRoot(f.root)
	if err != nil {
		return nil, fmt.Errorf("open local root: %w", err)
	}
	return r, nil
}

// Check reports whether the root exists and carries the marker.
func (f *FS) Check() (rootExists, marked bool, err error) {
	st, err := os.Stat(f.root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, false, nil
	case err != nil:
		return false, false, fmt.Errorf("check local root: %w", err)
	case !st.IsDir():
		return false, false, fmt.Errorf("check local root %s: not a folder", f.root)
	}
	r, err := f.openRoot()
	if err != nil {
		return true, false, err
	}
	defer r.Close()
	st, err = r.Lstat(markerRel)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return true, false, nil
	case err != nil:
		return true, false, fmt.Errorf("check local root marker: %w", err)
	}
	return true, st.Mode().IsRegular(), nil
}

// Init creates the root (with parents), .yasyncd/{tmp,trash}/ and the marker. It is
// idempotent and leaves an existing marker alone.
func (f *FS) Init() error {
	if err := os.MkdirAll(f.root, 0o755); err != nil {
		return fmt.Errorf("create local root: %w", err)
	}
	r, err := f.openRoot()
	if err != nil {
		return err
	}
	defer r.Close()
	for _, d := range []string{MetaDir, tmpRel, trashRel} {
		if err := mkdirReal(r, d, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	if st, err := r.Lstat(markerRel); err == nil && st.Mode().IsRegular() {
		return nil
	}
	// Written to tmp and renamed, so a crash never leaves an empty marker that would pass
	// Check while saying nothing.
	tmp := tmpRel + "/" + tempPrefix + "marker-" + randomName()
	if err := writeSync(r, tmp, []byte(markerText)); err != nil {
		_ = r.Remove(tmp)
		return fmt.Errorf("write marker: %w", err)
	}
	if err := r.Rename(tmp, markerRel); err != nil {
		_ = r.Remove(tmp)
		return fmt.Errorf("write marker: %w", err)
	}
	return syncDir(r, MetaDir)
}

// mkdirReal creates one folder unless a real folder (not a symlink to one) is there.
func mkdirReal(r *os.Root, name string, perm fs.FileMode) error {
	err := r.Mkdir(name, perm)
	if errors.Is(err, fs.ErrExist) {
		st, serr := r.Lstat(name)
		if serr != nil {
			return serr
		}
		if !st.IsDir() {
			return fmt.Errorf("%s exists and is not a folder: %w", name, ErrNotRegular)
		}
		return nil
	}
	return err
}

func writeSync(r *os.Root, name string, data []byte) error {
	fh, err := r.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := fh.Write(data); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

// syncDir fsyncs a folder so a rename into it survives a power cut.
func syncDir(r *os.Root, name string) error {
	d, err := r.Open(name)
	if err != nil {
		return fmt.Errorf("sync folder %s: %w", name, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync folder %s: %w", name, err)
	}
	return nil
}

func randomName() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// Prepare empties .yasyncd/tmp/ and removes trash day-folders older than TrashDays. It
// creates tmp/ and trash/ if they are missing, but never the marker: only Init says a
// folder is the synced one.
func (f *FS) Prepare(ctx context.Context) error {
	r, err := f.openRoot()
	if err != nil {
		return err
	}
	defer r.Close()
	if st, err := r.Lstat(MetaDir); err != nil || !st.IsDir() {
		return fmt.Errorf("prepare local root: %s missing or not a folder (run Init first)", MetaDir)
	}
	for _, d := range []string{tmpRel, trashRel} {
		if err := mkdirReal(r, d, 0o700); err != nil {
			return fmt.Errorf("prepare %s: %w", d, err)
		}
	}

	names, err := readNames(r, tmpRel)
	if err != nil {
		return fmt.Errorf("prepare: list %s: %w", tmpRel, err)
	}
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := tmpRel + "/" + n
		if err := r.RemoveAll(p); err != nil {
			return fmt.Errorf("prepare: remove %s: %w", p, err)
		}
		f.log.Debug("removed leftover temp file", zap.String("path", p))
	}

	names, err = readNames(r, trashRel)
	if err != nil {
		return fmt.Errorf("prepare: list %s: %w", trashRel, err)
	}
	now := f.opts.Now()
	// A day-folder is kept for TrashDays whole days after its day: with 30, what was
	// trashed on 1 November is removed on 2 December.
	cutoff := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location()).AddDate(0, 0, -f.opts.TrashDays)
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		day, err := time.ParseInLocation(trashDayLayout, n, now.Location())
		if err != nil || !day.Before(cutoff) {
			continue // not ours, or still kept
		}
		p := trashRel + "/" + n
		if err := r.RemoveAll(p); err != nil {
			return fmt.Errorf("prepare: remove %s: %w", p, err)
		}
		f.log.Info("removed expired trash", zap.String("path", p))
	}
	return nil
}

func readNames(r *os.Root, dir string) ([]string, error) {
	d, err := r.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}

// CaseInsensitive probes whether the file system under the root folds case, by creating a
// lower-case name in .yasyncd/tmp/ and looking for its upper-case twin. Init must have run.
func (f *FS) CaseInsensitive() (bool, error) {
	r, err := f.openRoot()
	if err != nil {
		return false, err
	}
	defer r.Close()
	name := tempPrefix + "case-probe-" + randomName()
	lower := tmpRel + "/" + name
	fh, err := r.OpenFile(lower, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return false, fmt.Errorf("probe case sensitivity: %w", err)
	}
	fh.Close()
	defer r.Remove(lower)
	_, err = r.Lstat(tmpRel + "/" + strings.ToUpper(name))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("probe case sensitivity: %w", err)
	}
}

// checkRel validates a caller's path: slash-separated, relative, clean, inside the root,
// and not in the private folder (compared without case, since on a case-insensitive file
// system ".YASYNCD" is the same folder).
func checkRel(p string) (string, error) {
	if p == "" || p == "." || !filepath.IsLocal(p) || path.Clean(p) != p || strings.Contains(p, "\x00") {
		return "", fmt.Errorf("%w: %q", ErrBadPath, p)
	}
	first, _, _ := strings.Cut(p, "/")
	if strings.EqualFold(first, MetaDir) {
		return "", fmt.Errorf("%w: %q is in the private %s folder", ErrBadPath, p, MetaDir)
	}
	return filepath.FromSlash(p), nil
}

// checkParents requires every parent element of p to be a real folder, not a symlink,
// so an operation cannot land somewhere else inside the root.
func checkParents(r *os.Root, p string) error { return walkParents(r, p, false) }

// checkExistingParents is checkParents for a path whose missing parents are about to be
// created: it stops at the first missing element (MkdirAll creates real folders from
// there), so MkdirAll is never asked to create folders through a symlink.
func checkExistingParents(r *os.Root, p string) error { return walkParents(r, p, true) }

func walkParents(r *os.Root, p string, allowMissing bool) error {
	for i := 0; i < len(p); i++ {
		if p[i] != filepath.Separator {
			continue
		}
		st, err := r.Lstat(p[:i])
		if allowMissing && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if !st.IsDir() {
			return fmt.Errorf("%s: %w (%s)", filepath.ToSlash(p[:i]), ErrNotRegular, kindOf(st.Mode()))
		}
	}
	return nil
}

// kindOf names what a non-regular file is, for skip reasons and errors.
func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m&fs.ModeDevice != 0, m&fs.ModeCharDevice != 0:
		return "device"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m.IsDir():
		return "folder"
	case m.IsRegular():
		return "file"
	default:
		return "special file"
	}
}

// entryOf converts an lstat result; ErrNotRegular for anything but a file or a folder.
func entryOf(rel string, st fs.FileInfo) (yasync.LocalEntry, error) {
	m := st.Mode()
	if !m.IsRegular() && !m.IsDir() {
		return yasync.LocalEntry{}, fmt.Errorf("%s: %w (%s)", rel, ErrNotRegular, kindOf(m))
	}
	e := yasync.LocalEntry{Path: rel, Dir: m.IsDir(), Mtime: st.ModTime(), Inode: inodeOf(st)}
	if !e.Dir {
		e.Size = st.Size()
	}
	return e, nil
}
