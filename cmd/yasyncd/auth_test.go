package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/yasyncd/yasyncd/auth"
	"github.com/yasyncd/yasyncd/internal/config"
	"github.com/yasyncd/yasyncd/internal/emulator"
)

const (
	authTestClientID     = "cmd-test-client"
	authTestClientSecret = "cmd-test-secret-value"
)

// authFixture is an emulator, settings pointing at it and an observed logger.
type authFixture struct {
	emu  *emulator.Server
	cfg  *config.Config
	log  *zap.Logger
	logs *observer.ObservedLogs
}

func newAuthFixture(t *testing.T) *authFixture {
	t.Helper()
	emu := emulator.NewServer(t, emulator.Options{ClientID: authTestClientID, ClientSecret: authTestClientSecret})
	core, logs := observer.New(zap.DebugLevel)
	f := &authFixture{
		emu: emu,
		cfg: &config.Config{
			StateDir:     t.TempDir() + "/state",
			APIURL:       emu.URL,
			OAuthURL:     emu.URL,
			ClientID:     authTestClientID,
			ClientSecret: authTestClientSecret,
			RedirectURI:  "http://127.0.0.1:0/callback",
		},
		log:  zap.New(core),
		logs: logs,
	}
	// Polls without waiting: the emulator's interval is at least a second.
	prevSleep, prevDisplay, prevOpen := authSleep, hasDisplay, openBrowser
	authSleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	hasDisplay = func() bool { return false }
	openBrowser = func(string) error { t.Error("a browser was opened"); return nil }
	t.Cleanup(func() { authSleep, hasDisplay, openBrowser = prevSleep, prevDisplay, prevOpen })
	return f
}

// syncBuffer is a goroutine-safe output.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (f *authFixture) run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut syncBuffer
	code = runAuth(context.Background(), f.cfg, f.log, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

var cmdUserCodeRE = regexp.MustCompile(`(?m)^\s+([a-z0-9]{8})\s*$`)

// loginDevice runs `auth login --device` while a goroutine plays the user: it reads the code
// from stderr and approves it.
func (f *authFixture) loginDevice(t *testing.T, args ...string) (int, string) {
	t.Helper()
	pr, pw := io.Pipe()
	var errOut syncBuffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			errOut.Write([]byte(sc.Text() + "\n"))
			if m := cmdUserCodeRE.FindStringSubmatch(sc.Text()); m != nil {
				if err := f.emu.OAuth.ApproveDevice(m[1]); err != nil {
					t.Errorf("approve: %v", err)
				}
			}
		}
	}()
	code := runAuth(context.Background(), f.cfg, f.log, append([]string{"login"}, args...), io.Discard, pw)
	pw.Close()
	<-done
	return code, errOut.String()
}

func TestAuthLoginStatusLogout(t *testing.T) {
	f := newAuthFixture(t)

	if code, _, stderr := f.run(t, "status"); code != exitNeedsUser || !strings.Contains(stderr, "yasyncd auth login") {
		t.Fatalf("status before login: exit %d, stderr %q; want 3 and the fix", code, stderr)
	}

	code, stderr := f.loginDevice(t) // no display: the device flow by default
	if code != exitOK || !strings.Contains(stderr, "Logged in") {
		t.Fatalf("login: exit %d, stderr %q", code, stderr)
	}
	tok, err := auth.NewStore(f.cfg.StateDir).Load()
	if err != nil || !f.emu.OAuth.Valid(tok.AccessToken) {
		t.Fatalf("stored token: %v, valid %v", err, err == nil && f.emu.OAuth.Valid(tok.AccessToken))
	}
	if fi, _ := os.Stat(f.cfg.StateDir); fi.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode %v, want 0700", fi.Mode().Perm())
	}

	code, stdout, stderr := f.run(t, "status")
	if code != exitOK {
		t.Fatalf("status: exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{"token.json", "expires:", "refresh token:  yes", "account:"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("status output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout+stderr, tok.AccessToken) || strings.Contains(stdout+stderr, tok.RefreshToken) {
		t.Error("status printed the token")
	}

	code, _, stderr = f.run(t, "logout")
	if code != exitOK || !strings.Contains(stderr, "revoked") {
		t.Fatalf("logout: exit %d, stderr %q", code, stderr)
	}
	if f.emu.OAuth.Valid(tok.AccessToken) {
		t.Error("the token still works after logout")
	}
	if _, err := os.Stat(auth.NewStore(f.cfg.StateDir).Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("token.json after logout: %v", err)
	}
	if code, _, _ := f.run(t, "logout"); code != exitOK {
		t.Errorf("second logout: exit %d, want 0", code)
	}
	for _, e := range f.logs.All() {
		s := e.Message
		for _, v := range e.ContextMap() {
			s += " " + strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(toString(v), "\n", " "), "\t", " "))
		}
		for _, secret := range []string{tok.AccessToken, tok.RefreshToken, authTestClientSecret} {
			if strings.Contains(s, secret) {
				t.Errorf("log entry holds a secret: %q", e.Message)
			}
		}
	}
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if e, ok := v.(error); ok {
		return e.Error()
	}
	return ""
}

func TestAuthLoginDeniedKeepsOldToken(t *testing.T) {
	f := newAuthFixture(t)
	if code, _ := f.loginDevice(t, "--device"); code != exitOK {
		t.Fatalf("first login: exit %d", code)
	}
	before, _ := os.ReadFile(auth.NewStore(f.cfg.StateDir).Path())

	pr, pw := io.Pipe()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := cmdUserCodeRE.FindStringSubmatch(sc.Text()); m != nil {
				f.emu.OAuth.DenyDevice(m[1])
			}
		}
	}()
	code := runAuth(context.Background(), f.cfg, f.log, []string{"login", "--device"}, io.Discard, pw)
	pw.Close()
	if code != exitNeedsUser {
		t.Fatalf("denied login: exit %d, want 3", code)
	}
	after, _ := os.ReadFile(auth.NewStore(f.cfg.StateDir).Path())
	if string(before) != string(after) {
		t.Error("a failed login replaced the stored token")
	}
}

func TestAuthLoginBrowserNoBrowser(t *testing.T) {
	f := newAuthFixture(t)
	hasDisplay = func() bool { return true }
	pr, pw := io.Pipe()
	pageStatus := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "http") {
				resp, err := http.Get(line) // follows the redirect to the loopback callback
				if err != nil {
					t.Error(err)
					pageStatus <- 0
					continue
				}
				resp.Body.Close()
				pageStatus <- resp.StatusCode
			}
		}
	}()
	code := runAuth(context.Background(), f.cfg, f.log, []string{"login", "--no-browser"}, io.Discard, pw)
	pw.Close()
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if s := <-pageStatus; s != http.StatusOK {
		t.Errorf("callback page %d", s)
	}
	if _, err := auth.NewStore(f.cfg.StateDir).Load(); err != nil {
		t.Fatal(err)
	}
}

func TestAuthUsageErrors(t *testing.T) {
	f := newAuthFixture(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "missing subcommand"},
		{[]string{"dance"}, "unknown auth subcommand"},
		{[]string{"login", "--device", "--browser"}, "one of --device and --browser"},
		{[]string{"login", "--bogus"}, "bogus"},
		{[]string{"status", "extra"}, "unexpected argument"},
	} {
		code, _, stderr := f.run(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("auth %v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
	f.cfg.ClientID = ""
	code, _, stderr := f.run(t, "login")
	if code != exitUsage || !strings.Contains(stderr, "client_id") || !strings.Contains(stderr, "YASYNCD_CLIENT_ID") {
		t.Errorf("login without client_id: exit %d, stderr %q", code, stderr)
	}
}

func TestAuthStatusEnvToken(t *testing.T) {
	f := newAuthFixture(t)
	f.cfg.Token = f.emu.Token()
	code, stdout, stderr := f.run(t, "status")
	if code != exitOK || !strings.Contains(stdout, "YASYNCD_TOKEN") || strings.Contains(stdout+stderr, f.emu.Token()) {
		t.Fatalf("exit %d stdout %q stderr %q", code, stdout, stderr)
	}
	f.cfg.Token = "y0_wrong"
	if code, _, stderr := f.run(t, "status"); code != exitNeedsUser {
		t.Errorf("rejected env token: exit %d, stderr %q; want 3", code, stderr)
	}
}

func TestAuthStatusInsecureTokenFile(t *testing.T) {
	f := newAuthFixture(t)
	if code, _ := f.loginDevice(t); code != exitOK {
		t.Fatal("login failed")
	}
	path := auth.NewStore(f.cfg.StateDir).Path()
	os.Chmod(path, 0o644)
	code, _, stderr := f.run(t, "status")
	if code != exitNeedsUser || !strings.Contains(stderr, "chmod 600 "+path) {
		t.Errorf("exit %d stderr %q; want 3 and the chmod hint", code, stderr)
	}
}

// The auth commands through the whole command line: settings from the environment reach
// runAuth, and the exit codes are the contract's.
func TestAuthThroughCommandLine(t *testing.T) {
	f := newAuthFixture(t)
	home := t.TempDir()
	env := map[string]string{
		"HOME":                  home,
		"XDG_CONFIG_HOME":       home + "/.config",
		"YASYNCD_STATE_DIR":     home + "/state",
		"YASYNCD_API_URL":       f.emu.URL,
		"YASYNCD_OAUTH_URL":     f.emu.URL,
		"YASYNCD_CLIENT_ID":     authTestClientID,
		"YASYNCD_CLIENT_SECRET": authTestClientSecret,
	}
	getenv := func(k string) string { return env[k] }
	cmd := func(args ...string) (int, string, string) {
		var out, errOut syncBuffer
		code := run(context.Background(), args, getenv, &out, &errOut)
		return code, out.String(), errOut.String()
	}

	if code, _, stderr := cmd("auth", "status"); code != exitNeedsUser {
		t.Fatalf("status without a token: exit %d, stderr %q", code, stderr)
	}

	pr, pw := io.Pipe()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := cmdUserCodeRE.FindStringSubmatch(sc.Text()); m != nil {
				f.emu.OAuth.ApproveDevice(m[1])
			}
		}
	}()
	code := run(context.Background(), []string{"auth", "login", "--device"}, getenv, io.Discard, pw)
	pw.Close()
	if code != exitOK {
		t.Fatalf("login: exit %d", code)
	}
	if _, err := auth.NewStore(home + "/state").Load(); err != nil {
		t.Fatalf("token not stored in YASYNCD_STATE_DIR: %v", err)
	}
	if code, stdout, stderr := cmd("auth", "status"); code != exitOK || !strings.Contains(stdout, "refresh token:  yes") {
		t.Fatalf("status: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	env["YASYNCD_CLIENT_ID"] = ""
	if code, _, stderr := cmd("auth", "login"); code != exitUsage || !strings.Contains(stderr, "YASYNCD_CLIENT_ID") {
		t.Errorf("login without client_id: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := cmd("auth", "logout"); code != exitOK || !strings.Contains(stderr, "deleted locally only") {
		t.Errorf("logout without client_id: exit %d, stderr %q", code, stderr)
	}
}
