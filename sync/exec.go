package sync

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/yasyncd/yasyncd/client"
	"github.com/yasyncd/yasyncd/internal/pathname"
	"github.com/yasyncd/yasyncd/state"
)

// Per-path outcomes that are not the path's own fault.
var (
	errDepFailed     = errors.New("a folder it needs could not be prepared")
	errRemoteChanged = errors.New("the remote file changed since it was listed; re-planned on the next pass")
	errLocalChanged  = errors.New("the local file changed meanwhile; re-planned on the next pass")
	errUnstable      = errors.New("the file kept changing during the upload; retried on the next pass")
	errMismatch      = errors.New("transferred bytes do not match the listing")
)

// propsRetryDelay is the wait before retrying a custom-property PATCH that hit the Disk
// while it was finalising the upload (API document §9 item 1).
var propsRetryDelay = 2 * time.Second

// executor runs a plan's jobs with a bounded pool of workers.
type executor struct {
	e        *Engine
	rep      *Report
	mu       sync.Mutex // guards rep
	diskFull atomic.Bool
	fatal    error // an error that ends the pass (unauthorized); set under mu
	cancel   context.CancelFunc
}

// run executes the jobs in plan order. A job waits for the jobs it depends on (its
// parent folder's mkdir or move, the rename of a conflict); since every dependency comes
// earlier in the order and a job only takes a worker slot after all earlier jobs took
// theirs, waiting never deadlocks. One failing path never stops the others.
func (x *executor) run(ctx context.Context, jobs []*Job) error {
	ctx, x.cancel = context.WithCancel(ctx)
	defer x.cancel()
	var g errgroup.Group
	g.SetLimit(x.e.o.Transfers)
	for _, j := range jobs {
		g.Go(func() error {
			defer close(j.done)
			for _, d := range j.deps {
				select {
				case <-d.done:
				case <-ctx.Done():
					j.err = ctx.Err()
					return nil
				}
				if d.err != nil {
					j.err = fmt.Errorf("%s %s: %w", j.Op, j.Key, errDepFailed)
					if x.e.o.Progress != nil {
						x.e.o.Progress.JobDone(j, j.err)
					}
					x.fail(j, j.err)
					return nil
				}
			}
			if ctx.Err() != nil {
				j.err = ctx.Err()
				return nil
			}
			x.runJob(ctx, j)
			return nil
		})
	}
	_ = g.Wait()
	if x.fatal != nil {
		return x.fatal
	}
	if err := ctx.Err(); err != nil && x.fatal == nil {
		return err
	}
	return nil
}

func (x *executor) runJob(ctx context.Context, j *Job) {
	o := &x.e.o
	if o.Progress != nil {
		o.Progress.JobStarted(j)
	}
	log := x.e.log.With(zap.String("op", string(j.Op)), zap.String("path", j.Key))
	rec := state.JournalRecord{Op: string(j.Op), Key: j.Key, From: j.FromLocal + j.FromRemote, Started: o.Now()}
	id, err := o.State.Begin(rec)
	if err == nil {
		var put []state.Entry
		put, err = x.do(ctx, j)
		switch {
		case err == nil && j.keepJournal:
			j.journalID = id
		case err == nil:
			// State is written only here, after both sides hold the same content, in the
			// transaction that clears the job from the journal.
			err = o.State.Complete(id, append(put, j.put...), j.forget)
			if c := j.closes; err == nil && c != nil && c.journalID != 0 {
				err = o.State.Abandon(c.journalID)
			}
		}
		// A failed job keeps its journal record: the next pass re-checks the path in
		// full instead of trusting the cheap filter or an unchanged revision.
	}
	j.err = err
	if o.Progress != nil {
		o.Progress.JobDone(j, err)
	}
	if err != nil {
		log.Warn("job failed", zap.Error(err))
		x.fail(j, err)
		return
	}
	log.Debug("job done", zap.Int64("bytes", j.Size))
	x.mu.Lock()
	defer x.mu.Unlock()
	switch j.Op {
	case OpUpload:
		x.rep.Uploaded++
		x.rep.BytesUp += j.Size
	case OpDownload:
		x.rep.Downloaded++
		x.rep.BytesDown += j.Size
	case OpMoveLocal, OpMoveRemote:
		x.rep.Moved++
	case OpDeleteLocal, OpDeleteRemote:
		x.rep.Deleted++
	case OpRenameLocal, OpRenameRemote:
		if j.Conflict {
			x.rep.Conflicts++
		}
	}
}

// fail records a path's failure. Permanent refusals (too large, forbidden, a name this
// file system cannot hold) are reported as skipped; 507 stops further uploads; 401 ends
// the pass.
func (x *executor) fail(j *Job, err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	p := j.LocalPath
	if p == "" {
		p = j.RemotePath
	}
	switch {
	case errors.Is(err, client.ErrUnauthorized):
		if x.fatal == nil {
			x.fatal = err
			x.cancel()
		}
		return
	case errors.Is(err, client.ErrInsufficientStorage):
		x.diskFull.Store(true)
	case errors.Is(err, client.ErrPayloadTooLarge), errors.Is(err, client.ErrForbidden), errors.Is(err, syscall.ENAMETOOLONG):
		x.rep.Skipped = append(x.rep.Skipped, Skip{Path: p, Reason: err.Error()})
		return
	case errors.Is(err, context.Canceled):
		return
	}
	x.rep.Failures = append(x.rep.Failures, Failure{Path: p, Op: string(j.Op), Err: err})
}

func (x *executor) abs(rel string) string { return pathname.RemotePath(x.e.o.RemoteRoot, rel) }

// do performs one job and returns the base entries to record.
func (x *executor) do(ctx context.Context, j *Job) ([]state.Entry, error) {
	o := &x.e.o
	wrap := func(err error) error {
		if err == nil {
			return nil
		}
		return fmt.Errorf("%s %s: %w", j.Op, j.Key, err)
	}
	switch j.Op {
	case OpUpload:
		e, err := x.upload(ctx, j)
		return []state.Entry{e}, wrap(err)
	case OpDownload:
		e, err := x.download(ctx, j)
		return []state.Entry{e}, wrap(err)
	case OpMkdirLocal:
		if j.trashLocal {
			if err := o.Local.Trash(j.LocalPath, j.local.LocalEntry); err != nil {
				return nil, wrap(localErr(err))
			}
		}
		le, err := o.Local.Mkdir(j.LocalPath)
		if err != nil {
			return nil, wrap(err)
		}
		e := state.Entry{Key: j.Key, LocalPath: j.LocalPath, RemotePath: j.RemotePath, Dir: true, Inode: le.Inode}
		if j.remote != nil && j.remote.Dir {
			e.ResourceID, e.RemoteModified, e.RemoteRevision = j.remote.ResourceID, j.remote.Modified, j.remote.Revision
		}
		return []state.Entry{e}, nil
	case OpMkdirRemote:
		p := x.abs(j.RemotePath)
		if j.replaceMD5 != "" {
			if err := x.conditionalDelete(ctx, p, j.replaceMD5); err != nil {
				return nil, wrap(err)
			}
		}
		err := o.Remote.Mkdir(ctx, p)
		if err != nil && !errors.Is(err, client.ErrAlreadyExists) {
			return nil, wrap(err)
		}
		res, err := o.Remote.Stat(ctx, p)
		if err != nil {
			return nil, wrap(err)
		}
		if !res.IsDir() {
			return nil, wrap(errRemoteChanged)
		}
		e := state.Entry{Key: j.Key, LocalPath: j.LocalPath, RemotePath: j.RemotePath, Dir: true,
			ResourceID: res.ResourceID, RemoteModified: res.Modified, RemoteRevision: res.Revision}
		if j.local != nil {
			e.Inode = j.local.Inode
		}
		return []state.Entry{e}, nil
	case OpDeleteLocal:
		err := o.Local.Trash(j.LocalPath, j.local.LocalEntry)
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
		return nil, wrap(localErr(err))
	case OpDeleteRemote:
		var err error
		if j.Dir {
			err = o.Remote.Delete(ctx, x.abs(j.RemotePath), client.DeleteOptions{})
			if errors.Is(err, client.ErrNotFound) {
				err = nil
			}
		} else {
			err = x.conditionalDelete(ctx, x.abs(j.RemotePath), j.remote.MD5)
		}
		return nil, wrap(err)
	case OpMoveRemote, OpRenameRemote:
		err := o.Remote.Move(ctx, x.abs(j.FromRemote), x.abs(j.RemotePath), false)
		return nil, wrap(err)
	case OpMoveLocal, OpRenameLocal:
		_, err := o.Local.Rename(j.FromLocal, j.LocalPath, j.local.LocalEntry)
		return nil, wrap(localErr(err))
	}
	return nil, fmt.Errorf("unknown job %q", j.Op)
}

func localErr(err error) error {
	if errors.Is(err, ErrLocalChanged) {
		return fmt.Errorf("%w (%w)", errLocalChanged, err)
	}
	return err
}

// conditionalDelete moves a remote file to the Disk trash only if it still has the md5
// the plan saw; otherwise someone changed it meanwhile and nothing is touched.
func (x *executor) conditionalDelete(ctx context.Context, p, md5 string) error {
	err := x.e.o.Remote.Delete(ctx, p, client.DeleteOptions{MD5: md5})
	switch {
	case errors.Is(err, client.ErrNotFound):
		return nil
	case errors.Is(err, client.ErrMD5Differ):
		return fmt.Errorf("%w (%w)", errRemoteChanged, err)
	}
	return err
}

// counter reports transferred bytes to Progress.
type counter struct {
	x *executor
	j *Job
}

func (c counter) Write(p []byte) (int, error) {
	if c.x.e.o.Progress != nil {
		c.x.e.o.Progress.JobBytes(c.j, int64(len(p)))
	}
	return len(p), nil
}

// countingFile passes reads through to the file and keeps it seekable, so the client
// may retry a failed upload attempt with a new link.
type countingFile struct {
	r io.Reader
	c counter
}

func (f *countingFile) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if n > 0 {
		_, _ = f.c.Write(p[:n])
	}
	return n, err
}

func (f *countingFile) Seek(off int64, whence int) (int64, error) {
	s, ok := f.r.(io.Seeker)
	if !ok {
		return 0, errors.New("not seekable")
	}
	return s.Seek(off, whence)
}

// upload sends a local file. Replacing a remote file is conditional: the old version
// goes to the Disk trash only if it is still the one the plan saw, then the new one is
// uploaded with overwrite=false, so an edit made meanwhile on another device is never
// overwritten. The upload counts only when the bytes sent hash to what was hashed locally
// and the file did not change during the transfer (stat before and after).
func (x *executor) upload(ctx context.Context, j *Job) (state.Entry, error) {
	o := &x.e.o
	if x.diskFull.Load() {
		return state.Entry{}, ErrDiskFull
	}
	p := x.abs(j.RemotePath)
	md5sum, seen := j.local.MD5, j.local.LocalEntry
	replace := j.replaceMD5
	if j.replaceDir {
		err := o.Remote.Delete(ctx, p, client.DeleteOptions{})
		if err != nil && !errors.Is(err, client.ErrNotFound) {
			return state.Entry{}, err
		}
	}
	for attempt := 1; attempt <= 3; attempt++ {
		before, err := o.Local.Stat(j.LocalPath)
		if err != nil {
			return state.Entry{}, localErr(err)
		}
		if !before.Same(seen) || md5sum == "" {
			md5sum, seen, err = o.Local.Hash(ctx, j.LocalPath)
			if errors.Is(err, ErrLocalChanged) {
				continue
			}
			if err != nil {
				return state.Entry{}, err
			}
			before = seen
		}
		if replace != "" {
			if err := x.conditionalDelete(ctx, p, replace); err != nil {
				return state.Entry{}, err
			}
			replace = ""
		}
		f, err := o.Local.Open(j.LocalPath)
		if err != nil {
			return state.Entry{}, err
		}
		res, err := o.Remote.Upload(ctx, p, &countingFile{r: f, c: counter{x, j}}, before.Size, client.UploadOptions{})
		f.Close()
		if err != nil {
			if errors.Is(err, client.ErrAlreadyExists) {
				return state.Entry{}, fmt.Errorf("%w (%w)", errRemoteChanged, err)
			}
			return state.Entry{}, err
		}
		after, err := o.Local.Stat(j.LocalPath)
		if err != nil || !after.Same(before) || res.Bytes != before.Size || res.MD5 != md5sum {
			// What is on the Disk now is not the file as hashed: replace it next attempt.
			x.e.log.Debug("file changed during upload", zap.String("path", j.LocalPath), zap.Int("attempt", attempt))
			replace, md5sum = res.MD5, ""
			continue
		}
		if r := res.Resource; r != nil && r.MD5 != "" && (r.MD5 != md5sum || r.Size != before.Size) {
			return state.Entry{}, fmt.Errorf("%w: the Disk reports md5 %s size %d", errMismatch, r.MD5, r.Size)
		}
		e := state.Entry{Key: j.Key, LocalPath: j.LocalPath, RemotePath: j.RemotePath, Size: before.Size,
			MD5: md5sum, SHA256: res.SHA256, LocalMtime: before.Mtime, Inode: before.Inode}
		r := res.Resource
		if pr := x.setMtime(ctx, p, before.Mtime); pr != nil {
			r = pr
		}
		if r != nil {
			e.ResourceID, e.RemoteModified, e.RemoteRevision = r.ResourceID, r.Modified, r.Revision
		}
		j.Size = before.Size
		return e, nil
	}
	return state.Entry{}, errUnstable
}

// setMtime stores the local mtime in the file's custom properties. A failure is not
// fatal: the content is synced; only the mtime a download would set is lost.
func (x *executor) setMtime(ctx context.Context, p string, mtime time.Time) *client.Resource {
	props := map[string]any{mtimeProperty: mtime.UTC().Format(time.RFC3339Nano)}
	for attempt := 1; attempt <= 2; attempt++ {
		r, err := x.e.o.Remote.SetProperties(ctx, p, props)
		if err == nil {
			return r
		}
		if attempt == 2 || !errors.Is(err, client.ErrServer) {
			x.e.log.Warn("could not store the modification time", zap.String("remote_path", p), zap.Error(err))
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(propsRetryDelay):
		}
	}
	return nil
}

// download streams a remote file into .yasyncd/tmp/, checks it against the listing and
// renames it into place only if the target is still what the plan saw.
func (x *executor) download(ctx context.Context, j *Job) (state.Entry, error) {
	o := &x.e.o
	r := j.remote
	var expect *LocalEntry
	if j.local != nil && !j.local.Dir {
		le := j.local.LocalEntry
		expect = &le
	}
	if j.trashLocal && j.local != nil {
		if err := o.Local.Trash(j.LocalPath, j.local.LocalEntry); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return state.Entry{}, localErr(err)
		}
		expect = nil
	}
	tmp, err := o.Local.CreateTemp()
	if err != nil {
		return state.Entry{}, err
	}
	h := md5.New()
	n, err := o.Remote.Download(ctx, x.abs(j.RemotePath), io.MultiWriter(tmp, h, counter{x, j}))
	if err == nil {
		sum := hex.EncodeToString(h.Sum(nil))
		if n != r.Size || (r.MD5 != "" && sum != r.MD5) {
			err = fmt.Errorf("%w: got %d bytes md5 %s, listed %d bytes md5 %s", errMismatch, n, sum, r.Size, r.MD5)
		}
	}
	if err != nil {
		_ = tmp.Abort()
		return state.Entry{}, err
	}
	le, err := o.Local.Commit(tmp, j.LocalPath, r.fileMtime(), expect)
	if err != nil {
		return state.Entry{}, localErr(err)
	}
	return state.Entry{Key: j.Key, LocalPath: j.LocalPath, RemotePath: j.RemotePath, Size: n, MD5: r.MD5,
		SHA256: r.SHA256, LocalMtime: le.Mtime, Inode: le.Inode, ResourceID: r.ResourceID,
		RemoteModified: r.Modified, RemoteRevision: r.Revision}, nil
}
