package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/yasyncd/yasyncd/internal/config"
	"github.com/yasyncd/yasyncd/state"
	yasync "github.com/yasyncd/yasyncd/sync"
)

// Files in the state directory (contract.md "Files").
const (
	stateFile  = "state.db"
	socketFile = "status.sock"
)

// Daemon states as `status` reports them. The contract also names "paused", which nothing
// produces yet: there is no pause command.
const (
	stIdle         = "idle"
	stScanning     = "scanning"
	stSyncing      = "syncing"
	stOffline      = "offline"
	stAuthRequired = "auth_required"
	stError        = "error"
)

// statusReport is the object of `yasyncd status --json` (contract.md "Status"). Every key
// is always present; absent values are null, never omitted, so scripts can rely on them.
// counts are those of the last pass when no daemon runs, and the totals since it started
// when one does (failed: the paths that failed in its last pass).
type statusReport struct {
	Running   bool         `json:"running"`
	State     string       `json:"state"`
	Queue     int          `json:"queue"`
	Transfers []transfer   `json:"transfers"`
	LastSync  *string      `json:"last_sync"`
	LastError *string      `json:"last_error"`
	Counts    state.Counts `json:"counts"`
	Quota     *quota       `json:"quota"`
}

type transfer struct {
	Path      string `json:"path"`
	Direction string `json:"direction"` // "upload" or "download"
	Bytes     int64  `json:"bytes"`
	Size      int64  `json:"size"`
}

type quota struct {
	Total int64 `json:"total"`
	Used  int64 `json:"used"`
}

// tracker is the daemon's live status: written by the pass loop and the progress events,
// read by the status socket. Safe for concurrent use.
type tracker struct {
	mu        sync.Mutex
	state     string
	queue     int
	transfers map[any]*transfer // keyed by the engine's job
	lastSync  *time.Time
	lastError string
	counts    state.Counts
	quota     *quota
}

// newTracker starts from the saved outcome of the last pass; counts start at zero, since
// a running daemon reports what it did since it started.
func newTracker(saved state.Status) *tracker {
	return &tracker{state: stIdle, transfers: map[any]*transfer{},
		lastSync: saved.LastSync, lastError: saved.LastError}
}

func (t *tracker) setState(s string) {
	t.mu.Lock()
	t.state = s
	t.mu.Unlock()
}

func (t *tracker) setQueue(n int) {
	t.mu.Lock()
	t.queue = n
	t.mu.Unlock()
}

func (t *tracker) started(job any, path, direction string, size int64) {
	t.mu.Lock()
	if t.queue > 0 {
		t.queue--
	}
	if direction != "" {
		t.transfers[job] = &transfer{Path: path, Direction: direction, Size: size}
	}
	t.mu.Unlock()
}

func (t *tracker) progressed(job any, n int64) {
	t.mu.Lock()
	if tr := t.transfers[job]; tr != nil {
		tr.Bytes += n
	}
	t.mu.Unlock()
}

func (t *tracker) done(job any) {
	t.mu.Lock()
	delete(t.transfers, job)
	t.mu.Unlock()
}

// passEnded records a pass's outcome. errText is "" on success. The counts add up over
// the daemon's life, except failed: the paths that failed in the last pass (they are
// retried, so adding them up would count one stuck file again every poll).
func (t *tracker) passEnded(now time.Time, pass state.Counts, errText, st string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.counts.Uploaded += pass.Uploaded
	t.counts.Downloaded += pass.Downloaded
	t.counts.Moved += pass.Moved
	t.counts.Deleted += pass.Deleted
	t.counts.Conflicts += pass.Conflicts
	t.counts.Failed = pass.Failed
	t.lastError = errText
	if errText == "" {
		t.lastSync = &now
	}
	t.state = st
	t.queue = 0
	clear(t.transfers)
}

func (t *tracker) setQuota(total, used int64) {
	t.mu.Lock()
	t.quota = &quota{Total: total, Used: used}
	t.mu.Unlock()
}

func (t *tracker) snapshot() statusReport {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := statusReport{Running: true, State: t.state, Queue: t.queue, Transfers: []transfer{},
		Counts: t.counts, LastSync: timeString(t.lastSync), LastError: nonEmpty(t.lastError)}
	for _, tr := range t.transfers {
		r.Transfers = append(r.Transfers, *tr)
	}
	sort.Slice(r.Transfers, func(i, j int) bool { return r.Transfers[i].Path < r.Transfers[j].Path })
	if t.quota != nil {
		q := *t.quota
		r.Quota = &q
	}
	return r
}

func timeString(t *time.Time) *string {
	if t == nil || t.IsZero() {
		return nil
	}
	s := t.Format(time.RFC3339)
	return &s
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// statusServer answers `yasyncd status` on a unix socket in the state directory. The
// socket's mode 0600 (and the directory's 0700) keep other users out.
type statusServer struct {
	path string
	l    net.Listener
	t    *tracker
	log  *zap.Logger
}

// listenStatus creates the socket. It must be called while holding the state database's
// lock: only then is an existing socket file certainly stale and safe to remove.
func listenStatus(stateDir string, t *tracker, log *zap.Logger) (*statusServer, error) {
	path := filepath.Join(stateDir, socketFile)
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("remove stale status socket: %w", err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("status socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("status socket: %w", err)
	}
	return &statusServer{path: path, l: l, t: t, log: log}, nil
}

// Run serves until ctx is done, then closes and removes the socket.
func (s *statusServer) Run(ctx context.Context) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.t.snapshot())
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.l) }()
	var err error
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = srv.Shutdown(sctx)
		cancel()
		<-errc
	case err = <-errc:
	}
	if rerr := os.Remove(s.path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
		s.log.Warn("status socket not removed", zap.String("path", s.path), zap.Error(rerr))
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// askDaemon fetches the running daemon's status; ok is false when no daemon answers.
func askDaemon(ctx context.Context, stateDir string) (statusReport, bool, error) {
	path := filepath.Join(stateDir, socketFile)
	if _, err := os.Stat(path); err != nil {
		return statusReport{}, false, nil
	}
	hc := &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}},
	}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://yasyncd/status", nil)
	if err != nil {
		return statusReport{}, false, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		// A socket nobody listens on is left by a daemon that was killed: not running.
		return statusReport{}, false, nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return statusReport{}, false, fmt.Errorf("status socket %s answered %s", path, resp.Status)
	}
	var r statusReport
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&r); err != nil {
		return statusReport{}, false, fmt.Errorf("status socket %s: %w", path, err)
	}
	if r.Transfers == nil {
		r.Transfers = []transfer{}
	}
	return r, true, nil
}

// savedStatus reads the last pass's outcome from the state database without creating it.
func savedStatus(stateDir string) (statusReport, error) {
	r := statusReport{State: stIdle, Transfers: []transfer{}}
	path := filepath.Join(stateDir, stateFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	db, err := state.Open(path, state.Options{Timeout: 500 * time.Millisecond, ReadOnly: true})
	if err != nil {
		if errors.Is(err, state.ErrLocked) {
			return r, fmt.Errorf("%w, but its status socket does not answer", err)
		}
		return r, err
	}
	defer db.Close()
	s, err := db.Status()
	if err != nil {
		return r, fmt.Errorf("read status from %s: %w", path, err)
	}
	r.LastSync, r.LastError, r.Counts = timeString(s.LastSync), nonEmpty(s.LastError), s.Counts
	if s.LastError != "" {
		r.State = stError
	}
	return r, nil
}

// status implements `yasyncd status [--json]`.
func (a *app) status(ctx context.Context, cfg *config.Config, asJSON bool) error {
	r, ok, err := askDaemon(ctx, cfg.StateDir)
	if err != nil {
		return err
	}
	if !ok {
		if r, err = savedStatus(cfg.StateDir); err != nil {
			return err
		}
	}
	if asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	writeStatus(a.stdout, r)
	return nil
}

func writeStatus(w io.Writer, r statusReport) {
	if r.Running {
		fmt.Fprintf(w, "yasyncd is running: %s", r.State)
		if r.Queue > 0 {
			fmt.Fprintf(w, ", %d queued", r.Queue)
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintln(w, "yasyncd is not running")
	}
	for _, t := range r.Transfers {
		fmt.Fprintf(w, "  %sing %s: %s of %s\n", t.Direction, t.Path, yasync.FormatBytes(t.Bytes), yasync.FormatBytes(t.Size))
	}
	last := "never"
	if r.LastSync != nil {
		if t, err := time.Parse(time.RFC3339, *r.LastSync); err == nil {
			last = t.Local().Format("2006-01-02 15:04:05 MST")
		}
	}
	fmt.Fprintf(w, "last sync:   %s\n", last)
	if r.LastError != nil {
		fmt.Fprintf(w, "last error:  %s\n", *r.LastError)
	}
	c := r.Counts
	label := "last pass: "
	if r.Running {
		label = "since start:"
	}
	fmt.Fprintf(w, "%s %d uploaded, %d downloaded, %d moved, %d deleted, %d conflicts, %d failed\n",
		label, c.Uploaded, c.Downloaded, c.Moved, c.Deleted, c.Conflicts, c.Failed)
	if r.Quota != nil {
		fmt.Fprintf(w, "disk:        %s of %s used\n", yasync.FormatBytes(r.Quota.Used), yasync.FormatBytes(r.Quota.Total))
	}
}
