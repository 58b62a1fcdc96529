package emulator

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// §6.3, §11: injected 429 with and without Retry-After, 5xx, 507, 401, 423, for the next N
// matching requests only.
func TestInjectStatusFaults(t *testing.T) {
	s := NewServer(t)
	s.InjectOnce("GET", "/v1/disk", Fault{Kind: FaultTooManyRequests, RetryAfter: 2 * time.Second})
	r := call(t, s, "GET", "/v1/disk", nil, nil)
	wantError(t, r, 429, "TooManyRequestsError")
	if r.header.Get("Retry-After") != "2" {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	mustStatus(t, call(t, s, "GET", "/v1/disk", nil, nil), 200)

	s.InjectN("", "/v1/disk/resources", 2, Fault{Kind: FaultTooManyRequests})
	r = call(t, s, "GET", "/v1/disk/resources", q("path", "/"), nil)
	wantError(t, r, 429, "TooManyRequestsError")
	if _, ok := r.header["Retry-After"]; ok {
		t.Error("429 without RetryAfter must have no Retry-After")
	}
	wantError(t, call(t, s, "PUT", "/v1/disk/resources", q("path", "/x"), nil), 429, "TooManyRequestsError")
	mustStatus(t, call(t, s, "PUT", "/v1/disk/resources", q("path", "/x"), nil), 201)

	for _, tc := range []struct {
		kind   FaultKind
		status int
		code   string
	}{
		{FaultInternal, 500, "InternalServerError"},
		{FaultUnavailable, 503, "ServiceUnavailableError"},
		{FaultInsufficientStorage, 507, "DiskStorageQuotaExhaustedError"},
		{FaultUnauthorized, 401, "UnauthorizedError"},
		{FaultLocked, 423, "DiskResourceLockedError"},
	} {
		s.InjectOnce("GET", "/v1/disk", Fault{Kind: tc.kind})
		wantError(t, call(t, s, "GET", "/v1/disk", nil, nil), tc.status, tc.code)
	}
	// Faults on the download host are HTML (§9.16).
	if err := s.PutFile("/a.txt", []byte("abc")); err != nil {
		t.Fatal(err)
	}
	link := wantOKJSON(t, call(t, s, "GET", "/v1/disk/resources/download", q("path", "/a.txt"), nil), 200)
	s.InjectOnce("GET", StoragePathPrefix, Fault{Kind: FaultInternal})
	r = callAuth(t, s, "GET", link["href"].(string), nil, nil, "")
	if r.status != 500 || r.header.Get("Content-Type") != "text/html" {
		t.Errorf("storage fault: %d %s", r.status, r.header.Get("Content-Type"))
	}
	if got := s.Requests(); got[len(got)-1].Fault != "500" {
		t.Errorf("request log fault %q", got[len(got)-1].Fault)
	}
}

// §11: a truncated download declares the full length and closes early.
func TestTruncatedDownload(t *testing.T) {
	s := NewServer(t)
	content := strings.Repeat("z", 4096)
	if err := s.PutFile("/big.bin", []byte(content)); err != nil {
		t.Fatal(err)
	}
	link := wantOKJSON(t, call(t, s, "GET", "/v1/disk/resources/download", q("path", "/big.bin"), nil), 200)
	s.InjectOnce("GET", StoragePathPrefix, Fault{Kind: FaultTruncateBody})
	res, err := s.Client().Get(link["href"].(string))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if res.ContentLength != 4096 || len(b) != 2048 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated: length %d, got %d bytes, err %v", res.ContentLength, len(b), err)
	}
	// The next download is whole.
	if r := callAuth(t, s, "GET", link["href"].(string), nil, nil, ""); string(r.body) != content {
		t.Error("second download not whole")
	}
}

// FaultReset cuts the connection without an answer and changes nothing; FaultDropResponse
// applies the change and then cuts the connection.
func TestResetAndDropResponse(t *testing.T) {
	s := NewServer(t)
	do := func(method, path string) error {
		req, _ := http.NewRequest(method, s.URL+path, nil)
		req.Header.Set("Authorization", "OAuth "+s.Token())
		res, err := s.Client().Do(req)
		if err == nil {
			res.Body.Close()
		}
		return err
	}
	s.InjectOnce("PUT", "/v1/disk/resources", Fault{Kind: FaultReset})
	if err := do("PUT", "/v1/disk/resources?path=%2Fa"); err == nil {
		t.Error("reset: request succeeded")
	}
	if _, ok := s.Stat("/a"); ok {
		t.Error("reset request changed the Disk")
	}
	s.InjectOnce("PUT", "/v1/disk/resources", Fault{Kind: FaultDropResponse})
	if err := do("PUT", "/v1/disk/resources?path=%2Fb"); err == nil {
		t.Error("drop: request succeeded")
	}
	if _, ok := s.Stat("/b"); !ok {
		t.Error("dropped response: the change must have happened")
	}
	// A reset in the middle of an upload body.
	link := uploadLink(t, s, "/u.bin")
	s.InjectOnce("PUT", UploadPathPrefix, Fault{Kind: FaultReset})
	req, _ := http.NewRequest("PUT", link["href"].(string), strings.NewReader(strings.Repeat("u", 1<<16)))
	if res, err := s.Client().Do(req); err == nil {
		res.Body.Close()
		t.Error("upload reset: request succeeded")
	}
}

// FaultSlowResponse answers after the work is done, late (§9.20).
func TestSlowResponse(t *testing.T) {
	s := NewServer(t)
	link := uploadLink(t, s, "/slow.bin")
	s.InjectOnce("PUT", UploadPathPrefix, Fault{Kind: FaultSlowResponse, Latency: 50 * time.Millisecond})
	start := time.Now()
	mustStatus(t, callAuth(t, s, "PUT", link["href"].(string), nil, strings.NewReader("data"), ""), 201)
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("answered after %v", d)
	}
	if _, ok := s.Stat("/slow.bin"); !ok {
		t.Error("upload not stored")
	}
}

// SetFault's hook sees every request; Options.Latency delays every request.
func TestFaultHookAndLatency(t *testing.T) {
	s := NewServer(t, Options{Latency: 20 * time.Millisecond})
	s.SetFault(func(r *http.Request) Fault {
		if r.URL.Query().Get("path") == "/x" {
			return Fault{Kind: FaultUnavailable, RetryAfter: time.Second}
		}
		return Fault{}
	})
	start := time.Now()
	r := call(t, s, "GET", "/v1/disk/resources", q("path", "/x"), nil)
	wantError(t, r, 503, "ServiceUnavailableError")
	if time.Since(start) < 20*time.Millisecond {
		t.Error("latency not applied")
	}
	wantError(t, call(t, s, "GET", "/v1/disk/resources", q("path", "/y"), nil), 404, "DiskNotFoundError")
	s.ClearFaults()
	wantError(t, call(t, s, "GET", "/v1/disk/resources", q("path", "/x"), nil), 404, "DiskNotFoundError")
}

// FaultRate with a Seed injects the same faults in the same order; OAuth is never faulted.
func TestRandomFaultsAreSeeded(t *testing.T) {
	run := func() []int {
		s := NewServer(t, Options{FaultRate: 0.5, Seed: 42})
		var statuses []int
		for range 30 {
			req, _ := http.NewRequest("GET", s.URL+"/v1/disk?fields=revision", nil)
			req.Header.Set("Authorization", "OAuth "+s.Token())
			res, err := s.Client().Do(req)
			if err != nil {
				statuses = append(statuses, -1)
				continue
			}
			res.Body.Close()
			statuses = append(statuses, res.StatusCode)
		}
		for range 10 {
			res, err := s.Client().PostForm(s.URL+"/device/code", map[string][]string{"client_id": {"app"}})
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Errorf("OAuth endpoint faulted: %d", res.StatusCode)
			}
		}
		return statuses
	}
	a, b := run(), run()
	faulted := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different faults: %v vs %v", a, b)
		}
		if a[i] != 200 {
			faulted++
		}
	}
	if faulted < 5 || faulted > 25 {
		t.Errorf("%d of 30 requests faulted at rate 0.5", faulted)
	}
}

// The request log records method, path, query and status — never Authorization.
func TestRequestLog(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	s := NewServer(t, Options{LogRequests: true, Logf: func(f string, a ...any) {
		mu.Lock()
		lines = append(lines, fmt.Sprintf(f, a...))
		mu.Unlock()
	}})
	upload(t, s, "/a.txt", "a")
	reqs := s.Requests()
	if len(reqs) != 2 || reqs[0].Method != "GET" || reqs[0].Path != "/v1/disk/resources/upload" ||
		reqs[0].Query.Get("path") != "/a.txt" || reqs[0].Status != 200 || reqs[1].Method != "PUT" || reqs[1].Status != 201 {
		t.Errorf("log %+v", reqs)
	}
	s.ResetRequests()
	if len(s.Requests()) != 0 {
		t.Error("ResetRequests kept entries")
	}
	_ = call(t, s, "GET", "/v1/disk", nil, nil)
	mu.Lock()
	defer mu.Unlock()
	if len(lines) < 3 {
		t.Errorf("LogRequests logged %d lines for 3 requests", len(lines))
	}
	for _, l := range lines {
		if strings.Contains(l, s.Token()) {
			t.Errorf("token in a log line: %s", l)
		}
	}
	for _, r := range s.Requests() {
		if strings.Contains(r.Query.Encode(), s.Token()) {
			t.Error("token recorded")
		}
	}
}

func TestRedactPath(t *testing.T) {
	if got := redactPath("/disk/abcdef/123/456"); got != "/disk/…" {
		t.Errorf("download path not redacted: %s", got)
	}
	if got := redactPath("/upload-target/xyz"); got != "/upload-target/…" {
		t.Errorf("upload path not redacted: %s", got)
	}
	if got := redactPath("/v1/disk/resources"); got != "/v1/disk/resources" {
		t.Errorf("API path changed: %s", got)
	}
}

// §9.3: an upload PUT that failed (here an injected 503) uses up its URL; the operation fails.
func TestFaultedUploadBurnsURL(t *testing.T) {
	s := NewServer(t)
	link := uploadLink(t, s, "/f.bin")
	s.InjectOnce("PUT", UploadPathPrefix, Fault{Kind: FaultUnavailable})
	mustStatus(t, callAuth(t, s, "PUT", link["href"].(string), nil, strings.NewReader("x"), ""), 503)
	mustStatus(t, callAuth(t, s, "PUT", link["href"].(string), nil, strings.NewReader("x"), ""), 400)
	if st := opStatus(t, s, link["operation_id"].(string)); st != "failed" {
		t.Errorf("operation %s, want failed", st)
	}
}
