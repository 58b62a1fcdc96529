package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"
)

// Transport authorizes requests to the Disk API with the token in token.json and keeps that
// token valid. It is safe for concurrent use.
//
// Before each request it checks whether token.json changed (a new login, or a refresh by
// another process) and re-reads it if so. It refreshes the token ahead of expiry (package
// doc, "Refresh policy") and once after a 401, then retries the request once when its body
// can be replayed. Concurrent requests share one refresh. A new token is written to
// token.json before any request uses it, because Yandex rotates the refresh token and an
// unsaved rotation would cost the user a new login after a crash.
//
// When the server refuses the refresh (invalid_grant), RoundTrip returns an error wrapping
// ErrLoginRequired — cheaply, without asking again — until token.json changes. It never
// deletes the file.
type Transport struct {
	opts  Options
	base  http.RoundTripper
	store *Store
	conf  *oauth2.Config
	log   *zap.Logger

	flight singleflight.Group

	mu sync.Mutex
	// tok is the token from file, nil when there is none.
	tok *oauth2.Token
	// obtained is when tok arrived (the file's mtime); expiry − obtained is its lifetime.
	obtained time.Time
	// file describes the version of token.json that tok and sticky come from; nil when the
	// file was absent.
	file   fs.FileInfo
	synced bool
	// sticky is an error that holds until token.json changes: ErrLoginRequired after a
	// refused refresh or without a file, ErrInsecureTokenFile.
	sticky error
	// unsaved is a refreshed token whose Save failed. It is the only copy of the rotated
	// refresh token, so it is kept, but it is not used until it is on disk. unsavedFrom is
	// the refresh token it replaced: while token.json still holds that spent token, the
	// unsaved one is the newest; once the file holds anything else (a new login) or is
	// gone (logout), the file wins.
	unsaved     *oauth2.Token
	unsavedFrom string
	// retryAt delays the next ahead-of-expiry refresh after a transient failure.
	retryAt time.Time
	// refusedAccess is an access token the API refused (401) although a refresh had just
	// handed it out again; no new refresh is tried for it before refusedUntil.
	refusedAccess string
	refusedUntil  time.Time
}

// NewTransport returns a Transport over base (nil: http.DefaultTransport) for the token in
// opts.StateDir. It does not read the token yet: a missing token makes requests fail with
// ErrLoginRequired until `yasyncd auth login` writes one.
func NewTransport(opts Options, base http.RoundTripper) (*Transport, error) {
	if base == nil {
		base = http.DefaultTransport
	}
	o, err := opts.withDefaults(base)
	if err != nil {
		return nil, err
	}
	if o.StateDir == "" {
		return nil, errNoStateDir
	}
	return &Transport{
		opts:  o,
		base:  base,
		store: &Store{dir: o.StateDir, now: o.Now},
		conf:  o.oauthConfig(""),
		log:   o.Logger,
	}, nil
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	tok, err := t.token(ctx)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.base.RoundTrip(authorized(req, tok.AccessToken))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}

	t.mu.Lock()
	refusedAgain := t.refusedAccess == tok.AccessToken && t.opts.Now().Before(t.refusedUntil)
	t.mu.Unlock()
	if refusedAgain {
		// A refresh just answered with this same token and the API still refuses it;
		// refreshing on every request would not change that.
		return resp, nil
	}
	fresh, rerr := t.refresh(ctx, tok, true)
	if rerr != nil {
		if errors.Is(rerr, ErrLoginRequired) {
			resp.Body.Close()
			return nil, rerr
		}
		// Could not refresh now: the caller gets the 401 it would have had.
		if ctx.Err() == nil {
			t.log.Warn("token refresh after 401 failed", zap.String("op", "refresh"), zap.Error(rerr))
		}
		return resp, nil
	}
	if fresh.AccessToken == tok.AccessToken {
		t.mu.Lock()
		t.refusedAccess, t.refusedUntil = tok.AccessToken, t.opts.Now().Add(retryRefreshAfter)
		t.mu.Unlock()
	}
	if fresh.AccessToken == tok.AccessToken || !replayable(req) {
		// The server refused this very token, or the body is gone: the next request uses
		// the fresh token.
		return resp, nil
	}
	retry := authorized(req, fresh.AccessToken)
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return resp, nil
		}
		retry.Body = body
	}
	drain(resp)
	t.log.Debug("retrying after 401 with a refreshed token", zap.String("op", "request"), zap.Int("attempt", 2))
	return t.base.RoundTrip(retry)
}

// token returns the token to send now, refreshing it first when it is due.
func (t *Transport) token(ctx context.Context) (*oauth2.Token, error) {
	now := t.opts.Now()
	t.mu.Lock()
	if err := t.syncLocked(); err != nil {
		t.mu.Unlock()
		return nil, err
	}
	if t.sticky != nil {
		err := t.sticky
		t.mu.Unlock()
		return nil, err
	}
	tok := t.tok
	due := t.unsaved != nil || t.dueLocked(tok, t.obtained, now)
	if due && t.unsaved == nil && now.Before(t.retryAt) && now.Before(tok.Expiry) {
		due = false
	}
	t.mu.Unlock()

	if !due {
		return tok, nil
	}
	if tok.RefreshToken == "" {
		if now.Before(tok.Expiry) {
			return tok, nil
		}
		return nil, fmt.Errorf("the token expired and there is no refresh token: %w", ErrLoginRequired)
	}
	fresh, err := t.refresh(ctx, tok, false)
	if err == nil {
		return fresh, nil
	}
	if errors.Is(err, ErrLoginRequired) || errors.Is(err, ErrInsecureTokenFile) || ctx.Err() != nil {
		return nil, err
	}
	if now.Before(tok.Expiry) {
		// A transient failure ahead of expiry: the current token still works.
		t.log.Warn("token refresh failed; using the current token", zap.String("op", "refresh"), zap.Error(err))
		return tok, nil
	}
	return nil, err
}

// dueLocked applies the refresh policy (package doc).
func (t *Transport) dueLocked(tok *oauth2.Token, obtained, now time.Time) bool {
	if tok.Expiry.IsZero() {
		return false // the server gave no lifetime; a 401 will tell
	}
	return !now.Before(tok.Expiry.Add(-t.threshold(tok.Expiry.Sub(obtained))))
}

// threshold is how long before expiry a token with the given lifetime is refreshed.
func (t *Transport) threshold(lifetime time.Duration) time.Duration {
	th := t.opts.RefreshMargin
	if f := time.Duration(float64(lifetime) * t.opts.RefreshFraction); f > th {
		th = f
	}
	if lifetime > 0 && th >= lifetime {
		th = lifetime / 2
	}
	return th
}

// syncLocked re-reads token.json when it changed since it was last read or written.
func (t *Transport) syncLocked() error {
	fi, err := os.Stat(t.store.Path())
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !t.synced || t.file != nil {
			t.synced, t.file, t.tok, t.unsaved = true, nil, nil, nil
			t.sticky = fmt.Errorf("no token in %s: %w", t.store.Path(), ErrLoginRequired)
		}
		return nil
	case err != nil:
		return fmt.Errorf("read token: %w", err)
	}
	if t.synced && t.file != nil && sameVersion(t.file, fi) {
		return nil
	}
	tok, fi, err := t.store.load()
	if err != nil && !errors.Is(err, ErrLoginRequired) && !errors.Is(err, ErrInsecureTokenFile) {
		return err // an I/O error: try again on the next request
	}
	t.synced, t.file, t.sticky, t.retryAt = true, fi, err, time.Time{}
	if err != nil {
		t.tok = nil
		return nil
	}
	if t.tok != nil {
		t.log.Info("token file changed; using the new token", zap.String("path", t.store.Path()))
	}
	if tok.RefreshToken != t.unsavedFrom {
		t.unsaved = nil // a token written by someone else supersedes a rotation we could not save
	}
	t.tok, t.obtained = tok, fi.ModTime()
	return nil
}

// refresh obtains a new token, shared by all concurrent callers. used is the token the
// caller had; after401 says the server just refused used.AccessToken.
func (t *Transport) refresh(ctx context.Context, used *oauth2.Token, after401 bool) (*oauth2.Token, error) {
	ch := t.flight.DoChan("refresh", func() (any, error) {
		// Detached from the caller: other requests wait on the same refresh.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
		defer cancel()
		return t.refreshLocked(rctx, used, after401)
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*oauth2.Token), nil
	}
}

// refreshLocked runs under the inter-process file lock.
func (t *Transport) refreshLocked(ctx context.Context, used *oauth2.Token, after401 bool) (*oauth2.Token, error) {
	unlock, err := t.store.Lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()

	// Another process may have refreshed, or the user logged in again, since we read it.
	cur, fi, err := t.store.load()

	t.mu.Lock()
	unsaved, from := t.unsaved, t.unsavedFrom
	t.mu.Unlock()
	if unsaved != nil {
		_, statErr := os.Stat(t.store.Path())
		switch {
		case errors.Is(statErr, fs.ErrNotExist) || (err == nil && cur.RefreshToken != from):
			t.mu.Lock()
			t.unsaved = nil
			t.mu.Unlock()
		default:
			if err := t.store.Save(unsaved); err != nil {
				return nil, err
			}
			t.log.Info("saved the refreshed token", zap.String("path", t.store.Path()))
			return t.adopt(unsaved, t.opts.Now())
		}
	}
	if err != nil {
		if errors.Is(err, ErrLoginRequired) || errors.Is(err, ErrInsecureTokenFile) {
			t.mu.Lock()
			t.synced, t.file, t.tok, t.sticky = true, fi, nil, err
			t.mu.Unlock()
		}
		return nil, err
	}
	now := t.opts.Now()
	if cur.AccessToken != used.AccessToken || cur.RefreshToken != used.RefreshToken {
		t.mu.Lock()
		t.synced, t.file, t.tok, t.obtained, t.sticky = true, fi, cur, fi.ModTime(), nil
		due := t.dueLocked(cur, fi.ModTime(), now)
		t.mu.Unlock()
		if (after401 && cur.AccessToken != used.AccessToken) || (!after401 && !due) {
			return cur, nil
		}
	}
	if cur.RefreshToken == "" {
		return nil, fmt.Errorf("refresh: no refresh token in %s: %w", t.store.Path(), ErrLoginRequired)
	}

	src := t.conf.TokenSource(t.opts.httpContext(ctx), &oauth2.Token{RefreshToken: cur.RefreshToken})
	fresh, err := src.Token()
	if err != nil {
		err = oauthError("refresh", err)
		t.mu.Lock()
		if errors.Is(err, ErrLoginRequired) {
			// Sticky until the file changes: asking again with the same refresh token
			// cannot succeed, and a daemon must not hammer the server.
			t.synced, t.file, t.tok, t.sticky = true, fi, nil, err
		} else {
			t.retryAt = now.Add(retryRefreshAfter)
		}
		t.mu.Unlock()
		return nil, err
	}
	fresh = t.opts.stamp(fresh)
	if err := t.store.Save(fresh); err != nil {
		t.mu.Lock()
		t.unsaved, t.unsavedFrom = fresh, cur.RefreshToken
		t.mu.Unlock()
		t.log.Error("cannot save the refreshed token; not using it until it is saved", zap.String("path", t.store.Path()), zap.Error(err))
		return nil, err
	}
	t.log.Info("token refreshed", zap.String("op", "refresh"), zap.Time("expiry", fresh.Expiry),
		zap.Bool("new_access_token", fresh.AccessToken != cur.AccessToken))
	return t.adopt(fresh, now)
}

// adopt makes a token that was just saved the current one.
func (t *Transport) adopt(tok *oauth2.Token, obtained time.Time) (*oauth2.Token, error) {
	fi, err := os.Stat(t.store.Path())
	if err != nil {
		return nil, fmt.Errorf("read token: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.synced, t.file, t.tok, t.obtained = true, fi, tok, obtained
	t.sticky, t.unsaved, t.retryAt = nil, nil, time.Time{}
	return tok, nil
}

// sameVersion reports whether two stats describe the same version of token.json: the same
// inode (every save is a rename), size, mtime and mode (chmod fixes an insecure file).
func sameVersion(a, b fs.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime()) && a.Mode() == b.Mode()
}

// StaticTransport authorizes every request with accessToken as is (YASYNCD_TOKEN): it is
// never stored and never refreshed; a 401 reaches the caller.
func StaticTransport(accessToken string, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return staticTransport{token: accessToken, base: base}
}

type staticTransport struct {
	token string
	base  http.RoundTripper
}

func (s staticTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return s.base.RoundTrip(authorized(req, s.token))
}

// authorized clones req (a RoundTripper must not modify its request) with Yandex's header.
func authorized(req *http.Request, accessToken string) *http.Request {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "OAuth "+accessToken)
	return r
}

func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// drain lets the connection be reused before the retry.
func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
