package sync

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/yasyncd/yasyncd/client"
)

// Remote is what the engine needs of the Disk. *client.Client implements it; paths are
// absolute Disk paths ("disk:/Sync/a.txt"). Every method blocks until the server answered
// (asynchronous operations are polled to the end), retries what is safe to retry, and
// returns errors that match the client's sentinels (client.ErrNotFound, ErrMD5Differ...).
type Remote interface {
	// DiskInfo returns quota, max_file_size and the Disk revision.
	DiskInfo(ctx context.Context) (*client.Disk, error)
	// Revision returns only the Disk revision: the cheap "did anything change" probe.
	Revision(ctx context.Context) (int64, error)
	// Stat returns one resource without its children; client.ErrNotFound when absent.
	Stat(ctx context.Context, path string) (*client.Resource, error)
	// Walk lists every resource below root (not root itself), each folder's items in one
	// call of fn; fn is called from one goroutine at a time. client.ErrNotFound if root is absent.
	Walk(ctx context.Context, root string, fn func(client.Resource) error) error
	// Download streams the file's bytes to w, resuming after cut connections; it returns
	// the number of bytes written and client.ErrTruncated when the body ended early.
	Download(ctx context.Context, path string, w io.Writer) (int64, error)
	// Upload streams size bytes of body to path. When body is an io.Seeker a failed
	// attempt is retried with a new link; otherwise it is not retried.
	Upload(ctx context.Context, path string, body io.Reader, size int64, opts client.UploadOptions) (*client.UploadResult, error)
	// Mkdir creates one folder; client.ErrAlreadyExists when taken, client.ErrParentMissing.
	Mkdir(ctx context.Context, path string) error
	// Move renames from to path; never overwrites unless overwrite is set.
	Move(ctx context.Context, from, path string, overwrite bool) error
	// Delete moves path to the Disk trash (opts.MD5 makes it conditional).
	Delete(ctx context.Context, path string, opts client.DeleteOptions) error
	// SetProperties merges custom properties (nil values remove keys) and returns the result.
	SetProperties(ctx context.Context, path string, props map[string]any) (*client.Resource, error)
}

// ErrLocalChanged is returned by Local's conditional operations when the target no longer
// matches what the caller expected: the user edited it meanwhile, so the engine re-plans.
var ErrLocalChanged = errors.New("local file changed")

// LocalEntry is one item of the local tree.
type LocalEntry struct {
	// Path is relative to the root, slash-separated, in the file system's own spelling
	// (not normalised).
	Path  string
	Dir   bool
	Size  int64 // 0 for folders
	Mtime time.Time
	Inode uint64
}

// Same reports whether a and b describe the same unchanged file by the cheap filter
// (type, size, mtime, inode).
func (a LocalEntry) Same(b LocalEntry) bool {
	return a.Dir == b.Dir && a.Size == b.Size && a.Mtime.Equal(b.Mtime) && a.Inode == b.Inode
}

// Local is the synced folder on this machine, confined to its root: no operation follows a
// symlink or reaches outside the root, and nothing under .yasyncd/ is ever listed.
type Local interface {
	// Check reports whether the root folder exists and carries the .yasyncd/ marker that
	// says it is the synced folder (sync-semantics: missing root guard).
	Check() (rootExists, marked bool, err error)
	// Init creates the root (with parents), .yasyncd/{tmp,trash}/ and the marker; idempotent.
	Init() error
	// Prepare empties .yasyncd/tmp/ (transfers of a crashed run) and drops trash entries
	// older than the retention. Called at the start of every pass.
	Prepare(ctx context.Context) error
	// Walk calls fn for every folder and regular file below the root in lexical order of
	// Path, parents before children. Symlinks, devices, sockets and pipes are not passed
	// to fn but to skip with a reason. Errors reading one folder are reported to skip too.
	Walk(ctx context.Context, fn func(LocalEntry) error, skip func(path, reason string)) error
	// Stat describes one path without following a final symlink; fs.ErrNotExist if absent.
	Stat(path string) (LocalEntry, error)
	// Open opens a regular file for reading.
	Open(path string) (io.ReadCloser, error)
	// Hash returns the md5 (hex) of the file's bytes and the entry seen before hashing;
	// ErrLocalChanged if the file changed while it was read.
	Hash(ctx context.Context, path string) (md5 string, e LocalEntry, err error)
	// CreateTemp makes a new file in .yasyncd/tmp/ for a download.
	CreateTemp() (Temp, error)
	// Commit fsyncs tmp, sets its mtime, and renames it to path, but only if path still
	// matches expect (nil: path must not exist); otherwise ErrLocalChanged and tmp is
	// removed. A replaced file goes to the trash first, so no version is lost.
	Commit(tmp Temp, path string, mtime time.Time, expect *LocalEntry) (LocalEntry, error)
	// Mkdir creates one folder (parents must exist); nil if it already exists as a folder.
	Mkdir(path string) (LocalEntry, error)
	// Trash moves path (file or folder) into .yasyncd/trash/<date>/<path> if it still
	// matches expect (folders: still exists as a folder); ErrLocalChanged otherwise.
	Trash(path string, expect LocalEntry) error
	// Rename moves from to to if from still matches expect and to does not exist.
	Rename(from, to string, expect LocalEntry) (LocalEntry, error)
	// SetMtime sets a file's modification time and returns the new entry.
	SetMtime(path string, mtime time.Time) (LocalEntry, error)
}

// Temp is a download in progress.
type Temp interface {
	io.Writer
	// Name is the temp file's path relative to the root.
	Name() string
	// Abort closes and removes the temp file.
	Abort() error
}
