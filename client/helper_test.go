package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// waits records the waits a client asked for instead of sleeping them, so retry tests
// run at once and can assert the waits.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.d = append(w.d, d)
	w.mu.Unlock()
	return ctx.Err()
}

func (w *waits) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.d...)
}

// testOptions are fast defaults for tests: no rate limit, short delays.
func testOptions(apiURL string) Options {
	return Options{
		APIURL:            apiURL,
		RequestsPerSecond: -1,
		RetryBaseDelay:    time.Millisecond,
		RetryMaxDelay:     4 * time.Millisecond,
		LockedDelayMin:    time.Millisecond,
		LockedDelayMax:    2 * time.Millisecond,
		ListPageSize:      1000,
	}
}

// newTestClient serves h on 127.0.0.1 and returns a client for it whose waits are
// recorded, not slept.
func newTestClient(t *testing.T, h http.Handler, mod ...func(*Options)) (*Client, *httptest.Server, *waits) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	opts := testOptions(srv.URL)
	for _, m := range mod {
		m(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	w := &waits{}
	c.sleep = w.sleep
	return c, srv, w
}

// writeJSON answers like the API: JSON with the status.
func writeJSON(w http.ResponseWriter, status int, body string) {
	ct := "application/json; charset=utf-8"
	if status >= 400 {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func apiError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, `{"message":"m","description":"d","error":"`+code+`"}`)
}

// cutConnection drops the connection without an answer.
func cutConnection(t *testing.T, w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		t.Error("no hijacker")
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	conn.Close()
}

var timeZero time.Time
