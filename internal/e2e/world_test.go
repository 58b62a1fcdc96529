package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// remoteRoot is the synced Disk folder in every test.
const remoteRoot = "disk:/Sync"

// testHost is the host name the engine writes into conflict copy names.
const testHost = "e2e-host"

// World is one synced pair: a local folder, a state folder and an emulated Disk, with the
// engine run in process one pass at a time (a new engine and a freshly opened state
// database per pass, as `yasyncd --once` does).
type World struct {
	t        testing.TB
	Local    string // the synced local folder
	StateDir string
	Disk     *Disk

	mu    sync.Mutex
	clock time.Time
	log   bytes.Buffer // the engine's log of the last pass
}

// WorldOptions tune NewWorld.
type WorldOptions struct {
	// Latency is added by the emulator to each request.
	Latency time.Duration
	// Seed makes the emulator's fault injection repeatable.
	Seed int64
	// FaultRate is the emulator's own fault rate, in effect only while
	// Disk.UseEmulatorFaults(true).
	FaultRate float64
}

// NewWorld starts an emulator and makes the folders; nothing is synced yet.
func NewWorld(t testing.TB, o WorldOptions) *World {
	t.Helper()
	dir := t.TempDir()
	w := &World{
		t:        t,
		Local:    filepath.Join(dir, "local"),
		StateDir: filepath.Join(dir, "state"),
		Disk:     startDisk(t, o),
		// Conflict copy names carry the local time: a fixed clock that moves one minute per
		// pass keeps the names of a replayed sequence identical.
		clock: time.Date(2026, 3, 4, 5, 6, 0, 0, time.Local),
	}
	return w
}

// PassOptions are the per-pass settings of the engine that tests vary.
type PassOptions struct {
	ForceDelete bool
	Resync      bool
	DryRun      bool
	// Transfers is the number of jobs run at once; 0 for the engine's default.
	Transfers int
}

// Pass is the outcome of one pass.
type Pass struct {
	Err error
	// Jobs is the number of jobs the engine planned (transfers, moves, deletes, conflict
	// renames); -1 when the report did not say.
	Jobs int
	// Failures is the number of paths that failed (Report.Failures).
	Failures int
	// Recorded is the number of state-only updates (Report.Recorded): agreements recorded
	// without a transfer.
	Recorded int
	// Counts are the report's totals by name: uploaded, downloaded, moved, deleted,
	// conflicts, recorded.
	Counts map[string]int
	// Summary is a one-line account of the report for failure messages.
	Summary string
}

// Now is the engine's clock.
func (w *World) Now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.clock
}

// Sync runs one pass in process.
func (w *World) Sync(ctx context.Context, o PassOptions) Pass {
	w.mu.Lock()
	w.clock = w.clock.Add(time.Minute)
	w.log.Reset()
	w.mu.Unlock()
	res := runPass(ctx, w, o)
	if os.Getenv("YASYNCD_E2E_LOG") != "" {
		w.t.Logf("pass: %s\n%s", res.Summary, w.PassLog(1<<30))
	}
	return res
}

// logger returns a logger that writes into the world's per-pass log buffer.
func (w *World) logger() *zap.Logger {
	enc := zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig())
	core := zapcore.NewCore(enc, zapcore.AddSync(lockedWriter{w}), zapcore.DebugLevel)
	return zap.New(core)
}

type lockedWriter struct{ w *World }

func (l lockedWriter) Write(p []byte) (int, error) {
	l.w.mu.Lock()
	defer l.w.mu.Unlock()
	return l.w.log.Write(p)
}

// PassLog returns the engine's log of the last pass, at most max lines from its end.
func (w *World) PassLog(max int) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	lines := strings.Split(strings.TrimRight(w.log.String(), "\n"), "\n")
	if len(lines) > max {
		lines = append([]string{fmt.Sprintf("... %d lines before", len(lines)-max)}, lines[len(lines)-max:]...)
	}
	return strings.Join(lines, "\n")
}

// Snapshot reads both sides and both trashes.
func (w *World) Snapshot() Sides {
	w.t.Helper()
	l, err := snapshotLocal(w.Local)
	if err != nil {
		w.t.Fatal(err)
	}
	lt, err := snapshotLocalTrash(w.Local)
	if err != nil {
		w.t.Fatal(err)
	}
	r, err := w.Disk.Tree(remoteRoot, true)
	if err != nil {
		w.t.Fatal(err)
	}
	rt, err := w.Disk.TrashContents()
	if err != nil {
		w.t.Fatal(err)
	}
	return Sides{L: l, R: r, LTrash: lt, RTrash: rt}
}

// localPath maps a slash path below the root to the file system.
func (w *World) localPath(p string) string {
	return filepath.Join(w.Local, filepath.FromSlash(p))
}

// WriteLocal writes a file as a user would (in place), creating parent folders.
func (w *World) WriteLocal(p string, data []byte) error {
	full := w.localPath(p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	return os.WriteFile(full, data, 0o644)
}

// TouchLocal moves a file's modification time without changing its bytes.
func (w *World) TouchLocal(p string, mtime time.Time) error {
	return os.Chtimes(w.localPath(p), mtime, mtime)
}

// MkdirLocal creates a folder and its parents.
func (w *World) MkdirLocal(p string) error { return os.MkdirAll(w.localPath(p), 0o755) }

// RemoveLocal deletes a file or a folder with everything in it.
func (w *World) RemoveLocal(p string) error { return os.RemoveAll(w.localPath(p)) }

// RenameLocal renames from to to, creating to's parent.
func (w *World) RenameLocal(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(w.localPath(to)), 0o755); err != nil {
		return err
	}
	return os.Rename(w.localPath(from), w.localPath(to))
}

// remotePath maps a slash path below the root to a Disk path.
func remotePath(p string) string {
	if p == "" {
		return remoteRoot
	}
	return remoteRoot + "/" + p
}

// WriteRemote uploads a file as another device would, creating parent folders.
func (w *World) WriteRemote(p string, data []byte) error { return w.Disk.PutFile(remotePath(p), data) }

// MkdirRemote creates a folder and its parents on the Disk.
func (w *World) MkdirRemote(p string) error { return w.Disk.Mkdir(remotePath(p)) }

// RemoveRemote moves a file or folder to the Disk trash, as another device would.
func (w *World) RemoveRemote(p string) error { return w.Disk.Remove(remotePath(p)) }

// RenameRemote moves from to to on the Disk, creating to's parent.
func (w *World) RenameRemote(from, to string) error {
	return w.Disk.Move(remotePath(from), remotePath(to))
}
