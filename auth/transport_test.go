package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/yasyncd/yasyncd/internal/emulator/yandexid"
)

func TestTransportSendsOAuthScheme(t *testing.T) {
	e := newEnv(t, yandexid.Options{})
	e.login(0)
	tr := e.transport()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/v1/disk", nil)
	req.Header.Set("Authorization", "Bearer something-else")
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := e.schemes; len(got) != 1 || got[0] != "OAuth" {
		t.Errorf("schemes seen by the API %v, want [OAuth] (§1.2: never Bearer)", got)
	}
	if req.Header.Get("Authorization") != "Bearer something-else" {
		t.Error("RoundTrip modified the caller's request")
	}
}

func TestTransportWithoutTokenNeedsLogin(t *testing.T) {
	e := newEnv(t, yandexid.Options{})
	tr := e.transport()
	_, err := e.get(tr)
	if !errors.Is(err, ErrLoginRequired) {
		t.Fatalf("err %v, want ErrLoginRequired", err)
	}
	if n := len(e.id.Requests()) + int(e.apiOK.Load()+e.api401.Load()); n != 0 {
		t.Errorf("%d requests without a token", n)
	}
	// `yasyncd auth login` writes a token: the running Transport picks it up.
	e.login(0)
	if code, err := e.get(tr); err != nil || code != http.StatusOK {
		t.Fatalf("after login: %d %v", code, err)
	}
}

// A year-long token is refreshed once three quarters of its life are left, never before.
func TestTransportRefreshesAheadOfExpiry(t *testing.T) {
	e := newEnv(t, yandexid.Options{})
	old := e.login(0) // one year, Yandex's lifetime
	tr := e.transport()

	e.clock.Advance(80 * 24 * time.Hour)
	if code, err := e.get(tr); err != nil || code != http.StatusOK {
		t.Fatalf("day 80: %d %v", code, err)
	}
	if n := e.refreshes(); n != 0 {
		t.Fatalf("refreshed %d times on day 80, want 0", n)
	}

	e.clock.Advance(12 * 24 * time.Hour) // day 92: less than 3/4 of a year left
	if code, err := e.get(tr); err != nil || code != http.StatusOK {
		t.Fatalf("day 92: %d %v", code, err)
	}
	if n := e.refreshes(); n != 1 {
		t.Fatalf("refreshed %d times on day 92, want 1", n)
	}
	if e.api401.Load() != 0 {
		t.Errorf("the API saw %d requests with a dead token; the refresh must come first", e.api401.Load())
	}
	got := e.stored()
	if got.RefreshToken == old.RefreshToken || got.AccessToken == old.AccessToken {
		t.Error("token.json does not hold the refreshed token")
	}
	if want := e.clock.Now().Add(yandexid.DefaultTokenTTL); !got.Expiry.Equal(want) {
		t.Errorf("expiry %v, want %v (from expires_in on our clock)", got.Expiry, want)
	}
	// The next requests use the saved token without refreshing again.
	for range 3 {
		e.get(tr)
	}
	if n := e.refreshes(); n != 1 {
		t.Errorf("refreshed %d times, want 1", n)
	}
}

// A token shorter-lived than the margin is refreshed at half-life, not on every request.
func TestTransportShortLivedTokenRefreshedAtHalfLife(t *testing.T) {
	e := newEnv(t, yandexid.Options{TokenTTL: time.Hour})
	e.login(time.Hour)
	tr := e.transport()
	for i := range 4 { // 0, 20, 40, 60 minutes: refreshes at 40 (after 30) and 80 wouldn't happen yet
		if code, err := e.get(tr); err != nil || code != http.StatusOK {
			t.Fatalf("minute %d: %d %v", i*20, code, err)
		}
		e.clock.Advance(20 * time.Minute)
	}
	if n := e.refreshes(); n != 1 {
		t.Errorf("refreshed %d times in 60 minutes of a 1-hour token, want 1 (at half-life)", n)
	}
}

// §9.17: a refresh may return the same access token with a new refresh token; the new
// refresh token must be persisted because the old one dies.
func TestTransportPersistsRotatedRefreshToken(t *testing.T) {
	e := newEnv(t, yandexid.Options{RefreshKeepsAccessToken: true})
	old := e.login(0)
	tr := e.transport()
	e.clock.Advance(100 * 24 * time.Hour)
	if code, err := e.get(tr); err != nil || code != http.StatusOK {
		t.Fatalf("%d %v", code, err)
	}
	got := e.stored()
	if got.AccessToken != old.AccessToken {
		t.Fatal("emulator was expected to keep the access token")
	}
	if got.RefreshToken == old.RefreshToken {
		t.Fatal("token.json still holds the spent refresh token")
	}
	// A fresh process (new Transport) can refresh again with what was stored.
	e.clock.Advance(100 * 24 * time.Hour)
	if code, err := e.get(e.transport()); err != nil || code != http.StatusOK {
		t.Fatalf("second process: %d %v", code, err)
	}
	if n := e.refreshes(); n != 2 {
		t.Errorf("%d refreshes, want 2", n)
	}
}

func TestTransport401RefreshesAndRetries(t *testing.T) {
	e := newEnv(t, yandexid.Options{})
	old := e.login(0)
	tr := e.transport()
	e.id.Expire(old.AccessToken) // dies early; the refresh token still works

	body := `{"custom_properties":{"a":"b"}}`
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/disk", strings.NewReader(body))
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct{ Echo string }
	json.NewDecoder(resp.Body).Decode(&answer)
	if resp.StatusCode != http.StatusOK || answer.Echo != body {
		t.Fatalf("status %d echo %q: want 200 and the body replayed", resp.StatusCode, answer.Echo)
	}
	if e.api401.Load() != 1 || e.refreshes() != 1 {
		t.Errorf("401s %d refreshes %d, want 1 and 1", e.api401.Load(), e.refreshes())
	}
	if e.stored().AccessToken == old.AccessToken {
		t.Error("token.json still holds the dead token")
	}
}

func TestTransport401WithUnreplayableBody(t *testing.T) {
	e := newEnv(t, yandexid.Options{})
	old := e.login(0)
	tr := e.transport()
	e.id.Expire(old.AccessToken)

	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/disk", io.NopCloser(strings.NewReader("stream")))
	req.GetBody = nil
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d, want the 401 (a consumed body cannot be sent again)", resp.StatusCode)
	}
	if code, err := e.get(tr); err != nil || code != http.StatusOK {
		t.Fatalf("next request: %d %v, want 200 with the token refreshed after the 401", code, err)
	}
	if e.refreshes() != 1 {
		t.Errorf("%d refreshes, want 1", e.refreshes())
	}
}

func TestTransportConcurrentRequestsShareOneRefresh(t *testing.T) {
	for _, tc := range []struct {
		name string
		kill func(e *env, tok *oauth2.Token)
	}{
		{"ahead of expiry", func(e *env, _ *oauth2.Token) { e.clock.Advance(200 * 24 * time.Hour) }},
		{"after 401", func(e *env, tok *oauth2.Token) { e.id.Expire(tok.AccessToken) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, yandexid.Options{})
			tok := e.login(0)
			tr := e.transport()
			tc.kill(e, tok)
			var wg sync.WaitGroup
			codes := make(chan int, 20)
			for range 20 {
				wg.Go(func() {
					code, _ := e.get(tr)
					codes <- code
				})
			}
			wg.Wait()
			close(codes)
			for c := range codes {
				if c != http.StatusOK {
					t.Errorf("status %d, want 200", c)
				}
			}
			if n := e.refreshes(); n != 1 {
				t.Errorf("%d refreshes for 20 concurrent requests, want 1", n)
			}
		})
	}
}

func TestTransportRefusedRefreshNeedsLoginAndKeepsFile(t *testing.T) {
	e := newEnv(t, yandexid.Options{})
	tok := e.login(0)
	tr := e.transport()
	e.id.Revoke(tok.AccessToken) // the user revoked access: the refresh token is dead too
	before, _ := os.ReadFile(NewStore(e.dir).Path())

	_, err := e.get(tr)
	if !errors.Is(err, ErrLoginRequired) {
		t.Fatalf("err %v, want ErrLoginRequired", err)
	}
	var oe *Error
	if !errors.As(err, &oe) || oe.Code != "invalid_grant" {
		t.Errorf("err %v, want the invalid_grant refusal", err)
	}
	after, err2 := os.ReadFile(NewStore(e.dir).Path())
	if err2 != nil || !bytes.Equal(before, after) {
		t.Fatalf("token.json changed or vanished after a refused refresh: %v", err2)
	}

	// Further requests fail at once, without asking anyone.
	seen := len(e.id.Requests()) + int(e.api401.Load())
	for range 5 {
		if _, err := e.get(tr); !errors.Is(err, ErrLoginRequired) {
			t.Fatalf("err %v, want ErrLoginRequired", err)
		}
	}
	if n := len(e.id.Requests()) + int(e.api401.Load()); n != seen {
		t.Errorf("%d more requests while login is required, want 0", n-seen)
	}

	// A new login fixes the running Transport.
	e.clock.Advance(time.Second)
	e.login(0)
	if code, err := e.get(tr); err != nil || code != http.StatusOK {
		t.Fatalf("after a new login: %d %v", code, err)
	}
}

func TestTransportTransientRefreshFailureKeepsValidToken(t *testing.T) {
	e := newEnv(t, yandexid.Options{})
	e.login(0)
	tr := e.transport()
	e.clock.Advance(100 * 24 * time.Hour) // due, but far from expiry
	e.failToken.Store(true)
	for range 3 {
		if code, err := e.get(tr); err != nil || code != http.StatusOK {
			t.Fatalf("%d %v: the current token is still valid and must be used", code, err)
		}
	}
	e.failToken.Store(false)
	if n := e.refreshes(); n != 0 {
		t.Fatalf("%d refreshes reached the server", n)
	}
	e.clock.Advance(retryRefreshAfter)
	e.get(tr)
	if n := e.refreshes(); n != 1 {
		t.Errorf("%d refreshes after the retry delay, want 1", n)
	}
	if len(e.logs.FilterMessage("token refresh failed; using the current token").All()) == 0 {
		t.Error("the failed refresh was not logged")
	}
}

// Two processes sharing one state directory (two Transports here, each with its own file
// lock handle) both keep working across many rotations, and no rotation is lost.
func TestTransportTwoProcessesShareStateDir(t *testing.T) {
	e := newEnv(t, yandexid.Options{TokenTTL: time.Hour})
	e.login(time.Hour)
	a, b := e.transport(), e.transport()
	const rounds = 6
	for i := range rounds {
		e.clock.Advance(31 * time.Minute) // past half-life: the next request refreshes
		var wg sync.WaitGroup
		errs := make(chan error, 10)
		for j := range 10 {
			tr := a
			if j%2 == 1 {
				tr = b
			}
			wg.Go(func() {
				code, err := e.get(tr)
				if err == nil && code != http.StatusOK {
					err = errors.New(http.StatusText(code))
				}
				if err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", i, err)
		}
	}
	if n := e.refreshes(); n != rounds {
		t.Errorf("%d refreshes in %d rounds, want one per round", n, rounds)
	}
	for _, r := range e.id.Requests() {
		if r.Error != "" {
			t.Errorf("the OAuth server refused %s: %s", r.Path, r.Error)
		}
	}
}

func TestTransportInsecureTokenFile(t *testing.T) {
	e := newEnv(t, yandexid.Options{})
	e.login(0)
	path := NewStore(e.dir).Path()
	os.Chmod(path, 0o644)
	tr := e.transport()
	_, err := e.get(tr)
	if !errors.Is(err, ErrInsecureTokenFile) || !strings.Contains(err.Error(), "chmod 600 "+path) {
		t.Fatalf("err %v, want ErrInsecureTokenFile with a chmod hint", err)
	}
	os.Chmod(path, 0o600)
	if code, err := e.get(tr); err != nil || code != http.StatusOK {
		t.Fatalf("after chmod 600: %d %v", code, err)
	}
}

func TestStaticTransport(t *testing.T) {
	e := newEnv(t, yandexid.Options{StaticToken: "y0_static_token_from_env"})
	e.addSecret("y0_static_token_from_env")
	rt := StaticTransport("y0_static_token_from_env", e.srv.Client().Transport)
	if code, err := e.get(rt); err != nil || code != http.StatusOK {
		t.Fatalf("%d %v", code, err)
	}
	e.id.Expire("y0_static_token_from_env")
	if code, err := e.get(rt); err != nil || code != http.StatusUnauthorized {
		t.Fatalf("%d %v, want the 401 passed through", code, err)
	}
	if e.refreshes() != 0 {
		t.Error("a static token was refreshed")
	}
	if entries, _ := os.ReadDir(e.dir); len(entries) != 0 {
		t.Errorf("a static token left files in the state dir: %v", entries)
	}
}

func TestTransportRequestContextCancelled(t *testing.T) {
	e := newEnv(t, yandexid.Options{})
	e.login(0)
	tr := e.transport()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/v1/disk", nil)
	if _, err := (&http.Client{Transport: tr}).Do(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

// When a refresh hands out the very token the API refused, refreshing again on every
// request would change nothing: the 401 goes to the caller and refreshes are spaced out.
func TestTransport401WithSameTokenAfterRefreshIsNotRepeated(t *testing.T) {
	e := newEnv(t, yandexid.Options{RefreshKeepsAccessToken: true})
	e.login(0)
	tr := e.transport()
	e.refuseAPI.Store(true)
	for range 3 {
		if code, err := e.get(tr); err != nil || code != http.StatusUnauthorized {
			t.Fatalf("%d %v, want the 401", code, err)
		}
	}
	if n := e.refreshes(); n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
	e.clock.Advance(retryRefreshAfter)
	e.get(tr)
	if n := e.refreshes(); n != 2 {
		t.Errorf("%d refreshes after the pause, want 2", n)
	}
}

// A refreshed token that cannot be saved is never sent (a crash would lose the rotated
// refresh token), but it is kept and saved as soon as the disk allows.
func TestTransportUnsavedTokenIsNotUsedUntilSaved(t *testing.T) {
	e := newEnv(t, yandexid.Options{})
	old := e.login(0)
	tr := e.transport()
	path := NewStore(e.dir).Path()
	saved, _ := os.ReadFile(path)
	// While the server answers the refresh, token.json turns into a non-empty directory,
	// so renaming the new file over it fails.
	breakFile := func() {
		os.Remove(path)
		os.MkdirAll(path+"/x", 0o700)
	}
	e.onRefresh.Store(&breakFile)
	e.clock.Advance(100 * 24 * time.Hour)
	code, err := e.get(tr)
	e.onRefresh.Store(nil)
	if err == nil && code == http.StatusOK {
		t.Fatal("the request succeeded, so it used a token that was not saved")
	}
	e.mu.Lock()
	for _, a := range e.accepted {
		if a != old.AccessToken {
			t.Error("the API received the unsaved token")
		}
	}
	e.mu.Unlock()

	// The disk recovers: token.json holds the spent token again.
	os.RemoveAll(path)
	os.WriteFile(path, saved, 0o600)
	if code, err := e.get(tr); err != nil || code != http.StatusOK {
		t.Fatalf("after the disk recovered: %d %v", code, err)
	}
	got := e.stored()
	if got.RefreshToken == old.RefreshToken || !e.id.Valid(got.AccessToken) {
		t.Error("token.json does not hold the rotated token")
	}
	if n := e.refreshes(); n != 1 {
		t.Errorf("%d refreshes, want 1: the rotation must be saved, not redone", n)
	}
	for _, msg := range []string{"cannot save the refreshed token; not using it until it is saved", "saved the refreshed token"} {
		if e.logs.FilterMessage(msg).Len() == 0 {
			t.Errorf("no log %q", msg)
		}
	}
}
