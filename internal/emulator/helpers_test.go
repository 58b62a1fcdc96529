package emulator

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fixtureDir holds the real response bodies the emulator's shapes are checked against.
const fixtureDir = "testdata/fixtures"

// reply is a response read in full.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response %d is not a JSON object: %v\n%s", r.status, err, r.body)
	}
	return m
}

// call sends one request to the emulator with the always-valid token.
func call(t *testing.T, s *Server, method, path string, q url.Values, body io.Reader) reply {
	t.Helper()
	return callAuth(t, s, method, path, q, body, "OAuth "+s.Token())
}

func callAuth(t *testing.T, s *Server, method, path string, q url.Values, body io.Reader, auth string) reply {
	t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = s.URL + path
	}
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return reply{res.StatusCode, res.Header, b}
}

func q(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func mustStatus(t *testing.T, r reply, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d; body: %s", r.status, want, r.body)
	}
}

// wantError checks an API error answer (§6.1): status, error code, the three string keys,
// and Content-Type application/json without charset (§1.5).
func wantError(t *testing.T, r reply, status int, code string) map[string]any {
	t.Helper()
	mustStatus(t, r, status)
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type %q, want application/json", ct)
	}
	m := r.json(t)
	if len(m) != 3 {
		t.Errorf("error body has %d keys, want 3: %s", len(m), r.body)
	}
	for _, k := range []string{"message", "description", "error"} {
		if _, ok := m[k].(string); !ok {
			t.Errorf("error body lacks string %q: %s", k, r.body)
		}
	}
	if m["error"] != code {
		t.Errorf("error %v, want %s", m["error"], code)
	}
	return m
}

func wantOKJSON(t *testing.T, r reply, status int) map[string]any {
	t.Helper()
	mustStatus(t, r, status)
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("success Content-Type %q, want application/json; charset=utf-8", ct)
	}
	return r.json(t)
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return b
}

// checkShape compares the key structure of got with a fixture: the same keys at every level
// of objects and the same JSON types. Keys in optional may be missing from got (fixture
// keys the emulator does not produce, such as previews). Array elements are compared with
// the fixture element of the same "type" when there is one.
func checkShape(t *testing.T, got []byte, fixture string, optional ...string) {
	t.Helper()
	var g, f any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("emulator body is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal(readFixture(t, fixture), &f); err != nil {
		t.Fatalf("fixture %s: %v", fixture, err)
	}
	opt := map[string]bool{}
	for _, o := range optional {
		opt[o] = true
	}
	var diffs []string
	compareShape("$", g, f, opt, &diffs)
	for _, d := range diffs {
		t.Errorf("shape differs from %s: %s", fixture, d)
	}
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	}
	return "?"
}

func compareShape(at string, g, f any, opt map[string]bool, diffs *[]string) {
	if jsonType(g) != jsonType(f) {
		*diffs = append(*diffs, at+": "+jsonType(g)+", fixture "+jsonType(f))
		return
	}
	switch fv := f.(type) {
	case map[string]any:
		gv := g.(map[string]any)
		for k := range fv {
			if _, ok := gv[k]; !ok && !opt[k] {
				*diffs = append(*diffs, at+": missing key "+k)
			}
		}
		var extra []string
		for k := range gv {
			if _, ok := fv[k]; !ok {
				extra = append(extra, k)
			}
		}
		sort.Strings(extra)
		for _, k := range extra {
			*diffs = append(*diffs, at+": extra key "+k)
		}
		for k, sub := range fv {
			if gs, ok := gv[k]; ok {
				compareShape(at+"."+k, gs, sub, opt, diffs)
			}
		}
	case []any:
		gv := g.([]any)
		if len(fv) == 0 {
			return
		}
		for i, ge := range gv {
			fe := fv[0]
			if gm, ok := ge.(map[string]any); ok {
				for _, c := range fv {
					if cm, ok := c.(map[string]any); ok && cm["type"] == gm["type"] {
						fe = c
						break
					}
				}
			}
			compareShape(at+"["+strconv.Itoa(i)+"]", ge, fe, opt, diffs)
		}
	}
}

// clock is a settable fake clock for Options.Now.
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

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// upload does the two steps of §3 and fails the test unless both succeed.
func upload(t *testing.T, s *Server, path string, content string) {
	t.Helper()
	r := call(t, s, "GET", "/v1/disk/resources/upload", q("path", path, "overwrite", "true"), nil)
	m := wantOKJSON(t, r, 200)
	put := callAuth(t, s, "PUT", m["href"].(string), nil, strings.NewReader(content), "")
	mustStatus(t, put, 201)
}

func getResource(t *testing.T, s *Server, path string, kv ...string) map[string]any {
	t.Helper()
	return wantOKJSON(t, call(t, s, "GET", "/v1/disk/resources", q(append([]string{"path", path}, kv...)...), nil), 200)
}

func itemNames(m map[string]any) []string {
	emb, _ := m["_embedded"].(map[string]any)
	items, _ := emb["items"].([]any)
	if items == nil {
		items, _ = m["items"].([]any)
	}
	var out []string
	for _, it := range items {
		out = append(out, it.(map[string]any)["name"].(string))
	}
	return out
}

// waitOperation polls an operation href until it leaves in-progress.
func waitOperation(t *testing.T, s *Server, href string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		m := wantOKJSON(t, call(t, s, "GET", href, nil, nil), 200)
		if st := m["status"].(string); st != "in-progress" {
			return st
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("operation %s still in progress", href)
	return ""
}

func filepathGlob(dir string) (int, error) {
	m, err := filepath.Glob(filepath.Join(dir, "blobs", "*"))
	return len(m), err
}
