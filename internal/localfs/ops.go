package localfs

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	stdsync "sync"
	"time"

	"go.uber.org/zap"

	yasync "github.com/yasyncd/yasyncd/sync"
)

// Test hooks into the check-then-act windows; nil outside tests.
var (
	testHookBeforeTrash func(rel string) // after the caller's check, before the rename
	testHookHashed      func(rel string) // after the last read, before the re-check
)

// changed wraps yasync.ErrLocalChanged with what was seen, for the log and the report.
func changed(rel, what string) error {
	return fmt.Errorf("%s: %s: %w", rel, what, yasync.ErrLocalChanged)
}

// lstat describes rel after checking that every parent is a real folder.
func lstat(r *os.Root, rel, osp string) (yasync.LocalEntry, error) {
	if err := checkParents(r, osp); err != nil {
		return yasync.LocalEntry{}, err
	}
	st, err := r.Lstat(osp)
	if err != nil {
		return yasync.LocalEntry{}, err
	}
	return entryOf(rel, st)
}

// matches is the precondition of the conditional operations: a file must be unchanged by
// the cheap filter; a folder must still be a folder (its mtime moves whenever an entry is
// added, which is not a change of the folder), and the same folder when the inode is known.
func matches(cur, expect yasync.LocalEntry) bool {
	if expect.Dir {
		return cur.Dir && (expect.Inode == 0 || cur.Inode == expect.Inode)
	}
	return cur.Same(expect)
}

// Stat describes one path without following a final symlink: fs.ErrNotExist when absent,
// ErrNotRegular for a symlink, device, socket or pipe.
func (f *FS) Stat(rel string) (yasync.LocalEntry, error) {
	osp, err := checkRel(rel)
	if err != nil {
		return yasync.LocalEntry{}, err
	}
	r, err := f.openRoot()
	if err != nil {
		return yasync.LocalEntry{}, err
	}
	defer r.Close()
	e, err := lstat(r, rel, osp)
	if err != nil {
		return yasync.LocalEntry{}, fmt.Errorf("stat %s: %w", rel, err)
	}
	return e, nil
}

// openRegular opens rel for reading and returns the entry it saw. The descriptor is
// checked against the lstat that preceded it, so a file swapped for a symlink (which
// os.Root would follow inside the root) in between is refused.
func openRegular(r *os.Root, rel, osp string) (*os.File, yasync.LocalEntry, error) {
	e, err := lstat(r, rel, osp)
	if err != nil {
		return nil, e, err
	}
	if e.Dir {
		return nil, e, fmt.Errorf("%s: is a folder: %w", rel, ErrNotRegular)
	}
	fh, err := r.OpenFile(osp, openReadFlags, 0)
	if err != nil {
		return nil, e, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, e, err
	}
	opened, err := entryOf(rel, st)
	if err != nil || !opened.Same(e) {
		fh.Close()
		return nil, e, changed(rel, "replaced while it was opened")
	}
	return fh, e, nil
}

// Open opens a regular file for reading; the result is an *os.File (an io.Seeker, so an
// upload can be retried).
func (f *FS) Open(rel string) (io.ReadCloser, error) {
	osp, err := checkRel(rel)
	if err != nil {
		return nil, err
	}
	r, err := f.openRoot()
	if err != nil {
		return nil, err
	}
	defer r.Close() // the open file does not depend on the root's descriptor
	fh, _, err := openRegular(r, rel, osp)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", rel, err)
	}
	return fh, nil
}

const hashBuf = 256 << 10

// hashBufs recycles read buffers: a first sync hashes every file, and a fresh 256 KiB
// buffer per small file made hashing the largest allocator of the whole pass.
var hashBufs = stdsync.Pool{New: func() any { b := make([]byte, hashBuf); return &b }}

// Hash reads the file and returns its md5 (lowercase hex) and the entry seen before
// reading. If size, mtime or inode differ afterwards, by the open descriptor or by the
// path, the file changed while it was read: yasync.ErrLocalChanged. ctx is checked between
// reads.
func (f *FS) Hash(ctx context.Context, rel string) (string, yasync.LocalEntry, error) {
	osp, err := checkRel(rel)
	if err != nil {
		return "", yasync.LocalEntry{}, err
	}
	r, err := f.openRoot()
	if err != nil {
		return "", yasync.LocalEntry{}, err
	}
	defer r.Close()
	fh, before, err := openRegular(r, rel, osp)
	if err != nil {
		return "", yasync.LocalEntry{}, fmt.Errorf("hash %s: %w", rel, err)
	}
	defer fh.Close()
	h := md5.New()
	bp := hashBufs.Get().(*[]byte)
	defer hashBufs.Put(bp)
	buf := *bp
	for {
		if err := ctx.Err(); err != nil {
			return "", yasync.LocalEntry{}, err
		}
		n, err := fh.Read(buf)
		h.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", yasync.LocalEntry{}, fmt.Errorf("hash %s: %w", rel, err)
		}
	}
	if testHookHashed != nil {
		testHookHashed(rel)
	}
	st, err := fh.Stat()
	if err != nil {
		return "", yasync.LocalEntry{}, fmt.Errorf("hash %s: %w", rel, err)
	}
	if after, err := entryOf(rel, st); err != nil || !after.Same(before) {
		return "", yasync.LocalEntry{}, changed(rel, "written while it was hashed")
	}
	if after, err := lstat(r, rel, osp); err != nil || !after.Same(before) {
		return "", yasync.LocalEntry{}, changed(rel, "replaced while it was hashed")
	}
	return hex.EncodeToString(h.Sum(nil)), before, nil
}

// tempFile is a download in progress in .yasyncd/tmp/.
type tempFile struct {
	owner *FS
	f     *os.File
	rel   string
}

func (t *tempFile) Write(p []byte) (int, error) { return t.f.Write(p) }

// Name is the temp file's path relative to the root.
func (t *tempFile) Name() string { return t.rel }

// Abort closes and removes the temp file.
func (t *tempFile) Abort() error {
	cerr := t.f.Close()
	if errors.Is(cerr, os.ErrClosed) {
		cerr = nil
	}
	r, err := t.owner.openRoot()
	if err != nil {
		return err
	}
	defer r.Close()
	if err := r.Remove(filepath.FromSlash(t.rel)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove temp file %s: %w", t.rel, err)
	}
	if cerr != nil {
		return fmt.Errorf("close temp file %s: %w", t.rel, cerr)
	}
	return nil
}

// CreateTemp makes a new, empty file in .yasyncd/tmp/ (Init must have run). Its mode is
// 0666 less the umask, as for any new file: the private 0700 tmp folder keeps it from
// other users while it is written.
func (f *FS) CreateTemp() (yasync.Temp, error) {
	r, err := f.openRoot()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	rel := tmpRel + "/" + tempPrefix + "dl-" + randomName()
	fh, err := r.OpenFile(filepath.FromSlash(rel), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return nil, fmt.Errorf("create temp file: %w", err)
	}
	return &tempFile{owner: f, f: fh, rel: rel}, nil
}

// Commit fsyncs tmp, sets its mtime and moves it to rel, only if rel still matches
// expect (nil: rel must not exist); otherwise yasync.ErrLocalChanged. tmp is consumed:
// closed, and removed unless it became rel. Missing parent folders of rel are created.
//
// With expect nil, the new file is hard-linked into place, which fails if anything appeared
// at rel meanwhile: no window at all. (Where hard links are not supported, such as FAT,
// it falls back to lstat then rename, with a window of microseconds.)
//
// With expect set, the old file is first renamed into the trash (the window is between
// the lstat that compares it and that rename), then checked again in the trash, and put
// back if it was written in that window; then the new file is linked into place as above.
// If someone created a new file at rel after the old one went to the trash, theirs is
// kept, the old version stays in the trash, and the result is ErrLocalChanged.
func (f *FS) Commit(tmp yasync.Temp, rel string, mtime time.Time, expect *yasync.LocalEntry) (e yasync.LocalEntry, err error) {
	t, ok := tmp.(*tempFile)
	if !ok || t.owner != f {
		return yasync.LocalEntry{}, fmt.Errorf("commit %s: temp file %q does not belong to this folder", rel, tmp.Name())
	}
	defer func() {
		if err != nil {
			_ = t.Abort()
			err = fmt.Errorf("commit %s: %w", rel, err)
		}
	}()
	osp, err := checkRel(rel)
	if err != nil {
		return yasync.LocalEntry{}, err
	}
	if err := t.f.Sync(); err != nil {
		return yasync.LocalEntry{}, err
	}
	if err := t.f.Close(); err != nil {
		return yasync.LocalEntry{}, err
	}
	r, err := f.openRoot()
	if err != nil {
		return yasync.LocalEntry{}, err
	}
	defer r.Close()
	tosp := filepath.FromSlash(t.rel)
	// A zero atime leaves it unchanged.
	if err := r.Chtimes(tosp, time.Time{}, mtime); err != nil {
		return yasync.LocalEntry{}, err
	}
	dir := filepath.Dir(osp)
	if err := mkdirParents(r, osp); err != nil {
		return yasync.LocalEntry{}, err
	}

	if expect != nil {
		cur, err := lstat(r, rel, osp)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return yasync.LocalEntry{}, changed(rel, "removed since it was scanned")
		case errors.Is(err, ErrNotRegular):
			return yasync.LocalEntry{}, changed(rel, err.Error())
		case err != nil:
			return yasync.LocalEntry{}, err
		case !matches(cur, *expect):
			return yasync.LocalEntry{}, changed(rel, "modified since it was scanned")
		}
		if err := f.trashChecked(r, rel, osp, *expect); err != nil {
			return yasync.LocalEntry{}, err
		}
	}

	if err := placeNoReplace(r, tosp, osp); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return yasync.LocalEntry{}, changed(rel, "created since it was scanned")
		}
		return yasync.LocalEntry{}, err
	}
	if err := syncDir(r, dir); err != nil {
		return yasync.LocalEntry{}, err
	}
	st, err := r.Lstat(osp)
	if err != nil {
		return yasync.LocalEntry{}, err
	}
	return entryOf(rel, st)
}

// mkdirParents creates the missing parent folders of osp, all real folders.
func mkdirParents(r *os.Root, osp string) error {
	if err := checkExistingParents(r, osp); err != nil {
		return err
	}
	if dir := filepath.Dir(osp); dir != "." {
		if err := r.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return checkParents(r, osp)
}

// placeNoReplace moves from to to, failing with fs.ErrExist if to exists. A hard link
// is atomic about that; rename(2) would silently replace.
func placeNoReplace(r *os.Root, from, to string) error {
	err := r.Link(from, to)
	if err == nil {
		if err := r.Remove(from); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	if errors.Is(err, fs.ErrExist) || errors.Is(err, fs.ErrNotExist) {
		return err
	}
	// No hard links here (EPERM on FAT, ENOTSUP on some FUSE file systems).
	if _, serr := r.Lstat(to); serr == nil {
		return fs.ErrExist
	} else if !errors.Is(serr, fs.ErrNotExist) {
		return serr
	}
	return r.Rename(from, to)
}

// Mkdir creates one folder (its parent must exist); it succeeds if a folder is already
// there, and fails with ErrNotRegular if something else is.
func (f *FS) Mkdir(rel string) (yasync.LocalEntry, error) {
	osp, err := checkRel(rel)
	if err != nil {
		return yasync.LocalEntry{}, err
	}
	r, err := f.openRoot()
	if err != nil {
		return yasync.LocalEntry{}, err
	}
	defer r.Close()
	if err := checkParents(r, osp); err != nil {
		return yasync.LocalEntry{}, fmt.Errorf("mkdir %s: %w", rel, err)
	}
	if err := r.Mkdir(osp, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return yasync.LocalEntry{}, fmt.Errorf("mkdir %s: %w", rel, err)
	}
	st, err := r.Lstat(osp)
	if err != nil {
		return yasync.LocalEntry{}, fmt.Errorf("mkdir %s: %w", rel, err)
	}
	if !st.IsDir() {
		return yasync.LocalEntry{}, fmt.Errorf("mkdir %s: a %s is in the way: %w", rel, kindOf(st.Mode()), ErrNotRegular)
	}
	return entryOf(rel, st)
}

// Trash moves rel (file or folder) into .yasyncd/trash/<today>/<rel> if it still matches
// expect: a file unchanged by the cheap filter, a folder still a folder. Otherwise
// yasync.ErrLocalChanged (also matching fs.ErrNotExist when rel is gone). A file written
// in the instant between the check and the move is put back.
func (f *FS) Trash(rel string, expect yasync.LocalEntry) error {
	osp, err := checkRel(rel)
	if err != nil {
		return err
	}
	r, err := f.openRoot()
	if err != nil {
		return err
	}
	defer r.Close()
	cur, err := lstat(r, rel, osp)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("trash %s: %w (%w)", rel, yasync.ErrLocalChanged, fs.ErrNotExist)
	case errors.Is(err, ErrNotRegular):
		return fmt.Errorf("trash %s: %w (%w)", rel, yasync.ErrLocalChanged, err)
	case err != nil:
		return fmt.Errorf("trash %s: %w", rel, err)
	}
	if expect.Dir {
		if !cur.Dir {
			return fmt.Errorf("trash %s: %w", rel, changed(rel, "no longer a folder"))
		}
		// "Still a folder" is the contract: the caller decided that nothing under it is
		// unsynced, and whatever is there goes to the trash whole, so nothing is lost.
		expect = yasync.LocalEntry{Dir: true}
	} else if !cur.Same(expect) {
		return fmt.Errorf("trash %s: %w", rel, changed(rel, "modified since it was scanned"))
	}
	if err := f.trashChecked(r, rel, osp, expect); err != nil {
		return fmt.Errorf("trash %s: %w", rel, err)
	}
	return syncDir(r, filepath.Dir(osp))
}

// trashChecked renames rel into the trash, then compares the trashed item with expect
// again: a write that slipped in between the caller's check and the rename means the item
// holds unsynced bytes, so it goes back (unless rel was re-created meanwhile, in which
// case it stays safe in the trash) and the result is ErrLocalChanged.
func (f *FS) trashChecked(r *os.Root, rel, osp string, expect yasync.LocalEntry) error {
	if testHookBeforeTrash != nil {
		testHookBeforeTrash(rel)
	}
	dest, err := f.moveToTrash(r, osp)
	if err != nil {
		return err
	}
	f.log.Debug("moved to local trash", zap.String("path", rel), zap.String("op", "trash"))
	st, err := r.Lstat(dest)
	if err != nil {
		return err
	}
	now, err := entryOf(rel, st)
	if err == nil && matches(now, expect) {
		return nil
	}
	if rerr := placeNoReplace(r, dest, osp); rerr != nil && !now.Dir {
		f.log.Warn("changed file left in local trash", zap.String("path", rel), zap.String("op", "trash"), zap.Error(rerr))
	}
	return changed(rel, "modified while it was moved to the trash")
}

// moveToTrash renames osp to .yasyncd/trash/<day>/<osp> and returns the new name. A
// name already taken in the trash gets " (2)", " (3)"... before its extension; that
// includes a parent: when "a" (a file) was trashed earlier the same day and now "a/b.txt"
// is, the latter goes to "a (2)/b.txt".
func (f *FS) moveToTrash(r *os.Root, osp string) (string, error) {
	day := filepath.Join(filepath.FromSlash(trashRel), f.opts.Now().Format(trashDayLayout))
	f.trashMu.Lock()
	defer f.trashMu.Unlock()
	if err := mkdirReal(r, filepath.FromSlash(trashRel), 0o700); err != nil {
		return "", fmt.Errorf("create trash folder: %w", err)
	}
	if err := mkdirReal(r, day, 0o700); err != nil {
		return "", fmt.Errorf("create trash folder: %w", err)
	}
	dir := day
	parts := strings.Split(osp, string(filepath.Separator))
	for _, p := range parts[:len(parts)-1] {
		base := filepath.Join(dir, p)
		cand := base
		for n := 2; ; n++ {
			err := r.Mkdir(cand, 0o700)
			if err == nil {
				break
			}
			if !errors.Is(err, fs.ErrExist) {
				return "", fmt.Errorf("create trash folder: %w", err)
			}
			st, err := r.Lstat(cand)
			if err != nil {
				return "", fmt.Errorf("create trash folder: %w", err)
			}
			if st.IsDir() {
				break
			}
			cand = numbered(base, n)
		}
		dir = cand
	}
	base := filepath.Join(dir, parts[len(parts)-1])
	dest := base
	for n := 2; ; n++ {
		_, err := r.Lstat(dest)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return "", err
		}
		dest = numbered(base, n)
	}
	if err := r.Rename(osp, dest); err != nil {
		return "", err
	}
	return dest, nil
}

// numbered inserts " (n)" before the extension of p's last element.
func numbered(p string, n int) string {
	dir, name := filepath.Split(p)
	ext := path.Ext(name)
	if ext == name { // ".bashrc"
		ext = ""
	}
	return dir + strings.TrimSuffix(name, ext) + " (" + strconv.Itoa(n) + ")" + ext
}

// Rename moves from to to if from still matches expect (a folder: still the same folder)
// and to does not exist (fs.ErrExist otherwise); parents of to are created. A rename that
// only changes case on a case-insensitive file system is allowed. The window between
// checking to and renaming is microseconds; a file created there by someone else would
// be replaced by the rename.
func (f *FS) Rename(from, to string, expect yasync.LocalEntry) (yasync.LocalEntry, error) {
	fosp, err := checkRel(from)
	if err != nil {
		return yasync.LocalEntry{}, err
	}
	tosp, err := checkRel(to)
	if err != nil {
		return yasync.LocalEntry{}, err
	}
	r, err := f.openRoot()
	if err != nil {
		return yasync.LocalEntry{}, err
	}
	defer r.Close()
	wrap := func(err error) error { return fmt.Errorf("rename %s to %s: %w", from, to, err) }
	cur, err := lstat(r, from, fosp)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return yasync.LocalEntry{}, wrap(fmt.Errorf("%w (%w)", yasync.ErrLocalChanged, fs.ErrNotExist))
	case errors.Is(err, ErrNotRegular):
		return yasync.LocalEntry{}, wrap(fmt.Errorf("%w (%w)", yasync.ErrLocalChanged, err))
	case err != nil:
		return yasync.LocalEntry{}, wrap(err)
	case !matches(cur, expect):
		return yasync.LocalEntry{}, wrap(changed(from, "modified since it was scanned"))
	}
	if err := mkdirParents(r, tosp); err != nil {
		return yasync.LocalEntry{}, wrap(err)
	}
	if st, err := r.Lstat(tosp); err == nil {
		// The one exception: a case-only rename on a case-insensitive file system finds
		// the source itself at the target.
		caseOnly := strings.EqualFold(from, to) && inodeOf(st) != 0 && inodeOf(st) == cur.Inode
		if !caseOnly {
			return yasync.LocalEntry{}, wrap(fs.ErrExist)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return yasync.LocalEntry{}, wrap(err)
	}
	if err := r.Rename(fosp, tosp); err != nil {
		return yasync.LocalEntry{}, wrap(err)
	}
	if err := syncDir(r, filepath.Dir(tosp)); err != nil {
		return yasync.LocalEntry{}, wrap(err)
	}
	st, err := r.Lstat(tosp)
	if err != nil {
		return yasync.LocalEntry{}, wrap(err)
	}
	return entryOf(to, st)
}

// SetMtime sets the modification time of a file or folder (not through a symlink) and
// returns the new entry.
func (f *FS) SetMtime(rel string, mtime time.Time) (yasync.LocalEntry, error) {
	osp, err := checkRel(rel)
	if err != nil {
		return yasync.LocalEntry{}, err
	}
	r, err := f.openRoot()
	if err != nil {
		return yasync.LocalEntry{}, err
	}
	defer r.Close()
	before, err := lstat(r, rel, osp)
	if err != nil {
		return yasync.LocalEntry{}, fmt.Errorf("set mtime %s: %w", rel, err)
	}
	if err := r.Chtimes(osp, time.Time{}, mtime); err != nil {
		return yasync.LocalEntry{}, fmt.Errorf("set mtime %s: %w", rel, err)
	}
	after, err := lstat(r, rel, osp)
	if err != nil {
		return yasync.LocalEntry{}, fmt.Errorf("set mtime %s: %w", rel, err)
	}
	if after.Inode != before.Inode {
		return yasync.LocalEntry{}, fmt.Errorf("set mtime %s: %w", rel, changed(rel, "replaced meanwhile"))
	}
	return after, nil
}
