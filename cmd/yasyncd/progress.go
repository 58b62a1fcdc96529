package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"go.uber.org/zap"

	yasync "github.com/yasyncd/yasyncd/sync"
)

// progress receives the engine's events for one pass. It keeps the status tracker up to
// date and shows the pass: a progress bar on a terminal, log lines otherwise. The
// engine calls it from its worker goroutines.
type progress struct {
	t   *tracker
	log *zap.Logger
	out io.Writer // the terminal (stderr); nil when not a terminal
	lw  *lockedWriter

	mu         sync.Mutex
	bar        *progressbar.ProgressBar
	byBytes    bool // the bar counts bytes (there are transfers), else jobs
	jobs, done int
	running    []*yasync.Job // started, not done; the last one is shown by name
}

// newProgress returns the display for one pass. lw is the logger's writer: while the bar
// is on screen, a log line first clears it, so lines and bar never mix.
func newProgress(t *tracker, log *zap.Logger, stderr io.Writer, tty bool, lw *lockedWriter) *progress {
	p := &progress{t: t, log: log.Named("progress"), lw: lw}
	if tty {
		p.out = stderr
	}
	return p
}

// direction is "upload" or "download" for jobs that move file bytes, else "".
func direction(j *yasync.Job) string {
	if j.Dir {
		return ""
	}
	switch j.Op {
	case yasync.OpUpload:
		return "upload"
	case yasync.OpDownload:
		return "download"
	}
	return ""
}

// jobPath is the path a job is known by to the user: the local spelling, or the remote one
// for jobs that only touch the Disk.
func jobPath(j *yasync.Job) string {
	if j.LocalPath != "" {
		return j.LocalPath
	}
	return j.RemotePath
}

func (p *progress) Planned(plan *yasync.Plan) {
	var bytes int64
	for _, j := range plan.Jobs {
		if direction(j) != "" {
			bytes += j.Size
		}
	}
	p.t.setQueue(len(plan.Jobs))
	if len(plan.Jobs) == 0 {
		return
	}
	p.t.setState(stSyncing)
	if p.out == nil {
		return // the engine logs the plan
	}
	p.mu.Lock()
	p.jobs = len(plan.Jobs)
	p.byBytes = bytes > 0
	max := int64(p.jobs)
	if p.byBytes {
		max = bytes
	}
	p.bar = progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(p.out),
		progressbar.OptionSetDescription(p.describe()),
		progressbar.OptionShowBytes(p.byBytes),
		progressbar.OptionUseIECUnits(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetSpinnerChangeInterval(0),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetPredictTime(true),
	)
	_ = p.bar.RenderBlank()
	p.mu.Unlock()
	// Lock order: the log writer's lock, then p.mu. So the hook is installed without
	// holding p.mu, and nothing logs while holding p.mu.
	if p.lw != nil {
		p.lw.setAround(func(write func()) {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.bar != nil {
				_ = p.bar.Clear()
			}
			write()
		})
	}
}

// describe is the bar's label: jobs done, jobs running and the latest one's path. Called
// with p.mu held.
func (p *progress) describe() string {
	d := fmt.Sprintf("%d/%d done, %d running", p.done, p.jobs, len(p.running))
	if n := len(p.running); n > 0 {
		d += " " + shorten(jobPath(p.running[n-1]), 32)
	}
	return d
}

// shorten keeps the end of a long path, which names the file.
func shorten(path string, max int) string {
	r := []rune(path)
	if len(r) <= max {
		return path
	}
	return "…" + string(r[len(r)-max+1:])
}

func (p *progress) JobStarted(j *yasync.Job) {
	p.t.started(j, jobPath(j), direction(j), j.Size)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running = append(p.running, j)
	if p.bar != nil {
		p.bar.Describe(p.describe())
	}
}

func (p *progress) JobBytes(j *yasync.Job, n int64) {
	p.t.progressed(j, n)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil && p.byBytes {
		_ = p.bar.Add64(n)
	}
}

func (p *progress) JobDone(j *yasync.Job, err error) {
	p.t.done(j)
	p.mu.Lock()
	for i, r := range p.running {
		if r == j {
			p.running = append(p.running[:i], p.running[i+1:]...)
			break
		}
	}
	p.done++
	if p.bar != nil {
		if !p.byBytes {
			_ = p.bar.Add(1)
		}
		p.bar.Describe(p.describe())
	}
	p.mu.Unlock()
	// On a terminal the bar and the final summary show this; the engine itself logs
	// failures.
	if p.out == nil && err == nil {
		p.log.Info("job done", zap.String("op", string(j.Op)), zap.String("path", jobPath(j)), zap.Int64("bytes", j.Size))
	}
}

// finish takes the bar off the screen.
func (p *progress) finish() {
	if p.lw != nil {
		p.lw.setAround(nil)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Exit()
		_ = p.bar.Clear()
		p.bar = nil
	}
}

// summarize tells the user what a pass did: a few lines on a terminal, log lines
// otherwise. The error itself is printed by main. seen, when not nil, holds the skips
// already reported: the daemon repeats a pass every poll and would otherwise report the
// same symlink forever; it also stays quiet about passes that did nothing.
func (a *app) summarize(rep *yasync.Report, log *zap.Logger, seen map[yasync.Skip]bool) {
	if rep == nil {
		return
	}
	var skipped []yasync.Skip
	for _, s := range rep.Skipped {
		if seen == nil || !seen[s] {
			skipped = append(skipped, s)
		}
		if seen != nil {
			seen[s] = true
		}
	}
	if !a.tty {
		// The engine logs the pass's counts and failures; the skips are for the user.
		for _, s := range skipped {
			log.Info("path skipped", zap.String("path", s.Path), zap.String("reason", s.Reason))
		}
		return
	}
	idle := rep.Plan == nil || len(rep.Plan.Jobs) == 0
	if seen != nil && idle && len(rep.Failures) == 0 && len(skipped) == 0 {
		return
	}
	w := a.stderr
	fmt.Fprintf(w, "%d uploaded (%s), %d downloaded (%s), %d moved, %d deleted, %d conflicts, %d failed\n",
		rep.Uploaded, yasync.FormatBytes(rep.BytesUp), rep.Downloaded, yasync.FormatBytes(rep.BytesDown),
		rep.Moved, rep.Deleted, rep.Conflicts, len(rep.Failures))
	for _, f := range rep.Failures {
		fmt.Fprintf(w, "  failed  %s %s: %v\n", f.Op, f.Path, f.Err)
	}
	for _, s := range skipped {
		fmt.Fprintf(w, "  skipped %s: %s\n", s.Path, s.Reason)
	}
}
