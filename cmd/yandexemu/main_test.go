package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as the command, so the real signal handling of main
// can be tested without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("YANDEXEMU_AS_MAIN") == "1" {
		os.Args = append([]string{"yandexemu"}, strings.Fields(os.Getenv("YANDEXEMU_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var originRE = regexp.MustCompile(`^http://127\.0\.0\.1:\d+$`)

// The first stdout line is the origin alone; the API answers there with the -token given;
// cancelling stops run cleanly.
func TestRunPrintsOriginAndServes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-token", "T", "-latency", "1ms", "-auto-approve"}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	origin := strings.TrimSuffix(line, "\n")
	if !originRE.MatchString(origin) {
		t.Fatalf("first line %q is not an origin", line)
	}
	req, _ := http.NewRequest("GET", origin+"/v1/disk?fields=revision", nil)
	req.Header.Set("Authorization", "OAuth T")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("GET /v1/disk: %d", res.StatusCode)
	}
	cancel()
	go io.Copy(io.Discard, pr)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop after cancel")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-fault-rate", "2"}, {"-latency", "soon"}, {"extra"}} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

// The command as a process: origin first on stdout, clean exit 0 on SIGTERM.
func TestProcessStopsOnSIGTERM(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "YANDEXEMU_AS_MAIN=1", "YANDEXEMU_ARGS=-addr 127.0.0.1:0 -data "+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !originRE.MatchString(strings.TrimSpace(line)) {
		_ = cmd.Process.Kill()
		t.Fatalf("first line %q, %v", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("no exit after SIGTERM")
	}
}
