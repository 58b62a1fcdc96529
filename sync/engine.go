package sync

import (
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/yasyncd/yasyncd/client"
	"github.com/yasyncd/yasyncd/state"
)

// Mode restricts which side a pass may change.
type Mode string

const (
	TwoWay       Mode = "two-way"
	UploadOnly   Mode = "upload-only"   // never change the local side
	DownloadOnly Mode = "download-only" // never change the remote side
)

// ConflictPolicy says what happens when both sides changed a file to different bytes.
type ConflictPolicy string

const (
	// KeepBoth: the remote keeps the name, the local version is renamed to a conflict name
	// and uploaded as a new file.
	KeepBoth ConflictPolicy = "keep-both"
	// Newer: the version with the later modification time wins; the other goes to a trash.
	Newer ConflictPolicy = "newer"
	// LocalWins / RemoteWins: that side wins; the loser's bytes go to a trash.
	LocalWins  ConflictPolicy = "local"
	RemoteWins ConflictPolicy = "remote"
)

// MaxDelete is the mass-delete guard: either a share of the tracked files (Percent, 0–100)
// or a number of files (Count). The zero value means 50%. The guard never trips for 10
// deletes or fewer on a side.
type MaxDelete struct {
	Percent float64
	Count   int
}

// guardFloor is the number of deletes on a side that never trips the mass-delete guard.
const guardFloor = 10

// Options configure an Engine.
type Options struct {
	Local  Local
	Remote Remote
	State  *state.DB
	// RemoteRoot is the synced Disk folder, e.g. "disk:/Sync".
	RemoteRoot string
	// Transfers is the number of jobs run at once; default 4.
	Transfers int
	Mode      Mode
	Conflict  ConflictPolicy
	MaxDelete MaxDelete
	// ForceDelete lets this pass through the mass-delete and empty-side guards.
	ForceDelete bool
	// DryRun plans only: nothing is changed on either side nor in the state.
	DryRun bool
	// Resync rebuilds the state from both sides: copy and conflict only, never delete.
	Resync bool
	// FullListing lists the remote tree even when the Disk revision did not move.
	FullListing bool
	// ListingMaxAge redoes a listing older than this even when the revision is unchanged;
	// 0 lists on every pass.
	ListingMaxAge time.Duration
	// Exclude reports whether a path (relative, local spelling) is out of the sync.
	Exclude func(rel string, dir bool) bool
	// CaseInsensitive says the local file system folds case: remote names that differ only
	// in case are reported and one of them renamed before any transfer.
	CaseInsensitive bool
	// Host labels conflict copies (pathname.HostLabel(os.Hostname())).
	Host     string
	Now      func() time.Time
	Logger   *zap.Logger
	Progress Progress
}

// Progress receives events of a pass; its methods are called from the worker goroutines
// and must be safe for concurrent use.
type Progress interface {
	Planned(p *Plan)
	JobStarted(j *Job)
	JobBytes(j *Job, n int64)
	JobDone(j *Job, err error)
}

// Report is the outcome of one pass.
type Report struct {
	Plan                                                      *Plan
	Uploaded, Downloaded, Moved, Deleted, Conflicts, Recorded int
	BytesUp, BytesDown                                        int64
	// Failures are paths that failed this pass; they are retried on the next one.
	Failures []Failure
	// Skipped are paths left out with a reason the user may act on (symlinks, refused
	// names, files that kept changing).
	Skipped []Skip
}

// Failure is one path that could not be synced this pass.
type Failure struct {
	Path, Op string
	Err      error
}

// Skip is one path deliberately left out of the pass.
type Skip struct {
	Path, Reason string
}

// Errors RunOnce returns; per-path failures are not errors but Report.Failures.
var (
	// ErrGuard matches every *GuardError.
	ErrGuard = errors.New("safety guard")
	// ErrDiskFull: the Disk answered 507; uploads stopped until space is freed. It wraps
	// client.ErrInsufficientStorage.
	ErrDiskFull = fmt.Errorf("disk is full: %w", client.ErrInsufficientStorage)
)

// Guard kinds.
const (
	GuardMissingRoot = "missing-root"
	GuardEmptySide   = "empty-side"
	GuardMassDelete  = "mass-delete"
)

// GuardError is a safety guard that stopped the pass before anything was deleted.
type GuardError struct {
	Kind string
	// Msg says what was found and how to confirm.
	Msg string
}

func (e *GuardError) Error() string { return e.Msg }

// Is makes errors.Is(err, ErrGuard) true.
func (e *GuardError) Is(target error) bool { return target == ErrGuard }

// Engine runs sync passes. One pass at a time: RunOnce must not be called concurrently.
type Engine struct {
	o   Options
	log *zap.Logger
}

// New checks the options and fills defaults.
func New(o Options) (*Engine, error) {
	if o.Local == nil || o.Remote == nil || o.State == nil {
		return nil, errors.New("sync: Local, Remote and State are required")
	}
	if o.RemoteRoot == "" {
		return nil, errors.New("sync: RemoteRoot is required")
	}
	if o.Transfers <= 0 {
		o.Transfers = 4
	}
	switch o.Mode {
	case "":
		o.Mode = TwoWay
	case TwoWay, UploadOnly, DownloadOnly:
	default:
		return nil, fmt.Errorf("sync: unknown mode %q", o.Mode)
	}
	switch o.Conflict {
	case "":
		o.Conflict = KeepBoth
	case KeepBoth, Newer, LocalWins, RemoteWins:
	default:
		return nil, fmt.Errorf("sync: unknown conflict policy %q", o.Conflict)
	}
	if o.MaxDelete.Percent < 0 || o.MaxDelete.Count < 0 {
		return nil, errors.New("sync: MaxDelete must not be negative")
	}
	if o.MaxDelete.Percent == 0 && o.MaxDelete.Count == 0 {
		o.MaxDelete.Percent = 50
	}
	if o.Exclude == nil {
		o.Exclude = func(string, bool) bool { return false }
	}
	if o.Host == "" {
		o.Host = "host"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	return &Engine{o: o, log: o.Logger.Named("sync")}, nil
}

// The Disk client is the engine's Remote.
var _ Remote = (*client.Client)(nil)
