package main

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"

	"github.com/yasyncd/yasyncd/internal/config"
	"github.com/yasyncd/yasyncd/state"
	yasync "github.com/yasyncd/yasyncd/sync"
)

// The terminal display under concurrent job events and log lines: the tracker follows
// the jobs, log lines still get through, and nothing deadlocks or races.
func TestProgressTerminal(t *testing.T) {
	var out outBuffer
	lw := &lockedWriter{w: &out}
	log, err := newLogger(&config.Config{LogLevel: "info", LogFormat: "console"}, lw, true)
	if err != nil {
		t.Fatal(err)
	}
	tr := newTracker(state.Status{})
	p := newProgress(tr, log, &out, true, lw)
	plan := &yasync.Plan{}
	for i := range 8 {
		op := yasync.OpUpload
		if i%2 == 1 {
			op = yasync.OpDownload
		}
		plan.Jobs = append(plan.Jobs, &yasync.Job{ID: i, Op: op, LocalPath: fmt.Sprintf("f%d", i), Size: 1000})
	}
	plan.Jobs = append(plan.Jobs, &yasync.Job{ID: 8, Op: yasync.OpMkdirRemote, RemotePath: "d", Dir: true})
	p.Planned(plan)
	if s := tr.snapshot(); s.State != stSyncing || s.Queue != 9 {
		t.Fatalf("after Planned: %+v", s)
	}
	var wg sync.WaitGroup
	for _, j := range plan.Jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.JobStarted(j)
			for range 10 {
				p.JobBytes(j, j.Size/10)
				log.Info("a log line", zap.String("path", j.LocalPath))
			}
			var err error
			if j.ID == 3 {
				err = errors.New("boom")
			}
			p.JobDone(j, err)
		}()
	}
	// The status can be read while jobs run.
	for range 5 {
		_ = tr.snapshot()
	}
	wg.Wait()
	p.finish()
	s := tr.snapshot()
	if len(s.Transfers) != 0 || s.Queue != 0 {
		t.Errorf("after the pass: %+v", s)
	}
	text := out.String()
	if strings.Count(text, "a log line") != 90 || !strings.Contains(text, "0/9 done") {
		t.Errorf("terminal output:\n%s", text)
	}
	// After finish, log lines are written as is.
	log.Info("after")
	if !strings.HasSuffix(out.String(), "\n") {
		t.Error("log line after finish not written")
	}
}

func TestShorten(t *testing.T) {
	if got := shorten("short.txt", 32); got != "short.txt" {
		t.Errorf("short: %q", got)
	}
	long := strings.Repeat("каталог/", 10) + "файл.txt"
	got := shorten(long, 16)
	if len([]rune(got)) != 16 || !strings.HasSuffix(got, "файл.txt") || !strings.HasPrefix(got, "…") {
		t.Errorf("long: %q", got)
	}
}

func TestTrackerTransfers(t *testing.T) {
	tr := newTracker(state.Status{})
	up := &yasync.Job{Op: yasync.OpUpload, LocalPath: "a", Size: 10}
	p := newProgress(tr, zap.NewNop(), nil, false, nil)
	p.Planned(&yasync.Plan{Jobs: []*yasync.Job{up, {Op: yasync.OpDeleteRemote, RemotePath: "x"}}})
	p.JobStarted(up)
	p.JobBytes(up, 4)
	s := tr.snapshot()
	if len(s.Transfers) != 1 || s.Transfers[0] != (transfer{Path: "a", Direction: "upload", Bytes: 4, Size: 10}) || s.Queue != 1 {
		t.Errorf("snapshot %+v", s)
	}
	p.JobDone(up, nil)
	if s := tr.snapshot(); len(s.Transfers) != 0 {
		t.Errorf("transfer left after done: %+v", s)
	}
}

func TestLoggerFormats(t *testing.T) {
	for _, tc := range []struct {
		format string
		tty    bool
		want   string
	}{
		{"auto", false, `{"level":"warn","time":`},
		{"json", true, `{"level":"warn","time":`},
		{"auto", true, "WARN"},
		{"console", false, "WARN\tw\t"},
	} {
		var b outBuffer
		log, err := newLogger(&config.Config{LogLevel: "warn", LogFormat: tc.format}, &lockedWriter{w: &b}, tc.tty)
		if err != nil {
			t.Fatal(err)
		}
		log.Info("hidden")
		log.Named("w").Warn("shown", zap.String("path", "p"))
		got := b.String()
		if strings.Contains(got, "hidden") || !strings.Contains(got, "shown") || !strings.Contains(got, tc.want) {
			t.Errorf("%s tty=%v: %q", tc.format, tc.tty, got)
		}
	}
}

func TestSummarize(t *testing.T) {
	rep := &yasync.Report{
		Plan:     &yasync.Plan{Jobs: []*yasync.Job{{Op: yasync.OpUpload, LocalPath: "a"}}},
		Uploaded: 1, BytesUp: 2048, Conflicts: 1,
		Failures: []yasync.Failure{{Path: "b", Op: "download", Err: errors.New("boom")}},
		Skipped:  []yasync.Skip{{Path: "link", Reason: "symbolic link"}},
	}
	var out outBuffer
	a := &app{stderr: &out, tty: true}
	a.summarize(rep, zap.NewNop(), nil)
	want := "1 uploaded (2.0 KiB), 0 downloaded (0 B), 0 moved, 0 deleted, 1 conflicts, 1 failed\n" +
		"  failed  download b: boom\n  skipped link: symbolic link\n"
	if out.String() != want {
		t.Errorf("terminal summary:\n%s\nwant\n%s", out.String(), want)
	}

	// The daemon reports a skip once, and says nothing about idle passes.
	seen := map[yasync.Skip]bool{}
	idle := &yasync.Report{Plan: &yasync.Plan{}, Skipped: rep.Skipped}
	out = outBuffer{}
	a.summarize(idle, zap.NewNop(), seen)
	first := out.String()
	a.summarize(idle, zap.NewNop(), seen)
	if strings.Count(out.String(), "skipped link") != 1 || out.String() != first {
		t.Errorf("daemon summaries:\n%s", out.String())
	}

	// Off a terminal, skips become log lines (the engine logs the counts).
	var logs outBuffer
	log, _ := newLogger(&config.Config{LogLevel: "info", LogFormat: "json"}, &lockedWriter{w: &logs}, false)
	out = outBuffer{}
	(&app{stderr: &out}).summarize(rep, log, nil)
	if out.String() != "" || !strings.Contains(logs.String(), `"msg":"path skipped","path":"link","reason":"symbolic link"`) {
		t.Errorf("stderr %q logs %q", out.String(), logs.String())
	}
}
