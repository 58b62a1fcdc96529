package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/oauth2"

	"github.com/yasyncd/yasyncd/internal/emulator/yandexid"
)

const (
	testClientID     = "test-client-id"
	testClientSecret = "test-client-secret-s3cr3t"
)

// clock is a controlled clock shared by the code under test and the emulator.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is one OAuth emulator plus a minimal Disk API endpoint on one origin, a state
// directory, a controlled clock and an observed logger. Every secret that crosses the wire
// is collected, and at the end of the test no log entry may contain any of them.
type env struct {
	t      *testing.T
	id     *yandexid.Server
	srv    *httptest.Server
	clock  *clock
	dir    string
	logger *zap.Logger
	logs   *observer.ObservedLogs

	apiOK, api401 atomic.Int64
	failToken     atomic.Bool // /token answers 503
	refuseAPI     atomic.Bool // /v1/disk answers 401 to every token
	// onRefresh runs while a refresh request is being answered.
	onRefresh atomic.Pointer[func()]

	mu       sync.Mutex
	secrets  map[string]bool
	schemes  []string // Authorization schemes seen by the API
	accepted []string // access tokens the API accepted, in order
}

func newEnv(t *testing.T, opts yandexid.Options) *env {
	t.Helper()
	e := &env{t: t, clock: newClock(), dir: t.TempDir(), secrets: map[string]bool{testClientSecret: true}}
	if opts.ClientID == "" {
		opts.ClientID, opts.ClientSecret = testClientID, testClientSecret
	}
	if opts.Now == nil {
		opts.Now = e.clock.Now
	}
	e.id = yandexid.New(opts)
	mux := http.NewServeMux()
	e.id.Register(mux)
	mux.HandleFunc("/v1/disk", e.handleDisk)
	e.srv = httptest.NewServer(e.collect(mux))
	t.Cleanup(e.srv.Close)
	core, logs := observer.New(zap.DebugLevel)
	e.logger, e.logs = zap.New(core), logs
	t.Cleanup(e.assertLogsClean)
	return e
}

// opts are Options for the code under test.
func (e *env) opts() Options {
	return Options{
		OAuthURL:     e.srv.URL,
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		StateDir:     e.dir,
		DeviceID:     "test-device-1",
		DeviceName:   "yasyncd test",
		HTTPClient:   e.srv.Client(),
		Logger:       e.logger,
		Now:          e.clock.Now,
	}
}

// handleDisk is GET/POST /v1/disk: 401 unless `Authorization: OAuth <live token>`; a POST
// echoes its body so tests see whether a retry replayed it.
func (e *env) handleDisk(w http.ResponseWriter, r *http.Request) {
	h := r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(h, " ")
	e.mu.Lock()
	e.schemes = append(e.schemes, scheme)
	e.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if scheme != "OAuth" || !e.id.Valid(tok) || e.refuseAPI.Load() {
		e.api401.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"message":"Не авторизован.","description":"Unauthorized","error":"UnauthorizedError"}`)
		return
	}
	e.apiOK.Add(1)
	e.mu.Lock()
	e.accepted = append(e.accepted, tok)
	e.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	json.NewEncoder(w).Encode(map[string]any{"user": map[string]string{"login": "tester"}, "echo": string(body)})
}

// collect records every token, code and secret in requests and answers.
func (e *env) collect(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.failToken.Load() && r.URL.Path == "/token" {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		if f := e.onRefresh.Load(); f != nil && form.Get("grant_type") == "refresh_token" {
			(*f)()
		}
		for _, k := range []string{"code", "refresh_token", "access_token", "client_secret", "code_verifier"} {
			e.addSecret(form.Get(k))
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var answer map[string]any
		if json.Unmarshal(rec.Body.Bytes(), &answer) == nil {
			for _, k := range []string{"access_token", "refresh_token", "device_code"} {
				if s, ok := answer[k].(string); ok {
					e.addSecret(s)
				}
			}
		}
		if loc := rec.Header().Get("Location"); loc != "" {
			if u, err := url.Parse(loc); err == nil {
				e.addSecret(u.Query().Get("code"))
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
}

func (e *env) addSecret(s string) {
	if len(s) < 6 {
		return
	}
	e.mu.Lock()
	e.secrets[s] = true
	e.mu.Unlock()
}

// assertClean fails when any collected secret appears in s.
func (e *env) assertClean(what, s string) {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	for sec := range e.secrets {
		if strings.Contains(s, sec) {
			e.t.Errorf("%s contains a secret (%d chars): %q", what, len(sec), strings.ReplaceAll(s, sec, "<SECRET>"))
		}
	}
}

// assertErrClean checks a returned error's text.
func (e *env) assertErrClean(err error) {
	e.t.Helper()
	if err != nil {
		e.assertClean("error", err.Error())
	}
}

func (e *env) assertLogsClean() {
	e.t.Helper()
	for _, entry := range e.logs.All() {
		e.assertClean("log entry", entry.Message+" "+fmt.Sprint(entry.ContextMap()))
	}
}

// login seeds a device-bound token pair in the emulator and saves it as `auth login` would,
// at the current time of the clock. ttl 0 is Yandex's one year.
func (e *env) login(ttl time.Duration) *oauth2.Token {
	e.t.Helper()
	if ttl <= 0 {
		ttl = yandexid.DefaultTokenTTL
	}
	access, refresh := e.id.IssueToken(ttl)
	e.addSecret(access)
	e.addSecret(refresh)
	tok := &oauth2.Token{AccessToken: access, RefreshToken: refresh, Expiry: e.clock.Now().Add(ttl)}
	if err := (&Store{dir: e.dir, now: e.clock.Now}).Save(tok); err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// stored reads token.json.
func (e *env) stored() *oauth2.Token {
	e.t.Helper()
	tok, err := NewStore(e.dir).Load()
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// refreshes counts refresh requests the OAuth server answered.
func (e *env) refreshes() int {
	n := 0
	for _, r := range e.id.Requests() {
		if r.Path == "/token" && r.GrantType == "refresh_token" {
			n++
		}
	}
	return n
}

// get sends GET /v1/disk through rt and returns the status.
func (e *env) get(rt http.RoundTripper) (int, error) {
	e.t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, e.srv.URL+"/v1/disk", nil)
	resp, err := (&http.Client{Transport: rt}).Do(req)
	e.assertErrClean(err)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (e *env) transport() *Transport {
	e.t.Helper()
	tr, err := NewTransport(e.opts(), e.srv.Client().Transport)
	if err != nil {
		e.t.Fatal(err)
	}
	return tr
}
