package yandexid

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/oauth2"
)

// yandexConfig is the golang.org/x/oauth2 configuration §8.6 recommends.
func yandexConfig(origin string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     testClientID,
		ClientSecret: testSecret,
		RedirectURL:  loopbackRedirect,
		Endpoint: oauth2.Endpoint{
			AuthURL:       origin + "/authorize",
			TokenURL:      origin + "/token",
			DeviceAuthURL: origin + "/device/code",
			AuthStyle:     oauth2.AuthStyleInHeader,
		},
	}
}

// §8.6: the library's PKCE code flow and refresh work against the emulator.
func TestOAuth2LibraryCodeFlow(t *testing.T) {
	e := newEnv(t, testOptions())
	cfg := yandexConfig(e.srv.URL)
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, e.hc)

	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL("state-123", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("device_id", testDeviceID))
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	loc := e.authorize(u.Query())
	if loc.Query().Get("state") != "state-123" {
		t.Fatalf("state not echoed: %s", loc)
	}
	tok, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if !e.s.Valid(tok.AccessToken) || tok.Expiry.IsZero() || tok.RefreshToken == "" {
		t.Fatalf("token = valid %v, expiry %v, refresh %v", e.s.Valid(tok.AccessToken), tok.Expiry, tok.RefreshToken != "")
	}

	_, err = cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != errInvalidGrant {
		t.Errorf("second Exchange error = %v, want RetrieveError invalid_grant", err)
	}

	tok.Expiry = time.Now().Add(-time.Minute) // force the TokenSource to refresh
	fresh, err := cfg.TokenSource(ctx, tok).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.RefreshToken == tok.RefreshToken || !e.s.Valid(fresh.AccessToken) {
		t.Errorf("refresh through the library did not rotate or is not Valid")
	}
}

// inMemory is an http.RoundTripper that serves requests from h without a network, so the
// library's poll loop can run inside a synctest bubble.
type inMemory struct{ h http.Handler }

func (m inMemory) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	m.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// §8.2, §8.6: the library's device flow with the Yandex parameter overrides gets a token;
// without them it fails with unsupported_grant_type. The poll loop's 1 s ticks run on
// synctest's fake clock.
func TestOAuth2LibraryDeviceFlow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Options{ClientID: testClientID, ClientSecret: testSecret, Interval: time.Second, SlowDown: true})
		hc := &http.Client{Transport: inMemory{s.Handler()}}
		ctx := context.WithValue(t.Context(), oauth2.HTTPClient, hc)
		cfg := yandexConfig("http://oauth.test")

		da, err := cfg.DeviceAuth(ctx, oauth2.SetAuthURLParam("device_id", testDeviceID))
		if err != nil {
			t.Fatalf("DeviceAuth: %v", err)
		}
		if da.VerificationURI != "http://oauth.test/device" || da.Interval != 1 || da.Expiry.IsZero() {
			t.Fatalf("DeviceAuthResponse = %+v", da)
		}

		_, err = cfg.DeviceAccessToken(ctx, da)
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != errUnsupportedGrantType {
			t.Fatalf("RFC-style poll error = %v, want unsupported_grant_type", err)
		}

		var wg sync.WaitGroup
		wg.Go(func() {
			// The user approves after a few polls.
			time.Sleep(3500 * time.Millisecond)
			if err := s.ApproveDevice(da.UserCode); err != nil {
				t.Errorf("ApproveDevice: %v", err)
			}
		})
		start := time.Now()
		tok, err := cfg.DeviceAccessToken(ctx, da,
			oauth2.SetAuthURLParam("grant_type", "device_code"),
			oauth2.SetAuthURLParam("code", da.DeviceCode))
		wg.Wait()
		if err != nil {
			t.Fatalf("DeviceAccessToken: %v", err)
		}
		if !s.Valid(tok.AccessToken) {
			t.Error("device token not Valid")
		}
		if info, _ := s.Lookup(tok.AccessToken); info.DeviceID != testDeviceID {
			t.Errorf("device token bound to %q, want %q", info.DeviceID, testDeviceID)
		}
		if waited := time.Since(start); waited < 3500*time.Millisecond {
			t.Errorf("token after %v, before the user approved", waited)
		}
	})
}

// Every handler and method may run concurrently (one mutex guards all state). The
// workers report with t.Errorf only: t.Fatal must not run outside the test goroutine.
func TestConcurrentUse(t *testing.T) {
	opts := testOptions()
	opts.AutoApprove = true
	e := newEnv(t, opts)
	postJSON := func(path string, form url.Values) (int, map[string]any) {
		resp, err := e.hc.PostForm(e.srv.URL+path, form)
		if err != nil {
			t.Errorf("POST %s: %v", path, err)
			return 0, nil
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Errorf("POST %s: decode: %v", path, err)
		}
		return resp.StatusCode, m
	}
	const workers = 8
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			_, dc := postJSON("/device/code", url.Values{"client_id": {testClientID}})
			code, _ := dc["device_code"].(string)
			poll := creds("grant_type", "device_code", "code", code)
			if st, m := postJSON("/token", poll); st != http.StatusBadRequest || m["error"] != errAuthorizationPending {
				t.Errorf("first poll = %d %v", st, m)
			}
			st, tok := postJSON("/token", poll)
			access, _ := tok["access_token"].(string)
			refresh, _ := tok["refresh_token"].(string)
			if st != http.StatusOK || !e.s.Valid(access) {
				t.Errorf("second poll = %d, valid %v", st, e.s.Valid(access))
			}
			_ = e.s.PendingUserCodes()
			_ = e.s.Requests()
			if st, _ := postJSON("/token", creds("grant_type", "refresh_token", "refresh_token", refresh)); st != http.StatusOK {
				t.Errorf("refresh = %d", st)
			}
		})
	}
	wg.Wait()
	if n := len(e.s.Requests()); n != workers*4 {
		t.Errorf("recorded %d requests, want %d", n, workers*4)
	}
}
