package auth

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yasyncd/yasyncd/internal/emulator/yandexid"
)

// fakeSleep records the waits of the device flow and moves the clock instead of sleeping.
type fakeSleep struct {
	clock   *clock
	advance bool // move the clock by the wait (false: poll "too soon")
	mu      sync.Mutex
	waits   []time.Duration
	hook    func(n int) // runs after the n-th wait (1-based)
}

func (f *fakeSleep) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	f.waits = append(f.waits, d)
	n := len(f.waits)
	f.mu.Unlock()
	if f.advance {
		f.clock.Advance(d)
	}
	if f.hook != nil {
		f.hook(n)
	}
	return nil
}

func (f *fakeSleep) Waits() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.waits)
}

var userCodeRE = regexp.MustCompile(`(?m)^\s+([a-z0-9]{8})\s*$`)

func TestDeviceLoginApprovedByUser(t *testing.T) {
	e := newEnv(t, yandexid.Options{Interval: time.Second})
	fs := &fakeSleep{clock: e.clock, advance: true}
	opts := e.opts()
	opts.Sleep = fs.Sleep

	// The "user" reads the code from the instructions and types it in, as a person would.
	pr, pw := io.Pipe()
	approved := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := userCodeRE.FindStringSubmatch(sc.Text()); m != nil {
				approved <- e.id.ApproveDevice(m[1])
				break
			}
		}
		io.Copy(io.Discard, pr)
	}()
	tok, err := DeviceLogin(context.Background(), opts, pw)
	pw.Close()
	e.assertErrClean(err)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-approved; err != nil {
		t.Fatalf("approve: %v", err)
	}
	if !e.id.Valid(tok.AccessToken) || tok.RefreshToken == "" || tok.TokenType != "OAuth" {
		t.Fatalf("token not usable: valid=%v refresh=%v type=%q", e.id.Valid(tok.AccessToken), tok.RefreshToken != "", tok.TokenType)
	}
	if info, _ := e.id.Lookup(tok.AccessToken); info.DeviceID != "test-device-1" || info.DeviceName != "yasyncd test" {
		t.Errorf("token bound to %+v, want the device_id and device_name sent", info)
	}
	if want := e.clock.Now().Add(yandexid.DefaultTokenTTL); !tok.Expiry.Equal(want) {
		t.Errorf("expiry %v, want %v", tok.Expiry, want)
	}
	for _, w := range fs.Waits() {
		if w != time.Second {
			t.Errorf("waited %v between polls, want the server's interval 1s", w)
		}
	}
	// §8.2: Yandex's spelling of the poll.
	for _, r := range e.id.Requests() {
		if r.Path == "/token" {
			if r.GrantType != "device_code" || !slices.Contains(r.FormKeys, "code") || r.BasicAuth {
				t.Errorf("poll %+v: want grant_type=device_code, code, credentials in the body", r)
			}
		}
		if r.Path == "/device/code" && (!slices.Contains(r.FormKeys, "device_id") || !slices.Contains(r.FormKeys, "device_name")) {
			t.Errorf("device code request without device_id/device_name: %v", r.FormKeys)
		}
	}
}

func TestDeviceLoginSlowDown(t *testing.T) {
	e := newEnv(t, yandexid.Options{Interval: time.Second, SlowDown: true})
	// The clock stands still, so the second poll comes "too soon" and gets slow_down.
	fs := &fakeSleep{clock: e.clock}
	fs.hook = func(n int) {
		if n == 4 {
			e.clock.Advance(time.Minute)
			for _, c := range e.id.PendingUserCodes() {
				e.id.ApproveDevice(c)
			}
		}
	}
	opts := e.opts()
	opts.Sleep = fs.Sleep
	if _, err := DeviceLogin(context.Background(), opts, io.Discard); err != nil {
		t.Fatal(err)
	}
	waits := fs.Waits()
	if len(waits) < 3 || waits[0] != time.Second || waits[1] != time.Second || waits[2] != 6*time.Second {
		t.Fatalf("waits %v, want 1s, 1s, then 6s after slow_down", waits)
	}
	for _, w := range waits[2:] {
		if w != 6*time.Second {
			t.Errorf("wait %v after slow_down, want 6s for all later polls", w)
		}
	}
}

func TestDeviceLoginRefusedOrExpired(t *testing.T) {
	for _, tc := range []struct {
		name    string
		advance bool
		hook    func(e *env) func(int)
	}{
		{"denied", true, func(e *env) func(int) {
			return func(int) {
				for _, c := range e.id.PendingUserCodes() {
					e.id.DenyDevice(c)
				}
			}
		}},
		{"expired", true, func(e *env) func(int) { return func(int) { e.clock.Advance(time.Minute) } }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, yandexid.Options{Interval: time.Second})
			fs := &fakeSleep{clock: e.clock, advance: tc.advance, hook: tc.hook(e)}
			opts := e.opts()
			opts.Sleep = fs.Sleep
			_, err := DeviceLogin(context.Background(), opts, io.Discard)
			e.assertErrClean(err)
			if !errors.Is(err, ErrLoginRefused) {
				t.Fatalf("err %v, want ErrLoginRefused", err)
			}
			if !strings.Contains(err.Error(), "yasyncd auth login") {
				t.Errorf("error %q does not say what to do", err)
			}
		})
	}
}

func TestDeviceLoginCancelReturnsPromptly(t *testing.T) {
	e := newEnv(t, yandexid.Options{}) // interval 5 s, real timer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	pr, pw := io.Pipe()
	go func() {
		_, err := DeviceLogin(ctx, e.opts(), pw)
		pw.Close()
		done <- err
	}()
	// Cancel (Ctrl-C) once the instructions are out and the flow waits.
	buf := make([]byte, 1)
	if _, err := pr.Read(buf); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("DeviceLogin did not return within 2s of cancellation")
	}
}

func TestDeviceLoginInvalidClient(t *testing.T) {
	e := newEnv(t, yandexid.Options{})
	opts := e.opts()
	opts.ClientID = "unknown-app"
	_, err := DeviceLogin(context.Background(), opts, io.Discard)
	if !errors.Is(err, ErrInvalidClient) {
		t.Fatalf("err %v, want ErrInvalidClient", err)
	}
	opts.ClientID = ""
	if _, err := DeviceLogin(context.Background(), opts, io.Discard); !errors.Is(err, ErrNoClientID) {
		t.Fatalf("err %v, want ErrNoClientID", err)
	}
}

// browserOpts are Options for a browser login on a free loopback port.
func browserOpts(e *env) Options {
	o := e.opts()
	o.RedirectURI = "http://127.0.0.1:0/callback"
	return o
}

// follow plays the browser: it loads the authorization URL and follows the redirect to the
// loopback callback, returning the final page.
func follow(e *env, authURL string) (int, string, error) {
	resp, err := http.Get(authURL)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

type browserPage struct {
	code int
	body string
	err  error
}

func TestBrowserLogin(t *testing.T) {
	e := newEnv(t, yandexid.Options{})
	pages := make(chan browserPage, 1)
	open := func(u string) error {
		go func() {
			c, b, err := follow(e, u)
			pages <- browserPage{c, b, err}
		}()
		return nil
	}
	tok, err := BrowserLogin(context.Background(), browserOpts(e), open, io.Discard)
	e.assertErrClean(err)
	if err != nil {
		t.Fatal(err)
	}
	p := <-pages
	if p.err != nil || p.code != http.StatusOK || !strings.Contains(p.body, "close this tab") {
		t.Errorf("final page %d %q %v", p.code, p.body, p.err)
	}
	if !e.id.Valid(tok.AccessToken) || tok.RefreshToken == "" {
		t.Fatal("the token is not usable")
	}
	if info, _ := e.id.Lookup(tok.AccessToken); info.DeviceID != "test-device-1" {
		t.Errorf("token bound to device %q", info.DeviceID)
	}
	for _, r := range e.id.Requests() {
		switch r.Path {
		case "/authorize":
			for _, k := range []string{"state", "code_challenge", "code_challenge_method", "redirect_uri", "device_id"} {
				if !slices.Contains(r.QueryKeys, k) {
					t.Errorf("/authorize without %s", k)
				}
			}
		case "/token":
			for _, k := range []string{"code_verifier", "client_id", "client_secret", "redirect_uri"} {
				if !slices.Contains(r.FormKeys, k) {
					t.Errorf("/token without %s", k)
				}
			}
		}
	}
}

func TestBrowserLoginWrongStateRejected(t *testing.T) {
	e := newEnv(t, yandexid.Options{})
	pages := make(chan browserPage, 2)
	open := func(authURL string) error {
		u, _ := url.Parse(authURL)
		cb := u.Query().Get("redirect_uri")
		go func() {
			// A forged answer first: 400, and the login keeps waiting.
			c, b, err := follow(e, cb+"?code=1234567&state=forged")
			pages <- browserPage{c, b, err}
			c, b, err = follow(e, authURL)
			pages <- browserPage{c, b, err}
		}()
		return nil
	}
	tok, err := BrowserLogin(context.Background(), browserOpts(e), open, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if p := <-pages; p.code != http.StatusBadRequest || !strings.Contains(p.body, "wrong state") {
		t.Errorf("forged callback answered %d %q, want 400 naming the state", p.code, p.body)
	}
	if p := <-pages; p.code != http.StatusOK {
		t.Errorf("real callback answered %d", p.code)
	}
	if !e.id.Valid(tok.AccessToken) {
		t.Error("the token is not usable")
	}
	for _, r := range e.id.Requests() {
		if r.Path == "/token" && r.Error != "" {
			t.Errorf("the forged code reached /token: %+v", r)
		}
	}
}

func TestBrowserLoginAccessDenied(t *testing.T) {
	e := newEnv(t, yandexid.Options{})
	e.id.SetDeny(true)
	pages := make(chan browserPage, 1)
	open := func(u string) error {
		go func() {
			c, b, err := follow(e, u)
			pages <- browserPage{c, b, err}
		}()
		return nil
	}
	_, err := BrowserLogin(context.Background(), browserOpts(e), open, io.Discard)
	if !errors.Is(err, ErrLoginRefused) {
		t.Fatalf("err %v, want ErrLoginRefused", err)
	}
	if p := <-pages; !strings.Contains(p.body, "not granted") {
		t.Errorf("page %q does not say access was not granted", p.body)
	}
}

func TestBrowserLoginNoBrowserPrintsURLAndTimesOut(t *testing.T) {
	e := newEnv(t, yandexid.Options{})
	opts := browserOpts(e)
	opts.LoginTimeout = 200 * time.Millisecond
	var out strings.Builder
	_, err := BrowserLogin(context.Background(), opts, nil, &out)
	if !errors.Is(err, ErrLoginTimeout) {
		t.Fatalf("err %v, want ErrLoginTimeout", err)
	}
	if !strings.Contains(out.String(), e.srv.URL+"/authorize?") {
		t.Errorf("output %q does not show the authorization URL", out.String())
	}
}

func TestBrowserLoginNoBrowserUserOpensURL(t *testing.T) {
	e := newEnv(t, yandexid.Options{})
	pr, pw := io.Pipe()
	pages := make(chan browserPage, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "http") {
				c, b, err := follow(e, line)
				pages <- browserPage{c, b, err}
				break
			}
		}
		io.Copy(io.Discard, pr)
	}()
	tok, err := BrowserLogin(context.Background(), browserOpts(e), nil, pw)
	pw.Close()
	if err != nil {
		t.Fatal(err)
	}
	if p := <-pages; p.code != http.StatusOK || !e.id.Valid(tok.AccessToken) {
		t.Errorf("page %d, token valid %v", p.code, e.id.Valid(tok.AccessToken))
	}
}

func TestRevoke(t *testing.T) {
	e := newEnv(t, yandexid.Options{StaticToken: "y0_not_device_bound_token"})
	e.addSecret("y0_not_device_bound_token")
	tok := e.login(0)
	if err := Revoke(context.Background(), e.opts(), tok); err != nil {
		t.Fatal(err)
	}
	if e.id.Valid(tok.AccessToken) {
		t.Error("the token is still valid after Revoke")
	}
	tok.AccessToken = "y0_not_device_bound_token"
	err := Revoke(context.Background(), e.opts(), tok)
	e.assertErrClean(err)
	if !errors.Is(err, ErrRevokeUnsupported) {
		t.Fatalf("err %v, want ErrRevokeUnsupported", err)
	}
}

func TestDescribe(t *testing.T) {
	e := newEnv(t, yandexid.Options{StaticToken: "y0_env_token_value"})
	e.addSecret("y0_env_token_value")
	if _, err := Describe(context.Background(), e.opts(), e.srv.URL, ""); !errors.Is(err, ErrLoginRequired) {
		t.Fatalf("no token: %v, want ErrLoginRequired", err)
	}
	tok := e.login(0)
	info, err := Describe(context.Background(), e.opts(), e.srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	if info.Source != SourceFile || info.Login != "tester" || !info.Expiry.Equal(tok.Expiry) || !info.HasRefreshToken || info.CheckErr != nil {
		t.Errorf("file: %+v", info)
	}
	info, err = Describe(context.Background(), e.opts(), e.srv.URL, "y0_env_token_value")
	if err != nil || info.Source != SourceEnv || info.Login != "tester" || info.HasRefreshToken {
		t.Errorf("env: %+v %v", info, err)
	}
	info, err = Describe(context.Background(), e.opts(), e.srv.URL, "y0_unknown_env_token")
	if err != nil || !errors.Is(info.CheckErr, ErrLoginRequired) {
		t.Errorf("rejected env token: %+v %v", info, err)
	}
}

func TestCheckOrigin(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		insecure bool
	}{
		{"https://oauth.yandex.ru", "https://oauth.yandex.ru", false},
		{"https://oauth.yandex.ru/", "https://oauth.yandex.ru", false},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", false},
		{"http://[::1]:8080", "http://[::1]:8080", false},
		{"http://localhost:9", "http://localhost:9", false},
		{"http://oauth.example.com", "", true},
		{"https://oauth.yandex.ru/token", "", false},
		{"oauth.yandex.ru", "", false},
	} {
		got, err := CheckOrigin("oauth_url", tc.in)
		if got != tc.want || errors.Is(err, ErrInsecureOrigin) != tc.insecure || (tc.want == "") != (err != nil) ||
			(err != nil && !errors.Is(err, ErrInvalidSetting)) {
			t.Errorf("CheckOrigin(%q) = %q, %v", tc.in, got, err)
		}
	}
	if _, err := NewTransport(Options{OAuthURL: "http://example.com", StateDir: t.TempDir()}, nil); !errors.Is(err, ErrInsecureOrigin) {
		t.Errorf("NewTransport with an http origin: %v", err)
	}
}
