package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/yasyncd/yasyncd/auth"
	"github.com/yasyncd/yasyncd/client"
	"github.com/yasyncd/yasyncd/internal/emulator"
	"github.com/yasyncd/yasyncd/state"
	yasync "github.com/yasyncd/yasyncd/sync"
)

// fastHooks keep retries of failing requests short.
func fastHooks() *testHooks {
	return &testHooks{client: func(o *client.Options) {
		o.MaxRetries = 2
		o.RequestsPerSecond = -1
		o.RetryBaseDelay = time.Millisecond
		o.RetryMaxDelay = 5 * time.Millisecond
		o.LockedDelayMin = time.Millisecond
		o.LockedDelayMax = 2 * time.Millisecond
	}}
}

// emuEnv is an environment that syncs <HOME>/Sync with disk:/Sync on the emulator.
func emuEnv(t *testing.T, srv *emulator.Server) testEnv {
	t.Helper()
	env := newTestEnv(t)
	env["YASYNCD_TOKEN"] = srv.Token()
	env["YASYNCD_API_URL"] = srv.URL
	env["YASYNCD_OAUTH_URL"] = srv.URL
	env["YASYNCD_LOCAL_DIR"] = filepath.Join(env["HOME"], "Sync")
	env["YASYNCD_REMOTE_DIR"] = "/Sync"
	return env
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustOnce(t *testing.T, env testEnv, args ...string) result {
	t.Helper()
	r := runCmd(context.Background(), env, fastHooks(), append([]string{"--once"}, args...)...)
	if r.code != 0 {
		t.Fatalf("--once %v: exit %d\nstderr: %s", args, r.code, r.stderr)
	}
	return r
}

// transferRequests counts requests that move file bytes or change the Disk.
func transferRequests(srv *emulator.Server) []string {
	var out []string
	for _, r := range srv.Requests() {
		if r.Method != "GET" || strings.Contains(r.Path, "/download") || strings.HasPrefix(r.Path, emulator.UploadPathPrefix) {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

func TestOnceFirstRunCreatesRoots(t *testing.T) {
	srv := emulator.NewServer(t)
	env := emuEnv(t, srv)
	mustOnce(t, env)
	if fi, err := os.Stat(filepath.Join(env["YASYNCD_LOCAL_DIR"], ".yasyncd")); err != nil || !fi.IsDir() {
		t.Errorf("local root not set up: %v", err)
	}
	if e, ok := srv.Stat("disk:/Sync"); !ok || !e.Dir {
		t.Errorf("remote root not created: %+v %v", e, ok)
	}
	fi, err := os.Stat(env["YASYNCD_STATE_DIR"])
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("state dir %v %v", fi, err)
	}
}

func TestOnceTwoWay(t *testing.T) {
	srv := emulator.NewServer(t)
	env := emuEnv(t, srv)
	local := env["YASYNCD_LOCAL_DIR"]
	writeFile(t, filepath.Join(local, "up.txt"), "from here")
	writeFile(t, filepath.Join(local, "dir/deep.txt"), "deep")
	if err := srv.Mkdir("disk:/Sync"); err != nil {
		t.Fatal(err)
	}
	if err := srv.PutFile("disk:/Sync/down.txt", []byte("from there")); err != nil {
		t.Fatal(err)
	}
	mustOnce(t, env)
	if got := readFile(t, filepath.Join(local, "down.txt")); got != "from there" {
		t.Errorf("downloaded %q", got)
	}
	for p, want := range map[string]string{"disk:/Sync/up.txt": "from here", "disk:/Sync/dir/deep.txt": "deep"} {
		if b, err := srv.ReadFile(p); err != nil || string(b) != want {
			t.Errorf("%s: %q %v", p, b, err)
		}
	}

	// The second pass finds nothing to do and sends no transfer.
	srv.ResetRequests()
	mustOnce(t, env)
	if tr := transferRequests(srv); len(tr) > 0 {
		t.Errorf("second pass sent %v", tr)
	}

	// `status` reads the outcome from the state database.
	r := runCmd(context.Background(), env, nil, "status", "--json")
	m := checkStatusJSON(t, r.stdout)
	if m["running"] != false || m["last_sync"] == nil || m["last_error"] != nil {
		t.Errorf("status after sync: %v", m)
	}
}

func TestOnceDryRun(t *testing.T) {
	srv := emulator.NewServer(t)
	env := emuEnv(t, srv)
	mustOnce(t, env)
	local := env["YASYNCD_LOCAL_DIR"]
	writeFile(t, filepath.Join(local, "new.txt"), "x")
	if err := srv.PutFile("disk:/Sync/remote.txt", []byte("y")); err != nil {
		t.Fatal(err)
	}
	srv.ResetRequests()
	r := mustOnce(t, env, "--dry-run")
	if !strings.Contains(r.stdout, "new.txt") || !strings.Contains(r.stdout, "remote.txt") {
		t.Errorf("plan:\n%s", r.stdout)
	}
	if tr := transferRequests(srv); len(tr) > 0 {
		t.Errorf("dry run sent %v", tr)
	}
	if _, err := os.Stat(filepath.Join(local, "remote.txt")); !os.IsNotExist(err) {
		t.Errorf("dry run downloaded: %v", err)
	}
}

func TestOnceExitCodes(t *testing.T) {
	t.Run("mass delete guard is 3, --force-delete passes it", func(t *testing.T) {
		srv := emulator.NewServer(t)
		env := emuEnv(t, srv)
		local := env["YASYNCD_LOCAL_DIR"]
		for i := range 20 {
			writeFile(t, filepath.Join(local, "f"+string(rune('a'+i))+".txt"), "content")
		}
		mustOnce(t, env)
		for i := range 15 {
			if err := os.Remove(filepath.Join(local, "f"+string(rune('a'+i))+".txt")); err != nil {
				t.Fatal(err)
			}
		}
		r := runCmd(context.Background(), env, fastHooks(), "--once")
		if r.code != exitNeedsUser || !strings.Contains(r.stderr, "--force-delete") || strings.Count(r.stderr, "yasyncd: ") != 1 {
			t.Fatalf("guard: exit %d\n%s", r.code, r.stderr)
		}
		if _, ok := srv.Stat("disk:/Sync/fa.txt"); !ok {
			t.Error("the guard let a delete through")
		}
		mustOnce(t, env, "--force-delete")
		if _, ok := srv.Stat("disk:/Sync/fa.txt"); ok {
			t.Error("--force-delete did not delete")
		}
	})

	t.Run("missing root is 3", func(t *testing.T) {
		srv := emulator.NewServer(t)
		env := emuEnv(t, srv)
		writeFile(t, filepath.Join(env["YASYNCD_LOCAL_DIR"], "a.txt"), "a")
		mustOnce(t, env)
		if err := os.RemoveAll(env["YASYNCD_LOCAL_DIR"]); err != nil {
			t.Fatal(err)
		}
		r := runCmd(context.Background(), env, fastHooks(), "--once")
		if r.code != exitNeedsUser {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		if _, ok := srv.Stat("disk:/Sync/a.txt"); !ok {
			t.Error("remote file deleted after the local root vanished")
		}
	})

	t.Run("not logged in is 3", func(t *testing.T) {
		srv := emulator.NewServer(t)
		env := emuEnv(t, srv)
		delete(env, "YASYNCD_TOKEN")
		r := runCmd(context.Background(), env, fastHooks(), "--once")
		if r.code != exitNeedsUser || !strings.Contains(r.stderr, `yasyncd auth login`) {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
	})

	t.Run("refused token is 3", func(t *testing.T) {
		srv := emulator.NewServer(t)
		env := emuEnv(t, srv)
		env["YASYNCD_TOKEN"] = "y0_not_a_valid_token"
		r := runCmd(context.Background(), env, fastHooks(), "--once")
		if r.code != exitNeedsUser || !strings.Contains(r.stderr, "YASYNCD_TOKEN") || strings.Contains(r.stderr, "y0_not") {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
	})

	t.Run("unreachable API is 1", func(t *testing.T) {
		srv := emulator.NewServer(t)
		env := emuEnv(t, srv)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		env["YASYNCD_API_URL"] = "http://" + l.Addr().String()
		l.Close() // nothing listens there now
		r := runCmd(context.Background(), env, fastHooks(), "--once")
		if r.code != exitRetry || strings.Count(r.stderr, "yasyncd: ") != 1 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
	})

	t.Run("state held by another instance is 1", func(t *testing.T) {
		srv := emulator.NewServer(t)
		env := emuEnv(t, srv)
		if err := os.MkdirAll(env["YASYNCD_STATE_DIR"], 0o700); err != nil {
			t.Fatal(err)
		}
		db, err := state.Open(filepath.Join(env["YASYNCD_STATE_DIR"], stateFile), state.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		r := runCmd(context.Background(), env, fastHooks(), "--once")
		if r.code != exitRetry || !strings.Contains(r.stderr, "another yasyncd") {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
	})

	t.Run("full Disk is 3", func(t *testing.T) {
		srv := emulator.NewServer(t, emulator.Options{TotalSpace: 1000})
		env := emuEnv(t, srv)
		writeFile(t, filepath.Join(env["YASYNCD_LOCAL_DIR"], "big.bin"), strings.Repeat("x", 5000))
		r := runCmd(context.Background(), env, fastHooks(), "--once")
		if r.code != exitNeedsUser || !strings.Contains(r.stderr, "Disk is full") {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
	})
}

// Nothing the command prints or logs contains the token, even at debug level.
func TestNoTokenInOutput(t *testing.T) {
	srv := emulator.NewServer(t)
	env := emuEnv(t, srv)
	env["YASYNCD_LOG_LEVEL"] = "debug"
	writeFile(t, filepath.Join(env["YASYNCD_LOCAL_DIR"], "a.txt"), "a")
	r := mustOnce(t, env)
	if strings.Contains(r.stderr+r.stdout, srv.Token()) {
		t.Fatal("token in output")
	}
	if !strings.Contains(r.stderr, `"level":"debug"`) {
		t.Errorf("no JSON debug logs on a non-terminal:\n%s", r.stderr)
	}
}

// daemonRun is `yasyncd run` running in the background.
type daemonRun struct {
	cancel context.CancelCauseFunc
	passes chan error    // every pass's outcome
	done   chan struct{} // closed when run returned; res is set then
	res    result
}

func runDaemon(t *testing.T, env testEnv) *daemonRun {
	t.Helper()
	ctx, cancel := context.WithCancelCause(context.Background())
	d := &daemonRun{cancel: cancel, passes: make(chan error, 64), done: make(chan struct{})}
	hooks := fastHooks()
	hooks.passDone = func(_ *yasync.Report, err error) { d.passes <- err }
	go func() {
		defer close(d.done)
		d.res = runCmd(ctx, env, hooks, "run")
	}()
	t.Cleanup(func() {
		cancel(nil)
		if _, ok := d.wait(); !ok {
			t.Error("daemon did not stop")
		}
	})
	return d
}

// wait waits for the daemon to exit.
func (d *daemonRun) wait() (result, bool) {
	select {
	case <-d.done:
		return d.res, true
	case <-time.After(10 * time.Second):
		return result{}, false
	}
}

// pass waits for the next pass and returns its error.
func (d *daemonRun) pass(t *testing.T) error {
	t.Helper()
	select {
	case err := <-d.passes:
		return err
	case <-d.done:
		t.Fatalf("daemon exited %d: %s", d.res.code, d.res.stderr)
	case <-time.After(20 * time.Second):
		t.Fatal("no pass within 20s")
	}
	return nil
}

func TestDaemon(t *testing.T) {
	srv := emulator.NewServer(t)
	env := emuEnv(t, srv)
	env["YASYNCD_POLL_INTERVAL"] = "1s"
	writeFile(t, filepath.Join(env["YASYNCD_LOCAL_DIR"], "a.txt"), "a")
	d := runDaemon(t, env)
	if err := d.pass(t); err != nil {
		t.Fatalf("first pass: %v", err)
	}

	// status asks the running daemon on its socket.
	r := runCmd(context.Background(), env, nil, "status", "--json")
	m := checkStatusJSON(t, r.stdout)
	if r.code != 0 || m["running"] != true || m["state"] != "idle" || m["last_sync"] == nil || m["quota"] == nil {
		t.Errorf("status of the daemon: %d %v", r.code, m)
	}
	// A second instance on the same state is refused: try again later.
	r = runCmd(context.Background(), env, fastHooks(), "--once")
	if r.code != exitRetry || !strings.Contains(r.stderr, "another yasyncd") {
		t.Errorf("second instance: %d %s", r.code, r.stderr)
	}

	// A remote change arrives with a later poll.
	if err := srv.PutFile("disk:/Sync/b.txt", []byte("b")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := d.pass(t); err != nil {
			t.Fatalf("pass: %v", err)
		}
		if _, err := os.Stat(filepath.Join(env["YASYNCD_LOCAL_DIR"], "b.txt")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("remote file never downloaded")
		}
	}

	// A running daemon counts what it did since it started.
	r = runCmd(context.Background(), env, nil, "status", "--json")
	m = checkStatusJSON(t, r.stdout)
	if c := m["counts"].(map[string]any); c["uploaded"] != 1.0 || c["downloaded"] != 1.0 {
		t.Errorf("counts since start: %v", c)
	}

	// SIGTERM is a clean stop: exit 0, socket removed.
	d.cancel(&signalError{syscall.SIGTERM})
	if r, ok := d.wait(); !ok || r.code != 0 {
		t.Fatalf("SIGTERM: stopped %v, exit %d: %s", ok, r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(env["YASYNCD_STATE_DIR"], socketFile)); !os.IsNotExist(err) {
		t.Errorf("socket left: %v", err)
	}
	r = runCmd(context.Background(), env, nil, "status", "--json")
	if m := checkStatusJSON(t, r.stdout); m["running"] != false {
		t.Errorf("status after stop: %v", m)
	}
}

func TestDaemonSIGINT(t *testing.T) {
	srv := emulator.NewServer(t)
	env := emuEnv(t, srv)
	d := runDaemon(t, env)
	if err := d.pass(t); err != nil {
		t.Fatal(err)
	}
	d.cancel(&signalError{os.Interrupt})
	if r, ok := d.wait(); !ok || r.code != exitInterrupted {
		t.Fatalf("SIGINT: stopped %v, exit %d: %s", ok, r.code, r.stderr)
	}
}

// A daemon keeps running while offline and reports it.
func TestDaemonOffline(t *testing.T) {
	srv := emulator.NewServer(t)
	env := emuEnv(t, srv)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	env["YASYNCD_API_URL"] = "http://" + l.Addr().String()
	l.Close()
	d := runDaemon(t, env)
	if err := d.pass(t); err == nil {
		t.Fatal("pass against a closed port succeeded")
	}
	r := runCmd(context.Background(), env, nil, "status", "--json")
	m := checkStatusJSON(t, r.stdout)
	if m["running"] != true || m["state"] != "offline" || m["last_error"] == nil {
		t.Errorf("status while offline: %v", m)
	}
}

// listings counts the folder listings the emulator answered.
func listings(srv *emulator.Server) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Method == "GET" && r.Path == "/v1/disk/resources" && r.Query.Get("path") == "disk:/Sync" {
			n++
		}
	}
	return n
}

// --full lists the Disk folder even when its revision says nothing changed.
func TestOnceFull(t *testing.T) {
	srv := emulator.NewServer(t)
	env := emuEnv(t, srv)
	writeFile(t, filepath.Join(env["YASYNCD_LOCAL_DIR"], "a.txt"), "a")
	mustOnce(t, env)
	mustOnce(t, env) // our own upload moved the revision: this pass lists once more
	srv.ResetRequests()
	mustOnce(t, env)
	if n := listings(srv); n != 0 {
		t.Errorf("unchanged Disk listed %d times without --full", n)
	}
	mustOnce(t, env, "--full")
	if n := listings(srv); n == 0 {
		t.Error("--full did not list the Disk folder")
	}
}

// SIGHUP starts a full pass at once.
func TestDaemonSIGHUP(t *testing.T) {
	srv := emulator.NewServer(t)
	env := emuEnv(t, srv)
	env["YASYNCD_POLL_INTERVAL"] = "24h"
	d := runDaemon(t, env)
	if err := d.pass(t); err != nil {
		t.Fatal(err)
	}
	if err := srv.PutFile("disk:/Sync/b.txt", []byte("b")); err != nil {
		t.Fatal(err)
	}
	// The daemon has registered for SIGHUP before its first pass, so the signal cannot
	// kill the test binary.
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if err := d.pass(t); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(env["YASYNCD_LOCAL_DIR"], "b.txt")); got != "b" {
		t.Errorf("b.txt = %q", got)
	}
}

// A dry run before the first sync shows the plan and creates neither root.
func TestOnceDryRunFirstRun(t *testing.T) {
	srv := emulator.NewServer(t)
	env := emuEnv(t, srv)
	writeFile(t, filepath.Join(env["YASYNCD_LOCAL_DIR"], "a.txt"), "a")
	r := mustOnce(t, env, "--dry-run")
	if !strings.Contains(r.stdout, "a.txt") {
		t.Errorf("plan:\n%s", r.stdout)
	}
	if _, ok := srv.Stat("disk:/Sync"); ok {
		t.Error("dry run created the remote root")
	}
	if _, err := os.Stat(filepath.Join(env["YASYNCD_LOCAL_DIR"], ".yasyncd")); !os.IsNotExist(err) {
		t.Errorf("dry run set up the local root: %v", err)
	}
}

// A mass delete needs the user's decision: the daemon stops with exit 3 instead of
// waiting forever with the state locked.
func TestDaemonStopsOnGuard(t *testing.T) {
	srv := emulator.NewServer(t)
	env := emuEnv(t, srv)
	local := env["YASYNCD_LOCAL_DIR"]
	for i := range 12 {
		writeFile(t, filepath.Join(local, "f"+string(rune('a'+i))), "x")
	}
	mustOnce(t, env)
	for i := range 11 {
		if err := os.Remove(filepath.Join(local, "f"+string(rune('a'+i)))); err != nil {
			t.Fatal(err)
		}
	}
	d := runDaemon(t, env)
	r, ok := d.wait()
	if !ok || r.code != exitNeedsUser || !strings.Contains(r.stderr, "--force-delete") {
		t.Fatalf("stopped %v, exit %d: %s", ok, r.code, r.stderr)
	}
	if _, ok := srv.Stat("disk:/Sync/fa"); !ok {
		t.Error("guard let a delete through")
	}
}

// A local change reaches the Disk through the watcher, long before the next poll.
func TestDaemonWatcherTriggersPass(t *testing.T) {
	srv := emulator.NewServer(t)
	env := emuEnv(t, srv)
	env["YASYNCD_POLL_INTERVAL"] = "1h"
	env["YASYNCD_SETTLE"] = "50ms"
	writeFile(t, filepath.Join(env["YASYNCD_LOCAL_DIR"], "a.txt"), "a")
	d := runDaemon(t, env)
	if err := d.pass(t); err != nil {
		t.Fatalf("first pass: %v", err)
	}
	// The watcher is set up concurrently with the first pass; write until a pass uploads.
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		writeFile(t, filepath.Join(env["YASYNCD_LOCAL_DIR"], "new.txt"), fmt.Sprint("version ", i))
		select {
		case err := <-d.passes:
			if err != nil {
				t.Fatalf("pass: %v", err)
			}
		case <-time.After(500 * time.Millisecond):
		}
		if _, ok := srv.Stat("disk:/Sync/new.txt"); ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a local change was not synced without a poll")
		}
	}
}

// An idle daemon only probes the Disk revision: no listing, no transfer, no local pass.
func TestDaemonIdleOnlyProbesRevision(t *testing.T) {
	srv := emulator.NewServer(t)
	env := emuEnv(t, srv)
	env["YASYNCD_POLL_INTERVAL"] = "1s"
	writeFile(t, filepath.Join(env["YASYNCD_LOCAL_DIR"], "a.txt"), "a")
	d := runDaemon(t, env)
	if err := d.pass(t); err != nil {
		t.Fatalf("first pass: %v", err)
	}
	// The first pass's own uploads moved the Disk revision, so one more pass lists the Disk
	// to catch up (and the watcher may start one for the pass's own writes): wait until
	// two poll intervals go by without a pass.
	for quiet := false; !quiet; {
		select {
		case err := <-d.passes:
			if err != nil {
				t.Fatalf("pass: %v", err)
			}
		case <-time.After(2500 * time.Millisecond):
			quiet = true
		}
	}
	srv.ResetRequests()
	probes := func() int {
		n := 0
		for _, r := range srv.Requests() {
			if r.Method == "GET" && r.Path == "/v1/disk" {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(20 * time.Second)
	for probes() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no revision probes")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, r := range srv.Requests() {
		if r.Method != "GET" || r.Path != "/v1/disk" {
			t.Errorf("idle daemon sent %s %s %v", r.Method, r.Path, r.Query)
		}
	}
	select {
	case err := <-d.passes:
		t.Errorf("idle daemon ran a pass (err %v)", err)
	default:
	}
	// A change on the Disk moves the revision and the next probe starts a pass.
	if err := srv.PutFile("disk:/Sync/b.txt", []byte("b")); err != nil {
		t.Fatal(err)
	}
	if err := d.pass(t); err != nil {
		t.Fatalf("pass after remote change: %v", err)
	}
	if got := readFile(t, filepath.Join(env["YASYNCD_LOCAL_DIR"], "b.txt")); got != "b" {
		t.Fatalf("b.txt = %q", got)
	}
}

// A refresh refused with invalid_grant stops transfers without deleting anything, shows
// auth_required in the status, keeps the daemon running, and a new login lets it go on.
func TestDaemonLoginRequiredThenNewLogin(t *testing.T) {
	srv := emulator.NewServer(t)
	env := emuEnv(t, srv)
	delete(env, "YASYNCD_TOKEN")
	env["YASYNCD_CLIENT_ID"] = "app"
	env["YASYNCD_CLIENT_SECRET"] = "secret"
	env["YASYNCD_POLL_INTERVAL"] = "1s"
	store := auth.NewStore(env["YASYNCD_STATE_DIR"])
	saveToken := func(access, refresh string, expiry time.Time) {
		t.Helper()
		if err := os.MkdirAll(env["YASYNCD_STATE_DIR"], 0o700); err != nil {
			t.Fatal(err)
		}
		if err := store.Save(&oauth2.Token{AccessToken: access, RefreshToken: refresh, TokenType: "OAuth", Expiry: expiry}); err != nil {
			t.Fatal(err)
		}
	}
	// A first pass with a good token syncs a file both ways.
	access, refresh := srv.OAuth.IssueToken(time.Hour)
	saveToken(access, refresh, time.Now().Add(time.Hour))
	writeFile(t, filepath.Join(env["YASYNCD_LOCAL_DIR"], "a.txt"), "a")
	d := runDaemon(t, env)
	if err := d.pass(t); err != nil {
		t.Fatalf("first pass: %v", err)
	}
	// The user revokes the app: the access token dies with its refresh token, and the
	// stored token is due for a refresh.
	srv.OAuth.Revoke(access)
	saveToken(access, refresh, time.Now().Add(-time.Minute))
	if err := srv.PutFile("disk:/Sync/b.txt", []byte("b")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := d.pass(t)
		if err != nil && errors.Is(err, auth.ErrLoginRequired) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no login-required pass; last error %v", err)
		}
	}
	r := runCmd(context.Background(), env, nil, "status", "--json")
	m := checkStatusJSON(t, r.stdout)
	if m["running"] != true || m["state"] != "auth_required" || !strings.Contains(fmt.Sprint(m["last_error"]), "auth login") {
		t.Errorf("status while login is required: %v", m)
	}
	if got := readFile(t, filepath.Join(env["YASYNCD_LOCAL_DIR"], "a.txt")); got != "a" {
		t.Errorf("a.txt = %q while login is required", got)
	}
	if _, ok := srv.Stat("disk:/Sync/a.txt"); !ok {
		t.Error("a.txt deleted from the Disk while login is required")
	}
	// `yasyncd auth login` writes a new token.json; the running daemon picks it up.
	access, refresh = srv.OAuth.IssueToken(time.Hour)
	saveToken(access, refresh, time.Now().Add(time.Hour))
	deadline = time.Now().Add(20 * time.Second)
	for {
		if err := d.pass(t); err == nil {
			if _, err := os.Stat(filepath.Join(env["YASYNCD_LOCAL_DIR"], "b.txt")); err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the daemon did not pick up the new login")
		}
	}
}

// SIGTERM during --once: the pass was cut short, so a script hears "try again later".
func TestOnceSIGTERMMidPass(t *testing.T) {
	srv := emulator.NewServer(t, emulator.Options{Latency: 100 * time.Millisecond})
	env := emuEnv(t, srv)
	for i := range 20 {
		writeFile(t, filepath.Join(env["YASYNCD_LOCAL_DIR"], fmt.Sprintf("f%d.txt", i)), "x")
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan result, 1)
	go func() { done <- runCmd(ctx, env, fastHooks(), "--once") }()
	deadline := time.Now().Add(20 * time.Second)
	for len(srv.Requests()) < 3 {
		if time.Now().After(deadline) {
			t.Fatal("the pass never reached the Disk")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel(&signalError{syscall.SIGTERM})
	select {
	case r := <-done:
		if r.code != exitRetry {
			t.Fatalf("--once cut short by SIGTERM: exit %d, want %d\n%s", r.code, exitRetry, r.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("--once did not stop on SIGTERM")
	}
}
