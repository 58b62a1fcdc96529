package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"path/filepath"
	stdsync "sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/yasyncd/yasyncd/client"
	"github.com/yasyncd/yasyncd/internal/config"
	"github.com/yasyncd/yasyncd/internal/ignore"
	yasync "github.com/yasyncd/yasyncd/sync"
	"github.com/yasyncd/yasyncd/watcher"
)

// daemon implements `yasyncd` / `yasyncd run`: a pass, then a wait for a local change
// (the watcher, after `settle`), a change of the Disk (probed every poll_interval), the
// full-scan schedule or SIGHUP, and again, until ctx ends (SIGTERM/SIGINT).
//
// Errors that time or the user outside this process can fix keep it running in a state
// `yasyncd status` shows: the network (offline), a login (auth_required: `yasyncd auth
// login` writes token.json, which the running transport picks up), a full Disk, a missing
// root (an unmounted disk comes back). It stops with exit 3 when only a decision of the
// user can let it go on (a mass-delete or empty-side guard needs --force-delete, a token
// from YASYNCD_TOKEN that the Disk refuses needs a new one), and with exit 2 when the first
// pass finds bad settings (an exclude pattern).
func (a *app) daemon(ctx context.Context, cfg *config.Config, log *zap.Logger, cl *cmdline) error {
	sched, err := config.ParseFullScan(cfg.FullScan)
	if err != nil {
		return config.Usagef("full_scan %q: %v", cfg.FullScan, err)
	}
	s, err := a.openSession(cfg, log)
	if err != nil {
		return err
	}
	defer s.close()
	saved, _ := s.db.Status()
	t := newTracker(saved)
	stop := a.serveStatus(ctx, cfg, t, log)
	defer stop()

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	log = log.Named("daemon")
	log.Info("daemon started", zap.String("path", cfg.LocalDir), zap.String("remote_path", cfg.RemoteDir),
		zap.Duration("poll_interval", cfg.PollInterval), zap.String("full_scan", cfg.FullScan))

	// The watcher starts before the first pass so that changes made during it are seen.
	wctx, stopWatch := context.WithCancel(ctx)
	var wg stdsync.WaitGroup
	defer func() {
		stopWatch()
		wg.Wait()
	}()
	w := a.watchLocal(wctx, &wg, cfg, log.Named("watcher"))

	po := passOptions{resync: cl.resync, forceDelete: cl.forceDelete, full: cl.full}
	nextFull := sched.Next(s.now())
	skipsSeen := map[yasync.Skip]bool{}
	for first := true; ; first = false {
		t.setState(stScanning)
		prog := newProgress(t, log, a.stderr, a.tty, a.logWriter)
		rep, err := s.pass(ctx, po, prog)
		prog.finish()
		if ctx.Err() != nil {
			log.Info("daemon stopped")
			return nil
		}
		a.summarize(rep, log, skipsSeen)
		if fatal := a.afterPass(ctx, s, t, rep, err, first, log); fatal != nil {
			return fatal
		}
		if a.hooks != nil && a.hooks.passDone != nil {
			a.hooks.passDone(rep, err)
		}

		po = passOptions{}
		dirty := err != nil || (rep != nil && len(rep.Failures) > 0)
		full, stopped := a.waitForWork(ctx, s, w, dirty, nextFull, hup, log)
		if stopped {
			log.Info("daemon stopped")
			return nil
		}
		if now := s.now(); full || !now.Before(nextFull) {
			po.full = true
			nextFull = sched.Next(now)
		}
	}
}

// waitForWork blocks until a pass is due and reports whether it must be a full one. A pass
// is due when the watcher saw a local change, when the Disk's revision moved (a ~30-byte
// probe every poll_interval, API document §10), at the full-scan time, on SIGHUP, and at
// every poll while the last pass failed or the watcher is not running. So an idle daemon
// neither walks the tree nor lists the Disk.
func (a *app) waitForWork(ctx context.Context, s *session, w *localWatch, dirty bool, nextFull time.Time, hup <-chan os.Signal, log *zap.Logger) (full, stopped bool) {
	fullTimer := time.NewTimer(time.Until(nextFull))
	defer fullTimer.Stop()
	for {
		poll := time.NewTimer(s.cfg.PollInterval)
		select {
		case <-ctx.Done():
			poll.Stop()
			return false, true
		case <-w.kick:
			poll.Stop()
			return false, false
		case <-fullTimer.C:
			poll.Stop()
			return true, false
		case <-hup:
			poll.Stop()
			log.Info("full pass requested", zap.String("op", "SIGHUP"))
			return true, false
		case <-poll.C:
		}
		if dirty || !w.watching.Load() {
			return false, false
		}
		if changed, err := remoteChanged(ctx, s); err != nil || changed {
			// A failing probe is left to the pass, which reports it in the status.
			return false, false
		}
	}
}

// remoteChanged compares the Disk revision with the one saved after the last listing.
func remoteChanged(ctx context.Context, s *session) (bool, error) {
	rev, err := s.remote.Revision(ctx)
	if err != nil {
		return true, err
	}
	cur, err := s.db.Cursor()
	if err != nil {
		return true, err
	}
	return rev != cur.Revision, nil
}

// localWatch turns the watcher's batches into a 1-buffered kick: the pass scans the whole
// tree anyway, so which paths changed only matters for when to start.
type localWatch struct {
	kick     chan struct{}
	watching atomic.Bool
}

// watchLocal runs the watcher until ctx ends. When the watch cannot be set up (the root is
// missing, the inotify limit is reached) it tries again at every poll; meanwhile the daemon
// scans the tree at every poll instead.
func (a *app) watchLocal(ctx context.Context, wg *stdsync.WaitGroup, cfg *config.Config, log *zap.Logger) *localWatch {
	lw := &localWatch{kick: make(chan struct{}, 1)}
	var exclude func(string, bool) bool
	if m, err := ignore.New(cfg.Exclude, filepath.Join(cfg.LocalDir, ignoreFile)); err == nil {
		exclude = m.Match
	}
	batches := make(chan watcher.Batch)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-batches:
				select {
				case lw.kick <- struct{}{}:
				default:
				}
			}
		}
	}()
	go func() {
		defer wg.Done()
		for {
			w, err := watcher.New(watcher.Options{Root: cfg.LocalDir, Settle: cfg.Settle, Exclude: exclude, Logger: log})
			if err == nil {
				lw.watching.Store(true)
				err = w.Run(ctx, batches)
				lw.watching.Store(false)
			}
			if ctx.Err() != nil {
				return
			}
			log.Warn("not watching the local folder; scanning it at every poll", zap.String("path", cfg.LocalDir), zap.Error(err))
			t := time.NewTimer(cfg.PollInterval)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}()
	return lw
}

// afterPass records a pass's outcome in the status and decides whether the daemon must
// stop: it returns the error to exit with, or nil to go on.
func (a *app) afterPass(ctx context.Context, s *session, t *tracker, rep *yasync.Report, err error, first bool, log *zap.Logger) error {
	counts := countsOf(rep)
	if err == nil {
		t.passEnded(s.now(), counts, "", stIdle)
		// The quota changes only when something was written; one cheap call then.
		if first || counts.Uploaded+counts.Deleted+counts.Conflicts > 0 {
			if d, qerr := s.remote.DiskInfo(ctx); qerr == nil {
				t.setQuota(d.TotalSpace, d.UsedSpace)
			}
		}
		return nil
	}
	_, msg := classify(err, s.cfg)
	st := errorState(err)
	t.passEnded(s.now(), counts, msg, st)
	if !isUsage(err) {
		s.recordFailure(rep, msg)
	}
	var guard *yasync.GuardError
	switch {
	case isUsage(err) && first:
		return err
	case errors.As(err, &guard) && guard.Kind != yasync.GuardMissingRoot:
		return err
	case errors.Is(err, client.ErrUnauthorized) && s.cfg.Token != "":
		return err
	}
	log.Error("pass failed", zap.String("state", st), zap.Error(err))
	return nil
}
