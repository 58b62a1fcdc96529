package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/yasyncd/yasyncd/auth"
	"github.com/yasyncd/yasyncd/client"
	"github.com/yasyncd/yasyncd/internal/config"
	"github.com/yasyncd/yasyncd/internal/ignore"
	"github.com/yasyncd/yasyncd/internal/localfs"
	"github.com/yasyncd/yasyncd/internal/pathname"
	"github.com/yasyncd/yasyncd/state"
	yasync "github.com/yasyncd/yasyncd/sync"
)

// ignoreFile is the per-folder exclude file in the local root (synced like .gitignore).
const ignoreFile = ".yasyncignore"

// testHooks let in-process tests shrink waits; the real command never sets them.
type testHooks struct {
	// client adjusts the Disk client's options (retry delays).
	client func(*client.Options)
	// passDone is called after every daemon pass.
	passDone func(*yasync.Report, error)
}

// session is what a sync command holds for its whole life: the state database (and with
// it the lock that makes this the only yasyncd on this state), the Disk client and the
// local folder.
type session struct {
	cfg    *config.Config
	log    *zap.Logger
	db     *state.DB
	remote *client.Client
	local  *localfs.FS
	host   string
	now    func() time.Time
	// caseInsensitive is probed once the local root exists; nil until then.
	caseInsensitive *bool
}

func (a *app) openSession(cfg *config.Config, log *zap.Logger) (*session, error) {
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("create state_dir: %w", err)
	}
	db, err := state.Open(filepath.Join(cfg.StateDir, stateFile), state.Options{Timeout: time.Second})
	if err != nil {
		return nil, err
	}
	s := &session{cfg: cfg, log: log, db: db, now: time.Now}
	ok := false
	defer func() {
		if !ok {
			s.close()
		}
	}()

	base := http.DefaultTransport.(*http.Transport).Clone()
	var rt http.RoundTripper
	if cfg.Token != "" {
		rt = auth.StaticTransport(cfg.Token, base)
	} else {
		tr, err := auth.NewTransport(auth.Options{
			OAuthURL:     cfg.OAuthURL,
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			RedirectURI:  cfg.RedirectURI,
			StateDir:     cfg.StateDir,
			Logger:       log.Named("auth"),
		}, base)
		if err != nil {
			return nil, err
		}
		rt = tr
	}
	copts := client.Options{
		APIURL:     cfg.APIURL,
		HTTPClient: &http.Client{Transport: rt},
		Logger:     log.Named("client"),
		UserAgent:  "yasyncd/" + version,
	}
	if a.hooks != nil && a.hooks.client != nil {
		a.hooks.client(&copts)
	}
	if s.remote, err = client.New(copts); err != nil {
		return nil, err
	}
	if s.local, err = localfs.New(cfg.LocalDir, localfs.Options{TrashDays: cfg.TrashDays, Now: s.now, Logger: log.Named("localfs")}); err != nil {
		return nil, err
	}
	hostname, err := os.Hostname()
	if err != nil {
		hostname = "host"
	}
	s.host = pathname.HostLabel(hostname)
	ok = true
	return s, nil
}

func (s *session) close() {
	if s.remote != nil {
		_ = s.remote.Close()
	}
	if err := s.db.Close(); err != nil {
		s.log.Warn("state database close failed", zap.Error(err))
	}
}

// passOptions are the one-time switches of a pass.
type passOptions struct {
	dryRun, resync, forceDelete, full bool
}

// pass runs one sync pass. Per-path failures come back as a *failedPaths error together
// with the report.
func (s *session) pass(ctx context.Context, po passOptions, progress yasync.Progress) (*yasync.Report, error) {
	// The ignore file is read on every pass: the user may edit it while the daemon runs.
	m, err := ignore.New(s.cfg.Exclude, filepath.Join(s.cfg.LocalDir, ignoreFile))
	if err != nil {
		return nil, &config.UsageError{Setting: "exclude", Msg: err.Error() + "; fix the pattern in exclude or " + ignoreFile}
	}
	eng, err := yasync.New(yasync.Options{
		Local:           s.local,
		Remote:          s.remote,
		State:           s.db,
		RemoteRoot:      s.cfg.RemoteDir,
		Transfers:       s.cfg.Transfers,
		Mode:            yasync.Mode(s.cfg.Mode),
		Conflict:        yasync.ConflictPolicy(s.cfg.Conflict),
		MaxDelete:       yasync.MaxDelete{Percent: s.cfg.MaxDelete.Percent, Count: s.cfg.MaxDelete.Count},
		ForceDelete:     po.forceDelete,
		DryRun:          po.dryRun,
		Resync:          po.resync,
		FullListing:     po.full,
		ListingMaxAge:   s.cfg.FullScanPeriod(s.now()),
		Exclude:         m.Match,
		CaseInsensitive: s.probeCase(po.dryRun),
		Host:            s.host,
		Now:             s.now,
		Logger:          s.log,
		Progress:        progress,
	})
	if err != nil {
		return nil, err
	}
	rep, err := eng.RunOnce(ctx)
	if err == nil && rep != nil && len(rep.Failures) > 0 {
		err = &failedPaths{failures: rep.Failures}
	}
	return rep, err
}

// probeCase finds out once whether the local file system folds case. The probe writes in
// .yasyncd/tmp/, so it runs only once the root is set up (the first pass creates it); until
// then the first pass assumes a case-sensitive file system, and the engine's conditional
// writes still refuse to replace a file they did not plan to.
func (s *session) probeCase(dryRun bool) bool {
	if s.caseInsensitive != nil {
		return *s.caseInsensitive
	}
	if _, marked, err := s.local.Check(); err != nil || !marked || dryRun {
		return false
	}
	ci, err := s.local.CaseInsensitive()
	if err != nil {
		s.log.Warn("case sensitivity probe failed", zap.String("path", s.cfg.LocalDir), zap.Error(err))
		return false
	}
	s.caseInsensitive = &ci
	return ci
}

// recordFailure saves a failed pass's outcome for `yasyncd status` when no daemon runs,
// with the same one line main prints. The engine saves successful passes itself, and may
// not have reached that point on an error.
func (s *session) recordFailure(rep *yasync.Report, msg string) {
	prev, err := s.db.Status()
	if err != nil {
		s.log.Warn("status read failed", zap.Error(err))
	}
	st := state.Status{LastSync: prev.LastSync, LastError: msg, Counts: countsOf(rep)}
	if err := s.db.SetStatus(st); err != nil {
		s.log.Warn("status write failed", zap.Error(err))
	}
}

func countsOf(rep *yasync.Report) state.Counts {
	if rep == nil {
		return state.Counts{}
	}
	return state.Counts{Uploaded: rep.Uploaded, Downloaded: rep.Downloaded, Moved: rep.Moved,
		Deleted: rep.Deleted, Conflicts: rep.Conflicts, Failed: len(rep.Failures)}
}

// once implements `yasyncd --once`.
func (a *app) once(ctx context.Context, cfg *config.Config, log *zap.Logger, cl *cmdline) error {
	s, err := a.openSession(cfg, log)
	if err != nil {
		return err
	}
	defer s.close()
	saved, _ := s.db.Status()
	t := newTracker(saved)
	t.setState(stScanning)

	// A one-shot pass answers `yasyncd status` too: it holds the state lock, so status
	// could not read the database meanwhile.
	stop := a.serveStatus(ctx, cfg, t, log)
	defer stop()

	prog := newProgress(t, log, a.stderr, a.tty, a.logWriter)
	rep, err := s.pass(ctx, passOptions{dryRun: cl.dryRun, resync: cl.resync, forceDelete: cl.forceDelete, full: cl.full}, prog)
	prog.finish()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if cl.dryRun && rep != nil && rep.Plan != nil {
		rep.Plan.Write(a.stdout)
	}
	if !cl.dryRun {
		a.summarize(rep, log, nil)
	}
	if err != nil && !cl.dryRun && !isUsage(err) {
		_, msg := classify(err, cfg)
		s.recordFailure(rep, msg)
	}
	return err
}

// serveStatus starts the status socket; a failure is logged, not fatal (the socket path
// may be too long for the platform). The returned func stops it and waits.
func (a *app) serveStatus(ctx context.Context, cfg *config.Config, t *tracker, log *zap.Logger) func() {
	srv, err := listenStatus(cfg.StateDir, t, log)
	if err != nil {
		log.Warn("status socket unavailable", zap.Error(err))
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Run(ctx); err != nil {
			log.Warn("status socket failed", zap.Error(err))
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// errorState is the daemon state an error puts it in.
func errorState(err error) string {
	switch code, _ := classify(err, nil); {
	case errors.Is(err, auth.ErrLoginRequired), errors.Is(err, client.ErrUnauthorized):
		return stAuthRequired
	case code == exitRetry:
		var failed *failedPaths
		if errors.As(err, &failed) {
			return stError
		}
		return stOffline
	}
	return stError
}
