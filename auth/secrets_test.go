package auth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/yasyncd/yasyncd/internal/emulator/yandexid"
)

// TestNoSecretsInLogsOrErrors runs every flow, the failing ones included, against one
// emulator with a debug-level observed logger, and checks that no access token, refresh
// token, authorization or device code, PKCE verifier, client secret or Authorization header
// value appears in any log entry or returned error. (Every other test in this package makes
// the same check on its logs when it ends; this one makes sure each path is covered.)
func TestNoSecretsInLogsOrErrors(t *testing.T) {
	e := newEnv(t, yandexid.Options{Interval: time.Second, StaticToken: "y0_static_not_revocable"})
	e.addSecret("y0_static_not_revocable")
	ctx := context.Background()
	var errs []error
	keep := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}

	// Device flow: approved, then denied.
	fs := &fakeSleep{clock: e.clock, advance: true, hook: func(int) {
		for _, c := range e.id.PendingUserCodes() {
			e.id.ApproveDevice(c)
		}
	}}
	opts := e.opts()
	opts.Sleep = fs.Sleep
	tok, err := DeviceLogin(ctx, opts, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	fs.hook = func(int) {
		for _, c := range e.id.PendingUserCodes() {
			e.id.DenyDevice(c)
		}
	}
	_, err = DeviceLogin(ctx, opts, io.Discard)
	keep(err)

	// Browser flow: a forged state, then success; then a refusal.
	open := func(authURL string) error {
		go func() {
			if u, err := http.NewRequest(http.MethodGet, authURL, nil); err == nil {
				cb := u.URL.Query().Get("redirect_uri")
				follow(e, cb+"?code=7654321&state=forged")
			}
			follow(e, authURL)
		}()
		return nil
	}
	if _, err := BrowserLogin(ctx, browserOpts(e), open, io.Discard); err != nil {
		t.Fatal(err)
	}
	e.id.SetDeny(true)
	_, err = BrowserLogin(ctx, browserOpts(e), open, io.Discard)
	keep(err)
	e.id.SetDeny(false)

	// Transport: use, refresh ahead of expiry, 401 → refresh → retry, transient failure,
	// refused refresh.
	if err := NewStore(e.dir).Save(tok); err != nil {
		t.Fatal(err)
	}
	tr := e.transport()
	for _, step := range []func(){
		func() {},
		func() { e.clock.Advance(100 * 24 * time.Hour) },
		func() { e.id.Expire(e.stored().AccessToken) },
		func() { e.clock.Advance(100 * 24 * time.Hour); e.failToken.Store(true) },
		func() { e.failToken.Store(false); e.id.Revoke(e.stored().AccessToken) },
	} {
		step()
		_, err := e.get(tr)
		keep(err)
	}

	// Revocation: unsupported, then a network failure.
	tok.AccessToken = "y0_static_not_revocable"
	keep(Revoke(ctx, e.opts(), tok))
	dead := e.opts()
	dead.OAuthURL = "http://127.0.0.1:1"
	keep(Revoke(ctx, dead, tok))
	_, err = DeviceLogin(ctx, dead, io.Discard)
	keep(err)

	// Status with a rejected environment token.
	info, err := Describe(ctx, e.opts(), e.srv.URL, "y0_static_not_revocable_typo")
	keep(err)
	if info != nil {
		keep(info.CheckErr)
	}

	if len(errs) < 6 {
		t.Fatalf("only %d failing paths were exercised", len(errs))
	}
	var refused bool
	for _, err := range errs {
		e.assertErrClean(err)
		refused = refused || errors.Is(err, ErrLoginRequired)
	}
	if !refused {
		t.Error("the refused refresh was not among the errors")
	}
	if e.logs.Len() == 0 {
		t.Fatal("nothing was logged: the check below would prove nothing")
	}
	e.mu.Lock()
	n := len(e.secrets)
	e.mu.Unlock()
	if n < 10 {
		t.Fatalf("only %d secrets were collected", n)
	}
	for _, entry := range e.logs.All() {
		if strings.Contains(strings.ToLower(entry.Message), "oauth y0_") {
			t.Errorf("Authorization value in a log entry: %q", entry.Message)
		}
	}
	// assertLogsClean runs at cleanup over every entry.
}
