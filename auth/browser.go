package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/oauth2"
)

// BrowserLogin runs the authorization-code flow with a loopback redirect (§8.1), protected
// by a random state and PKCE (S256). It listens on the redirect URI's host and port, opens
// the authorization page with open (nil, as with --no-browser, or a failing open: the URL is
// printed to out for the user to open), receives the code, and exchanges it together with
// the PKCE verifier and the client credentials.
//
// A callback with a wrong or missing state is answered 400 and ignored — the login keeps
// waiting — because it is not the answer to this login (a stale tab, another program, a
// forged request) and must not be able to end it. ?error=access_denied ends the login with
// ErrLoginRefused; nobody answering within opts.LoginTimeout ends it with ErrLoginTimeout.
// The token is returned, not stored.
func BrowserLogin(ctx context.Context, opts Options, open func(url string) error, out io.Writer) (*oauth2.Token, error) {
	o, err := opts.withDefaults(nil)
	if err != nil {
		return nil, err
	}
	if err := o.requireClient(); err != nil {
		return nil, err
	}
	redirect, err := url.Parse(o.RedirectURI)
	if err != nil || redirect.Scheme != "http" || !isLoopback(redirect.Hostname()) || redirect.Port() == "" {
		return nil, &settingError{msg: fmt.Sprintf("redirect_uri %q: want http://127.0.0.1:<port>/<path>, a loopback address with a port, registered for the app", o.RedirectURI)}
	}
	ln, err := net.Listen("tcp", redirect.Host)
	if err != nil {
		return nil, fmt.Errorf("browser login: listen on %s for the redirect (is another login running? --device needs no port): %w", redirect.Host, err)
	}
	if redirect.Port() == "0" {
		redirect.Host = net.JoinHostPort(redirect.Hostname(), strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	}
	if redirect.Path == "" {
		redirect.Path = "/"
	}

	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, o.LoginTimeout)
	defer cancel()

	state := randomString()
	verifier := oauth2.GenerateVerifier()
	conf := o.oauthConfig(redirect.String())
	authURL := conf.AuthCodeURL(state,
		oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("device_id", o.DeviceID),
		oauth2.SetAuthURLParam("device_name", o.DeviceName))

	cb := &callback{path: redirect.Path, state: state, results: make(chan callbackResult)}
	srv := &http.Server{Handler: cb, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(ln) // returns when Shutdown or Close below stops it
	}()
	defer func() {
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer scancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
		<-served
	}()

	opened := false
	if open != nil {
		if err := open(authURL); err == nil {
			opened = true
		} else {
			o.Logger.Info("cannot open a browser; printing the URL", zap.String("op", "browser_login"), zap.Error(err))
		}
	}
	if opened {
		fmt.Fprintf(out, "A browser window should have opened to let yasyncd use your Yandex Disk.\nIf it did not, open this URL:\n\n    %s\n\nWaiting for the answer on %s…\n", authURL, redirect.Host)
	} else {
		fmt.Fprintf(out, "To let yasyncd use your Yandex Disk, open this URL in a browser on this machine:\n\n    %s\n\nWaiting for the answer on %s…\n", authURL, redirect.Host)
	}

	for {
		var r callbackResult
		select {
		case <-ctx.Done():
			if err := parent.Err(); err != nil {
				return nil, fmt.Errorf("browser login: %w", err)
			}
			return nil, fmt.Errorf("browser login: no answer within %s: %w", o.LoginTimeout, ErrLoginTimeout)
		case r = <-cb.results:
		}
		if r.errCode != "" {
			err := fmt.Errorf("browser login: the server answered %s: %w", r.errCode, ErrLoginRefused)
			if r.errCode == "unauthorized_client" {
				err = fmt.Errorf("browser login: the server answered %s: %w", r.errCode, ErrInvalidClient)
			}
			r.done <- err
			return nil, err
		}
		tok, err := conf.Exchange(o.httpContext(ctx), r.code,
			oauth2.VerifierOption(verifier),
			oauth2.SetAuthURLParam("device_id", o.DeviceID),
			oauth2.SetAuthURLParam("device_name", o.DeviceName))
		if err != nil {
			err = oauthError("token", err)
			r.done <- err
			return nil, err
		}
		r.done <- nil
		o.Logger.Info("browser login completed", zap.String("op", "browser_login"))
		return o.stamp(tok), nil
	}
}

// callback serves the redirect. Only the first answer with the right state is handed to
// BrowserLogin; its page shows how the exchange went.
type callback struct {
	path    string
	state   string
	results chan callbackResult

	mu      sync.Mutex
	handled bool
}

type callbackResult struct {
	code    string
	errCode string
	// done receives the outcome for the page; it is buffered so BrowserLogin never blocks.
	done chan error
}

func (c *callback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != c.path {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	got := q.Get("state")
	if subtle.ConstantTimeCompare([]byte(got), []byte(c.state)) != 1 {
		page(w, http.StatusBadRequest, "This answer does not belong to the login yasyncd is waiting for (wrong state). yasyncd keeps waiting; use the link it printed.")
		return
	}
	res := callbackResult{code: q.Get("code"), errCode: q.Get("error"), done: make(chan error, 1)}
	if res.code == "" && res.errCode == "" {
		page(w, http.StatusBadRequest, "The answer carries neither a code nor an error.")
		return
	}
	c.mu.Lock()
	first := !c.handled
	c.handled = true
	c.mu.Unlock()
	if !first {
		page(w, http.StatusConflict, "yasyncd has already received an answer for this login. You can close this tab.")
		return
	}
	select {
	case c.results <- res:
	case <-r.Context().Done():
		return
	}
	select {
	case err := <-res.done:
		switch {
		case err == nil:
			page(w, http.StatusOK, "yasyncd is now allowed to use your Yandex Disk. You can close this tab.")
		case errors.Is(err, ErrLoginRefused) && res.errCode != "":
			page(w, http.StatusOK, "Access was not granted. You can close this tab; run `yasyncd auth login` to try again.")
		default:
			page(w, http.StatusBadGateway, "yasyncd could not complete the login: "+err.Error()+". You can close this tab.")
		}
	case <-r.Context().Done():
	}
}

func page(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><meta charset=utf-8><title>yasyncd</title><p>%s</p>\n", html.EscapeString(msg))
}

// randomString is 32 bytes from crypto/rand, URL-safe.
func randomString() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics rather than return an error)
	return base64.RawURLEncoding.EncodeToString(b)
}
