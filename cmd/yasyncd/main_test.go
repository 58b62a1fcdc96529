package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/yasyncd/yasyncd/auth"
	"github.com/yasyncd/yasyncd/client"
	"github.com/yasyncd/yasyncd/internal/config"
	"github.com/yasyncd/yasyncd/state"
	yasync "github.com/yasyncd/yasyncd/sync"
)

// testEnv is a hermetic environment: HOME, XDG dirs and the state dir in t.TempDir().
type testEnv map[string]string

func newTestEnv(t *testing.T) testEnv {
	t.Helper()
	home := t.TempDir()
	return testEnv{
		"HOME":              home,
		"XDG_CONFIG_HOME":   filepath.Join(home, ".config"),
		"YASYNCD_STATE_DIR": filepath.Join(home, "state"),
	}
}

func (e testEnv) get(k string) string { return e[k] }

// result is what one in-process run of the command produced.
type result struct {
	code           int
	stdout, stderr string
}

// runCmd runs the command in-process, as main does, with test hooks.
func runCmd(ctx context.Context, env testEnv, hooks *testHooks, args ...string) result {
	var out, errb outBuffer
	a := &app{getenv: env.get, stdout: &out, stderr: &errb}
	code := a.run(ctx, args, hooks)
	return result{code, out.String(), errb.String()}
}

func TestHelp(t *testing.T) {
	env := newTestEnv(t)
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"run", "--help"}, {"version", "--help"}} {
		r := runCmd(context.Background(), env, nil, args...)
		if r.code != 0 || r.stderr != "" {
			t.Errorf("%v: code %d stderr %q", args, r.code, r.stderr)
		}
		for _, want := range []string{"Usage:", "--once", "--local-dir", "YASYNCD_LOCAL_DIR", "Exit codes"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("%v: usage lacks %q", args, want)
			}
		}
	}
	r := runCmd(context.Background(), env, nil, "status", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "status [--json]") {
		t.Errorf("status --help: %+v", r)
	}
	r = runCmd(context.Background(), env, nil, "auth", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "auth login") {
		t.Errorf("auth --help: %+v", r)
	}
}

func TestVersion(t *testing.T) {
	// A broken setting must not break version: it does not read the settings.
	env := newTestEnv(t)
	env["YASYNCD_TRANSFERS"] = "many"
	var out, errb outBuffer
	code := run(context.Background(), []string{"version"}, env.get, &out, &errb)
	r := result{code, out.String(), errb.String()}
	want := fmt.Sprintf("yasyncd dev (%s, %s/%s)\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if r.code != 0 || r.stdout != want {
		t.Errorf("version: %+v, want %q", r, want)
	}
}

func TestUsageErrors(t *testing.T) {
	env := newTestEnv(t)
	cases := []struct {
		args []string
		env  map[string]string
		want string // the whole stderr
	}{
		{[]string{"--nope"}, nil, `yasyncd: flag provided but not defined: -nope; run "yasyncd --help" for usage` + "\n"},
		{[]string{"status", "--once"}, nil, `yasyncd: flag provided but not defined: -once; run "yasyncd status --help" for usage` + "\n"},
		{[]string{"--once", "status"}, nil, `yasyncd: --once, --dry-run, --resync, --force-delete and --full belong to the run command, not "status"` + "\n"},
		{[]string{"frobnicate"}, nil, `yasyncd: unknown command "frobnicate"; run "yasyncd --help" for the commands` + "\n"},
		{[]string{"run", "extra"}, nil, `yasyncd: unexpected argument "extra" after "run"; run "yasyncd --help"` + "\n"},
		{[]string{"--dry-run"}, nil, `yasyncd: --dry-run works with --once only: run "yasyncd --once --dry-run"` + "\n"},
		{[]string{"--transfers"}, nil, `yasyncd: flag needs an argument: -transfers; run "yasyncd --help" for usage` + "\n"},
		{[]string{"--once"}, nil, `yasyncd: local_dir is not set: name the folder to sync with flag --local-dir, env YASYNCD_LOCAL_DIR or local_dir: in the config file` + "\n"},
		{[]string{"--once", "--local-dir", "/x"}, map[string]string{"YASYNCD_TRANSFERS": "abc"},
			`yasyncd: transfers "abc" (env YASYNCD_TRANSFERS): not a whole number; set a number from 1 to 64` + "\n"},
		{[]string{"status", "--mode", "sideways"}, nil,
			`yasyncd: mode "sideways" (flag --mode): not a known value; use one of two-way, upload-only, download-only` + "\n"},
		{[]string{"--config", "/nonexistent/yasyncd.yaml", "status"}, nil,
			`yasyncd: config file /nonexistent/yasyncd.yaml: no such file or directory; fix the path given with --config or YASYNCD_CONFIG` + "\n"},
		{[]string{"--once", "--local-dir", "/x", "--api-url", "http://example.com"}, nil,
			`yasyncd: api_url "http://example.com" (flag --api-url): plain http is allowed only for loopback hosts; use https://example.com` + "\n"},
	}
	for _, tc := range cases {
		e := testEnv{}
		for k, v := range env {
			e[k] = v
		}
		for k, v := range tc.env {
			e[k] = v
		}
		r := runCmd(context.Background(), e, nil, tc.args...)
		if r.code != exitUsage || r.stderr != tc.want || r.stdout != "" {
			t.Errorf("%v: code %d\n got stderr %q\nwant stderr %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

// `yasyncd auth ...` reaches runAuth with the settings flags before the subcommand applied.
func TestAuthDispatch(t *testing.T) {
	env := newTestEnv(t)
	r := runCmd(context.Background(), env, nil, "auth")
	if r.code != exitUsage || !strings.Contains(r.stderr, "auth login") {
		t.Errorf("auth without subcommand: %+v", r)
	}
	dir := filepath.Join(t.TempDir(), "other-state")
	r = runCmd(context.Background(), env, nil, "auth", "--state-dir", dir, "status")
	if r.code != exitNeedsUser {
		t.Errorf("auth status without a token: %+v", r)
	}
	// Setting flags may follow the subcommand, as they may follow every other command.
	r = runCmd(context.Background(), env, nil, "auth", "status", "--state-dir", dir)
	if r.code != exitNeedsUser {
		t.Errorf("auth status --state-dir after the subcommand: %+v", r)
	}
	r = runCmd(context.Background(), env, nil, "auth", "login", "--bogus")
	if r.code != exitUsage || !strings.Contains(r.stderr, "-bogus") {
		t.Errorf("auth login with an unknown flag: %+v", r)
	}
}

func TestParseArgs(t *testing.T) {
	cases := []struct {
		args []string
		want cmdline
	}{
		{nil, cmdline{command: "run"}},
		{[]string{"--once"}, cmdline{command: "run", once: true}},
		{[]string{"run", "--once", "--dry-run"}, cmdline{command: "run", once: true, dryRun: true}},
		{[]string{"--once", "run", "--resync"}, cmdline{command: "run", once: true, resync: true}},
		{[]string{"--force-delete", "--full"}, cmdline{command: "run", forceDelete: true, full: true}},
		{[]string{"status", "--json"}, cmdline{command: "status", json: true}},
		{[]string{"--mode", "upload-only", "status", "-json"}, cmdline{command: "status", json: true}},
		{[]string{"auth", "login", "--device"}, cmdline{command: "auth", rest: []string{"login", "--device=true"}}},
		{[]string{"auth", "login", "--client-id", "x", "--no-browser", "--browser"}, cmdline{command: "auth", rest: []string{"login", "--no-browser=true", "--browser=true"}}},
		{[]string{"auth", "--client-id", "x", "status"}, cmdline{command: "auth", rest: []string{"status"}}},
		{[]string{"version"}, cmdline{command: "version"}},
	}
	for _, tc := range cases {
		got, err := parseArgs(tc.args)
		if err != nil {
			t.Errorf("%v: %v", tc.args, err)
			continue
		}
		got.flags = nil
		if fmt.Sprint(*got) != fmt.Sprint(tc.want) {
			t.Errorf("%v:\n got %+v\nwant %+v", tc.args, *got, tc.want)
		}
	}
}

func TestClassify(t *testing.T) {
	tokenCfg := &config.Config{Token: "t", APIURL: "https://cloud-api.yandex.net"}
	apiErr := func(status int, code string) error {
		return fmt.Errorf("list disk:/Sync: %w", &client.Error{Status: status, Code: code})
	}
	cases := []struct {
		name string
		err  error
		cfg  *config.Config
		code int
		want string // substring of the message
	}{
		{"usage", config.Usagef("bad"), nil, 2, "bad"},
		{"insecure origin", fmt.Errorf("client: %w", client.ErrInsecureOrigin), nil, 2, "insecure"},
		{"no client id", auth.ErrNoClientID, nil, 2, "YASYNCD_CLIENT_ID"},
		{"token file mode", fmt.Errorf("%w: run `chmod 600 x`", auth.ErrInsecureTokenFile), nil, 3, "chmod 600"},
		{"locked", fmt.Errorf("open state: %w", state.ErrLocked), nil, 1, "wait for the other yasyncd"},
		{"login", fmt.Errorf("get: %w", auth.ErrLoginRequired), nil, 3, `run "yasyncd auth login"`},
		{"401 stored", apiErr(401, "UnauthorizedError"), nil, 3, `stored token: run "yasyncd auth login"`},
		{"401 env", apiErr(401, "UnauthorizedError"), tokenCfg, 3, "YASYNCD_TOKEN"},
		{"403", apiErr(403, "ForbiddenError"), nil, 3, "auth login"},
		{"disk full", yasync.ErrDiskFull, nil, 3, "Disk is full"},
		{"507", apiErr(507, "DiskFull"), nil, 3, "Disk is full"},
		{"guard", &yasync.GuardError{Kind: yasync.GuardMassDelete, Msg: "would delete 80 of 100 files; run with --force-delete"}, nil, 3, "--force-delete"},
		{"failures", &failedPaths{failures: []yasync.Failure{{Path: "a.txt", Op: "upload", Err: errors.New("boom")}, {Path: "b", Op: "x", Err: errors.New("y")}}}, nil, 1, "2 paths failed (first: upload a.txt: boom)"},
		{"500", apiErr(500, ""), nil, 1, "try again later"},
		{"429", apiErr(429, "TooManyRequestsError"), nil, 1, "try again later"},
		{"network", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, tokenCfg, 1, "cannot reach https://cloud-api.yandex.net"},
		{"other", errors.New("odd"), nil, 1, "odd; try again later"},
	}
	for _, tc := range cases {
		code, msg := classify(tc.err, tc.cfg)
		if code != tc.code || !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
			t.Errorf("%s: got %d %q, want %d and %q", tc.name, code, msg, tc.code, tc.want)
		}
	}
}

// checkStatusJSON decodes `status --json` output and checks every key and JSON type of
// contract.md "Status".
func checkStatusJSON(t *testing.T, out string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	want := map[string]string{"running": "bool", "state": "string", "queue": "number", "transfers": "array",
		"last_sync": "string|null", "last_error": "string|null", "counts": "object", "quota": "object|null"}
	for k, types := range want {
		v, ok := m[k]
		if !ok {
			t.Errorf("key %q missing", k)
			continue
		}
		if !strings.Contains(types, jsonType(v)) {
			t.Errorf("key %q is %s, want %s", k, jsonType(v), types)
		}
	}
	if len(m) != len(want) {
		t.Errorf("unexpected keys in %v", m)
	}
	counts, _ := m["counts"].(map[string]any)
	for _, k := range []string{"uploaded", "downloaded", "moved", "deleted", "conflicts", "failed"} {
		if jsonType(counts[k]) != "number" {
			t.Errorf("counts.%s is %s", k, jsonType(counts[k]))
		}
	}
	states := "idle scanning syncing paused offline auth_required error"
	if s, _ := m["state"].(string); !strings.Contains(states, s) || s == "" {
		t.Errorf("state %q not one of %s", s, states)
	}
	if q, ok := m["quota"].(map[string]any); ok {
		if jsonType(q["total"]) != "number" || jsonType(q["used"]) != "number" {
			t.Errorf("quota %v", q)
		}
	}
	if ls, ok := m["last_sync"].(string); ok {
		if _, err := time.Parse(time.RFC3339, ls); err != nil {
			t.Errorf("last_sync %q: %v", ls, err)
		}
	}
	return m
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case string:
		return "string"
	case float64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func TestStatusNoDaemonNoState(t *testing.T) {
	env := newTestEnv(t)
	r := runCmd(context.Background(), env, nil, "status", "--json")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("status: %+v", r)
	}
	m := checkStatusJSON(t, r.stdout)
	if m["running"] != false || m["state"] != "idle" || m["last_sync"] != nil || m["quota"] != nil {
		t.Errorf("status %v", m)
	}
	if tr, _ := m["transfers"].([]any); tr == nil || len(tr) != 0 {
		t.Errorf("transfers %v", m["transfers"])
	}
	// status must not create the state.
	if _, err := os.Stat(filepath.Join(env["YASYNCD_STATE_DIR"], stateFile)); err == nil {
		t.Error("status created the state database")
	}
	r = runCmd(context.Background(), env, nil, "status")
	if r.code != 0 || !strings.Contains(r.stdout, "not running") || !strings.Contains(r.stdout, "last sync:   never") {
		t.Errorf("human status: %+v", r)
	}
}

func TestStatusFromStateDB(t *testing.T) {
	env := newTestEnv(t)
	db, err := state.Open(filepath.Join(env["YASYNCD_STATE_DIR"], stateFile), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	when := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	if err := db.SetStatus(state.Status{LastSync: &when, LastError: "1 path failed",
		Counts: state.Counts{Uploaded: 3, Downloaded: 2, Failed: 1}}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	r := runCmd(context.Background(), env, nil, "status", "--json")
	if r.code != 0 {
		t.Fatalf("status: %+v", r)
	}
	m := checkStatusJSON(t, r.stdout)
	counts := m["counts"].(map[string]any)
	if m["running"] != false || m["last_sync"] != "2026-11-21T08:00:00Z" || m["last_error"] != "1 path failed" ||
		counts["uploaded"] != 3.0 || counts["downloaded"] != 2.0 || counts["failed"] != 1.0 || m["state"] != "error" {
		t.Errorf("status %v", m)
	}
}

// The socket layer alone: a tracker served on status.sock and read by `status`.
func TestStatusSocket(t *testing.T) {
	env := newTestEnv(t)
	dir := env["YASYNCD_STATE_DIR"]
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tr := newTracker(state.Status{LastSync: &when})
	tr.setState(stSyncing)
	tr.setQueue(3)
	job := new(int)
	tr.started(job, "a/b.txt", "upload", 100)
	tr.progressed(job, 40)
	tr.setQuota(1000, 250)

	// A stale socket file left by a killed daemon is replaced.
	if err := os.WriteFile(filepath.Join(dir, socketFile), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := listenStatus(dir, tr, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, socketFile))
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("socket mode %v %v", fi.Mode(), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()

	r := runCmd(context.Background(), env, nil, "status", "--json")
	if r.code != 0 {
		t.Fatalf("status: %+v", r)
	}
	m := checkStatusJSON(t, r.stdout)
	if m["running"] != true || m["state"] != "syncing" || m["queue"] != 2.0 || m["last_sync"] != "2026-01-02T03:04:05Z" {
		t.Errorf("status %v", m)
	}
	trs := m["transfers"].([]any)
	if len(trs) != 1 || fmt.Sprint(trs[0]) != "map[bytes:40 direction:upload path:a/b.txt size:100]" {
		t.Errorf("transfers %v", trs)
	}
	if fmt.Sprint(m["quota"]) != "map[total:1000 used:250]" {
		t.Errorf("quota %v", m["quota"])
	}
	r = runCmd(context.Background(), env, nil, "status")
	for _, want := range []string{"yasyncd is running: syncing, 2 queued", "uploading a/b.txt: 40 B of 100 B", "disk:        250 B of 1000 B used"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("human status lacks %q:\n%s", want, r.stdout)
		}
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, socketFile)); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
}

func TestSizeString(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 5 << 20: "5.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := yasync.FormatBytes(n); got != want {
			t.Errorf("yasync.FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// outBuffer is a bytes.Buffer safe for the concurrent writes of a running daemon.
type outBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *outBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *outBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
