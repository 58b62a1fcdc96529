package client

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const fileJSON = `{"name":"a.txt","path":"disk:/a.txt","type":"file","size":3,"md5":"900150983cd24fb0d6963f7d28e17f72"}`

func TestRetryHonoursRetryAfter(t *testing.T) {
	var n atomic.Int32
	c, _, w := newTestClient(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			rw.Header().Set("Retry-After", "3")
			apiError(rw, 429, "TooManyRequestsError")
			return
		}
		writeJSON(rw, 200, fileJSON)
	}))
	r, err := c.Stat(context.Background(), "disk:/a.txt")
	if err != nil || r.Size != 3 {
		t.Fatalf("stat: %v %+v", err, r)
	}
	if got := w.all(); len(got) != 1 || got[0] != 3*time.Second {
		t.Errorf("waits %v, want [3s]", got)
	}
}

func TestRetry5xxAndConnectionErrors(t *testing.T) {
	var n atomic.Int32
	c, _, w := newTestClient(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 1:
			rw.WriteHeader(503)
		case 2:
			cutConnection(t, rw)
		case 3:
			rw.Header().Set("Content-Type", "text/html")
			rw.WriteHeader(502)
			_, _ = rw.Write([]byte("<html>bad gateway</html>"))
		default:
			writeJSON(rw, 200, fileJSON)
		}
	}))
	if _, err := c.Stat(context.Background(), "disk:/a.txt"); err != nil {
		t.Fatal(err)
	}
	// Go's transport itself repeats a GET whose reused connection broke, so the cut
	// connection may cost no wait of ours.
	if n.Load() != 4 || len(w.all()) < 2 {
		t.Errorf("requests %d, waits %v", n.Load(), w.all())
	}
	for i, d := range w.all() {
		if d > 4*time.Millisecond {
			t.Errorf("wait %d = %v over RetryMaxDelay", i, d)
		}
	}
}

func TestRetryBudgetAndNonRetried(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   error
		tries  int32
	}{
		{500, ErrServer, 7}, // 1 + MaxRetries (6)
		{429, ErrRateLimited, 7},
		{423, ErrLocked, 4}, // 1 + LockedRetries (3)
		{507, ErrInsufficientStorage, 1},
		{413, ErrPayloadTooLarge, 1},
		{404, ErrNotFound, 1},
		{401, ErrUnauthorized, 1},
		{400, ErrBadRequest, 1},
	} {
		var n atomic.Int32
		c, _, w := newTestClient(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			n.Add(1)
			apiError(rw, tc.status, "X")
		}))
		_, err := c.Stat(context.Background(), "disk:/a.txt")
		if !errors.Is(err, tc.want) || n.Load() != tc.tries {
			t.Errorf("%d: err %v after %d requests, want %v after %d", tc.status, err, n.Load(), tc.want, tc.tries)
		}
		if !strings.HasPrefix(err.Error(), "stat disk:/a.txt: ") {
			t.Errorf("%d: error not wrapped with op and path: %q", tc.status, err)
		}
		if tc.status == 423 {
			for _, d := range w.all() {
				if d < time.Millisecond || d > 2*time.Millisecond {
					t.Errorf("423 wait %v outside LockedDelayMin..Max", d)
				}
			}
		}
	}
}

func TestNoRetryAfterCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int32
	c, _, _ := newTestClient(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		n.Add(1)
		cancel()
		rw.WriteHeader(503)
	}))
	_, err := c.Stat(ctx, "disk:/a.txt")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if n.Load() != 1 {
		t.Errorf("%d requests after cancel", n.Load())
	}
}

func TestCancelDuringBackoff(t *testing.T) {
	var n atomic.Int32
	c, _, _ := newTestClient(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		n.Add(1)
		rw.WriteHeader(500)
	}))
	ctx, cancel := context.WithCancel(context.Background())
	c.sleep = func(ctx context.Context, d time.Duration) error {
		cancel()
		return sleepCtx(ctx, time.Hour)
	}
	_, err := c.Stat(ctx, "disk:/a.txt")
	if !errors.Is(err, context.Canceled) || n.Load() != 1 {
		t.Errorf("err %v after %d requests", err, n.Load())
	}
}

func TestConcurrencyBound(t *testing.T) {
	var inFlight, peak atomic.Int32
	release := make(chan struct{})
	arrived := make(chan struct{}, 20)
	c, _, _ := newTestClient(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		cur := inFlight.Add(1)
		for {
			p := peak.Load()
			if cur <= p || peak.CompareAndSwap(p, cur) {
				break
			}
		}
		arrived <- struct{}{}
		<-release
		inFlight.Add(-1)
		writeJSON(rw, 200, fileJSON)
	}), func(o *Options) { o.MaxConcurrent = 3 })
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if _, err := c.Stat(context.Background(), "disk:/a.txt"); err != nil {
				t.Error(err)
			}
		})
	}
	for range 3 {
		<-arrived
	}
	select {
	case <-arrived:
		t.Error("a fourth request got through while three were in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	wg.Wait()
	if peak.Load() != 3 {
		t.Errorf("peak %d in flight, want 3", peak.Load())
	}
}

func TestRateLimit(t *testing.T) {
	var n atomic.Int32
	c, _, _ := newTestClient(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		n.Add(1)
		writeJSON(rw, 200, `{"revision":1}`)
	}), func(o *Options) { o.RequestsPerSecond = 50 })
	start := time.Now()
	for range 60 {
		if _, err := c.Revision(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// Burst 50, then 50/s: the 60 requests need at least ~0.2 s.
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Errorf("60 requests at 50/s took only %v", el)
	}
}

func TestNewValidatesOrigin(t *testing.T) {
	for _, tc := range []struct {
		url      string
		insecure bool
		ok       bool
	}{
		{"", false, true},
		{"https://cloud-api.yandex.net", false, true},
		{"https://cloud-api.yandex.com/", false, true},
		{"http://127.0.0.1:8080", false, true},
		{"http://127.3.4.5:1", false, true},
		{"http://[::1]:9000", false, true},
		{"http://localhost:9000", false, true},
		{"http://example.com", true, false},
		{"http://10.0.0.1", true, false},
		{"ftp://example.com", true, false},
		{"https://example.com/v1/disk", false, false},
		{"not a url at all", false, false},
	} {
		_, err := New(Options{APIURL: tc.url})
		if (err == nil) != tc.ok || errors.Is(err, ErrInsecureOrigin) != tc.insecure {
			t.Errorf("New(%q) = %v", tc.url, err)
		}
	}
	_, err := New(Options{APIURL: "http://example.com"})
	if want := `api_url "http://example.com": plain http is allowed only for loopback hosts; use https://`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("message %q", err)
	}
}

func TestLinkUpgrade(t *testing.T) {
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"http://cloud-api.yandex.net/v1/disk/operations/abc":  "https://cloud-api.yandex.net/v1/disk/operations/abc",
		"https://cloud-api.yandex.net/v1/disk/operations/abc": "https://cloud-api.yandex.net/v1/disk/operations/abc",
		// The token must not travel to another host: rebased onto the origin.
		"https://evil.example/v1/disk/operations/x?id=1": "https://cloud-api.yandex.net/v1/disk/operations/x?id=1",
	} {
		if got, err := c.linkURL(in); err != nil || got != want {
			t.Errorf("linkURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"http://downloader.disk.yandex.ru/disk/x?a=b+c":              "https://downloader.disk.yandex.ru/disk/x?a=b+c",
		"http://127.0.0.1:4000/up/1":                                 "http://127.0.0.1:4000/up/1",
		"http://localhost:4000/up/1":                                 "http://localhost:4000/up/1",
		"https://uploader61j.disk.yandex.net:443/upload-target/2024": "https://uploader61j.disk.yandex.net:443/upload-target/2024",
	} {
		u, err := transferURL(in)
		if err != nil || u.String() != want {
			t.Errorf("transferURL(%q) = %v, %v; want %q", in, u, err, want)
		}
	}
	for _, bad := range []string{"", "/relative", "ftp://x/y", "::"} {
		if _, err := transferURL(bad); err == nil {
			t.Errorf("transferURL(%q) accepted", bad)
		}
	}
}

func TestClosedClient(t *testing.T) {
	c, _, _ := newTestClient(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		writeJSON(rw, 200, fileJSON)
	}))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stat(context.Background(), "a"); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}
