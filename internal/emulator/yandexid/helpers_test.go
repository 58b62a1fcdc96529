package yandexid

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testClientID = "app-client-id"
	testSecret   = "app-secret-value"
	testDeviceID = "test device 123" // the recorded one (fixtures/README.md)
)

// Shapes of the recorded values (fixtures/oauth-*.json, §8.1, §8.2).
var (
	accessTokenRe  = regexp.MustCompile(`^y0_[A-Za-z0-9_-]{58}$`)
	refreshTokenRe = regexp.MustCompile(`^1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{86}:[A-Za-z0-9_-]{22}$`)
	authCodeRe     = regexp.MustCompile(`^[1-9][0-9]{6}$`)
	deviceCodeRe   = regexp.MustCompile(`^[0-9a-f]{32}$`)
	userCodeRe     = regexp.MustCompile(`^[a-z0-9]{8}$`)
)

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one emulator on 127.0.0.1:0 with a fake clock and a client that does not follow
// redirects, so /authorize answers can be inspected.
type env struct {
	t     *testing.T
	s     *Server
	srv   *httptest.Server
	clock *clock
	hc    *http.Client
}

// testOptions is the registered app most tests use.
func testOptions() Options {
	return Options{ClientID: testClientID, ClientSecret: testSecret, Interval: time.Second}
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	c := newClock()
	if opts.Now == nil {
		opts.Now = c.Now
	}
	s := New(opts)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	hc := srv.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &env{t: t, s: s, srv: srv, clock: c, hc: hc}
}

type answer struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (e *env) do(req *http.Request) answer {
	e.t.Helper()
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read %s: %v", req.URL.Path, err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, body: body}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(body, &a.json); err != nil {
			e.t.Fatalf("%s %s: body is not a JSON object: %v: %s", req.Method, req.URL.Path, err, body)
		}
	}
	return a
}

// post sends form as an application/x-www-form-urlencoded body; mods adjust the request.
func (e *env) post(path string, form url.Values, mods ...func(*http.Request)) answer {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, m := range mods {
		m(req)
	}
	return e.do(req)
}

func (e *env) get(pathAndQuery string) answer {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+pathAndQuery, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(req)
}

// creds returns the app's credentials plus kv pairs as a form.
func creds(kv ...string) url.Values {
	v := url.Values{"client_id": {testClientID}, "client_secret": {testSecret}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// wantError checks an OAuth error answer (§8.5): status, Content-Type without charset,
// exactly the keys error and error_description, the code, a non-empty description.
func (a answer) wantError(t *testing.T, status int, code string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status = %d, want %d; body %s", a.status, status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type = %q, want application/json", ct)
	}
	if got := sortedMapKeys(a.json); !slices.Equal(got, []string{"error", "error_description"}) {
		t.Errorf("error keys = %v, want [error error_description]; body %s", got, a.body)
	}
	if a.json["error"] != code {
		t.Errorf("error = %v, want %q; body %s", a.json["error"], code, a.body)
	}
	if d, _ := a.json["error_description"].(string); d == "" {
		t.Errorf("empty error_description; body %s", a.body)
	}
}

// wantOK checks a success answer: 200 and the success Content-Type (§1.5).
func (a answer) wantOK(t *testing.T) {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", a.status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("success Content-Type = %q, want application/json; charset=utf-8", ct)
	}
}

// wantToken checks a token answer against the recorded fixture's key set and value shapes
// and returns the access and refresh tokens.
func (a answer) wantToken(t *testing.T, fixture string) (access, refresh string) {
	t.Helper()
	a.wantOK(t)
	if got, want := sortedMapKeys(a.json), fixtureKeys(t, fixture); !slices.Equal(got, want) {
		t.Errorf("token keys = %v, want %v (%s)", got, want, fixture)
	}
	access, _ = a.json["access_token"].(string)
	refresh, _ = a.json["refresh_token"].(string)
	if !accessTokenRe.MatchString(access) {
		t.Errorf("access_token %q does not look like y0_…", access)
	}
	if !refreshTokenRe.MatchString(refresh) {
		t.Errorf("refresh_token %q does not look like 1:<16>:<86>:<22>", refresh)
	}
	if a.json["token_type"] != "bearer" {
		t.Errorf("token_type = %v, want bearer", a.json["token_type"])
	}
	if _, ok := a.json["expires_in"].(float64); !ok {
		t.Errorf("expires_in = %v, want a number", a.json["expires_in"])
	}
	return access, refresh
}

func (a answer) expiresIn() int64 {
	f, _ := a.json["expires_in"].(float64)
	return int64(f)
}

func sortedMapKeys(m map[string]any) []string {
	return slices.Sorted(maps.Keys(m))
}

// fixtureKeys returns the sorted top-level keys of a recorded body in testdata (copies of
// ../shared/docs/fixtures/oauth-*.json).
func fixtureKeys(t *testing.T, name string) []string {
	t.Helper()
	return sortedMapKeys(readFixture(t, name))
}

func readFixture(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("decode fixture %s: %v", name, err)
	}
	return m
}

// requestDeviceCode runs /device/code and returns device_code and user_code.
func (e *env) requestDeviceCode() (deviceCode, userCode string) {
	e.t.Helper()
	a := e.post("/device/code", url.Values{"client_id": {testClientID}, "device_id": {testDeviceID}})
	a.wantOK(e.t)
	deviceCode, _ = a.json["device_code"].(string)
	userCode, _ = a.json["user_code"].(string)
	return deviceCode, userCode
}

// pollDevice polls /token the Yandex way (§8.2 step 3).
func (e *env) pollDevice(deviceCode string) answer {
	e.t.Helper()
	return e.post("/token", creds("grant_type", "device_code", "code", deviceCode, "device_id", testDeviceID))
}

// authorize runs /authorize with q (client_id added when absent) and returns the 302's
// parsed Location.
func (e *env) authorize(q url.Values) *url.URL {
	e.t.Helper()
	if q.Get("client_id") == "" {
		q.Set("client_id", testClientID)
	}
	a := e.get("/authorize?" + q.Encode())
	if a.status != http.StatusFound {
		e.t.Fatalf("authorize status = %d, want 302; body %s", a.status, a.body)
	}
	loc, err := url.Parse(a.header.Get("Location"))
	if err != nil {
		e.t.Fatalf("Location: %v", err)
	}
	return loc
}

// authCode runs /authorize and returns the code from the redirect.
func (e *env) authCode(q url.Values) string {
	e.t.Helper()
	loc := e.authorize(q)
	code := loc.Query().Get("code")
	if !authCodeRe.MatchString(code) {
		e.t.Fatalf("code %q in %s is not a 7-digit number", code, loc)
	}
	return code
}

const loopbackRedirect = "http://127.0.0.1:53682/callback"
