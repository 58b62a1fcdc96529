package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.uber.org/zap"

	"github.com/yasyncd/yasyncd/client"
	"github.com/yasyncd/yasyncd/internal/pathname"
	"github.com/yasyncd/yasyncd/state"
)

// RunOnce is one full two-way pass: preflight and guards, both scans, the plan, the
// transfers. Per-path failures are in Report.Failures (retried on the next pass); the
// error is for what stops the pass: a *GuardError, ErrDiskFull, an unauthorized token, or
// a failing listing. The report is non-nil whenever planning got that far.
func (e *Engine) RunOnce(ctx context.Context) (*Report, error) {
	o := &e.o
	rep := &Report{}

	// Preflight: a missing root while the state has entries must not look like "the user
	// deleted everything" (sync-semantics "Missing root guard"). Nothing is touched.
	rootExists, marked, err := o.Local.Check()
	if err != nil {
		return rep, fmt.Errorf("local root: %w", err)
	}
	n, err := o.State.Len()
	if err != nil {
		return rep, err
	}
	fresh := n == 0 || o.Resync
	if !fresh && (!rootExists || !marked) {
		what := "local folder is missing"
		if rootExists {
			what = "local folder has no .yasyncd/ marker"
		}
		return rep, &GuardError{Kind: GuardMissingRoot, Msg: "the " + what +
			" but the state has synced files; nothing was changed. If the disk is not mounted, mount it; " +
			"to start over from the remote side, run with --resync"}
	}
	if fresh && !o.DryRun {
		if err := o.Local.Init(); err != nil {
			return rep, fmt.Errorf("create local root: %w", err)
		}
		rootExists = true
		if err := e.ensureRemoteRoot(ctx); err != nil {
			return rep, err
		}
	}
	if !o.DryRun && rootExists {
		if err := o.Local.Prepare(ctx); err != nil {
			return rep, fmt.Errorf("prepare local root: %w", err)
		}
	}

	// Crash recovery: journalled paths may be half-done; re-check them in full.
	journal, err := o.State.Journal()
	if err != nil {
		return rep, err
	}
	force, noMove := map[string]bool{}, map[string]bool{}
	for _, r := range journal {
		force[r.Key] = true
		if r.From != "" {
			force[pathname.Key(r.From)] = true
		}
		if Op(r.Op) != OpMoveLocal && Op(r.Op) != OpMoveRemote {
			noMove[r.Key] = true
			noMove[pathname.Key(r.From)] = true
		}
	}

	sc := &scan{}
	if err := e.loadBase(fresh, n, sc); err != nil {
		return rep, fmt.Errorf("read state: %w", err)
	}
	if err := e.scanLocal(ctx, sc, rootExists, force); err != nil {
		return rep, err
	}
	if err := e.scanRemote(ctx, sc, fresh, len(journal) > 0); err != nil {
		return rep, err
	}
	p := newPlanner(o, sc)
	// A journalled path may be half of an interrupted rename or conflict: taking it for
	// a user's rename would turn a finished step into a spurious conflict.
	p.noMove, p.journal = noMove, journal
	plan := p.build()
	rep.Plan = plan
	rep.Skipped = append(rep.Skipped, plan.Skipped...)
	if o.Progress != nil {
		o.Progress.Planned(plan)
	}
	e.log.Info("pass planned", zap.Int("jobs", len(plan.Jobs)), zap.Int("record", len(plan.Record)),
		zap.Int("forget", len(plan.Forget)), zap.Bool("listed", sc.listed))

	if err := e.guards(sc, plan, fresh); err != nil {
		if !o.DryRun {
			_ = e.saveStatus(rep, err)
		}
		return rep, err
	}
	if o.DryRun {
		return rep, nil
	}

	if o.Resync {
		if err := o.State.Reset(); err != nil {
			return rep, err
		}
	} else {
		for _, r := range journal {
			if err := o.State.Abandon(r.ID); err != nil && !errors.Is(err, state.ErrUnknownJob) {
				return rep, err
			}
		}
	}
	// Paths both sides already agree on: state only, no transfer.
	forget := append(append([]string(nil), plan.Forget...), sc.forgetExcluded...)
	if len(plan.Record) > 0 || len(forget) > 0 {
		if err := o.State.Apply(plan.Record, forget); err != nil {
			return rep, err
		}
	}
	rep.Recorded = len(plan.Record)

	x := &executor{e: e, rep: rep}
	runErr := x.run(ctx, plan.Jobs)
	if runErr == nil && x.diskFull.Load() {
		runErr = ErrDiskFull
	}
	if runErr == nil && len(rep.Failures) == 0 {
		// The revision taken before the listing: anything changed since is listed next
		// time. Stored only after the pass applied everything it saw.
		cur := state.Cursor{Revision: sc.revision, ListedAt: o.Now()}
		if !sc.listed {
			old, err := o.State.Cursor()
			if err != nil {
				return rep, err
			}
			cur.ListedAt = old.ListedAt
		}
		if err := o.State.SetCursor(cur); err != nil {
			return rep, err
		}
	}
	if err := e.saveStatus(rep, runErr); err != nil && runErr == nil {
		runErr = err
	}
	e.log.Info("pass done", zap.Int("uploaded", rep.Uploaded), zap.Int("downloaded", rep.Downloaded),
		zap.Int("moved", rep.Moved), zap.Int("deleted", rep.Deleted), zap.Int("conflicts", rep.Conflicts),
		zap.Int("failed", len(rep.Failures)))
	return rep, runErr
}

func (e *Engine) saveStatus(rep *Report, runErr error) error {
	st, err := e.o.State.Status()
	if err != nil {
		return err
	}
	st.Counts = state.Counts{Uploaded: rep.Uploaded, Downloaded: rep.Downloaded, Moved: rep.Moved,
		Deleted: rep.Deleted, Conflicts: rep.Conflicts, Failed: len(rep.Failures)}
	st.LastError = ""
	switch {
	case runErr != nil:
		st.LastError = runErr.Error()
	case len(rep.Failures) > 0:
		st.LastError = fmt.Sprintf("%d path(s) failed, first %s: %v", len(rep.Failures), rep.Failures[0].Path, rep.Failures[0].Err)
	default:
		now := e.o.Now()
		st.LastSync = &now
	}
	return e.o.State.SetStatus(st)
}

// guards stop a pass before anything is deleted when it looks like an accident rather
// than the user's intent (sync-semantics "Deletes and safety").
func (e *Engine) guards(sc *scan, plan *Plan, fresh bool) error {
	if fresh || e.o.ForceDelete || len(sc.base) == 0 {
		return nil
	}
	var delL, delR int
	for _, j := range plan.Jobs {
		switch j.Op {
		case OpDeleteLocal:
			delL++
		case OpDeleteRemote:
			delR++
		}
	}
	if sc.localRootEmpty && delR > 0 {
		return &GuardError{Kind: GuardEmptySide, Msg: fmt.Sprintf(
			"the local folder is empty but %d synced files are tracked; nothing was deleted on the Disk. "+
				"If you really emptied it, run again with --force-delete", plan.Tracked)}
	}
	if sc.listed && sc.remoteEmpty && delL > 0 {
		return &GuardError{Kind: GuardEmptySide, Msg: fmt.Sprintf(
			"the remote folder %s is empty but %d synced files are tracked; nothing was deleted locally. "+
				"If you really emptied it, run again with --force-delete", e.o.RemoteRoot, plan.Tracked)}
	}
	for _, side := range []struct {
		name string
		n    int
	}{{"locally", plan.DeletesLocal}, {"on the Disk", plan.DeletesRemote}} {
		if side.n <= guardFloor || !e.overLimit(side.n, plan.Tracked) {
			continue
		}
		return &GuardError{Kind: GuardMassDelete, Msg: fmt.Sprintf(
			"this pass would delete %d of %d tracked files %s, over the max_delete limit (%s); nothing was changed. "+
				"If that is intended, run again with --force-delete", side.n, plan.Tracked, side.name, e.limitText())}
	}
	return nil
}

func (e *Engine) overLimit(n, tracked int) bool {
	if m := e.o.MaxDelete; m.Count > 0 {
		return n > m.Count
	}
	return float64(n)*100 > e.o.MaxDelete.Percent*float64(tracked)
}

func (e *Engine) limitText() string {
	if e.o.MaxDelete.Count > 0 {
		return fmt.Sprint(e.o.MaxDelete.Count)
	}
	return fmt.Sprintf("%g%%", e.o.MaxDelete.Percent)
}

// ensureRemoteRoot creates the remote root and its parents when missing (first sync).
func (e *Engine) ensureRemoteRoot(ctx context.Context) error {
	root := strings.TrimSuffix(e.o.RemoteRoot, "/")
	_, err := e.o.Remote.Stat(ctx, root)
	if err == nil {
		return nil
	}
	if !errors.Is(err, client.ErrNotFound) {
		return fmt.Errorf("remote root %s: %w", root, err)
	}
	i := strings.Index(root, ":/")
	if i < 0 {
		return fmt.Errorf("remote root %s: not an absolute Disk path", root)
	}
	prefix, rest := root[:i+2], root[i+2:]
	cur := strings.TrimSuffix(prefix, "/")
	for _, part := range strings.Split(rest, "/") {
		if part == "" {
			continue
		}
		cur += "/" + part
		if err := e.o.Remote.Mkdir(ctx, cur); err != nil && !errors.Is(err, client.ErrAlreadyExists) {
			return fmt.Errorf("create remote root %s: %w", cur, err)
		}
	}
	return nil
}
