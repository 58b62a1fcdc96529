package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeDownloads serves §4: a link per request (generation n), then the file from
// /dl/<n>, honouring Range unless told not to. serve may take over the n-th GET.
type fakeDownloads struct {
	t      *testing.T
	mu     sync.Mutex
	url    string
	data   []byte
	links  int
	gets   int
	ranges []string
	// serve answers the n-th GET of a link itself when it returns true.
	serve func(n, gen int, rw http.ResponseWriter, r *http.Request) bool
}

func newFakeDownloads(t *testing.T, data []byte) (*fakeDownloads, *Client) {
	f := &fakeDownloads{t: t, data: data}
	c, srv, _ := newTestClient(t, f)
	f.url = srv.URL
	return f, c
}

func (f *fakeDownloads) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	switch {
	case r.URL.Path == "/v1/disk/resources/download":
		f.links++
		if r.URL.Query().Get("path") != "disk:/f.bin" {
			f.mu.Unlock()
			apiError(rw, 404, "DiskNotFoundError")
			return
		}
		// Links may come as http:// (§1.6); loopback keeps it.
		href := fmt.Sprintf("%s/dl/%d?filename=f+bin&fsize=%d", f.url, f.links, len(f.data))
		f.mu.Unlock()
		writeJSON(rw, 200, `{"href":"`+href+`","method":"GET","templated":false}`)
	case strings.HasPrefix(r.URL.Path, "/dl/"):
		f.gets++
		n := f.gets
		f.ranges = append(f.ranges, r.Header.Get("Range"))
		gen, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/dl/"))
		serve := f.serve
		f.mu.Unlock()
		if r.Header.Get("Authorization") != "" {
			f.t.Error("Authorization header sent to the download host")
		}
		if serve != nil && serve(n, gen, rw, r) {
			return
		}
		http.ServeContent(rw, r, "f.bin", timeZero, bytes.NewReader(f.data))
	default:
		f.mu.Unlock()
		f.t.Errorf("unexpected %s", r.URL)
		rw.WriteHeader(501)
	}
}

// cutAfter announces the whole file but sends only k bytes from offset on.
func cutAfter(rw http.ResponseWriter, r *http.Request, data []byte, k int) {
	start := 0
	if rg := r.Header.Get("Range"); rg != "" {
		fmt.Sscanf(rg, "bytes=%d-", &start)
		rw.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(data)-1, len(data)))
		rw.Header().Set("Content-Length", strconv.Itoa(len(data)-start))
		rw.WriteHeader(206)
	} else {
		rw.Header().Set("Content-Length", strconv.Itoa(len(data)))
		rw.WriteHeader(200)
	}
	_, _ = rw.Write(data[start:min(start+k, len(data))])
	rw.(http.Flusher).Flush()
	panic(http.ErrAbortHandler)
}

var dlData = func() []byte {
	var b bytes.Buffer
	for i := range 20000 {
		fmt.Fprintf(&b, "%d,", i)
	}
	return b.Bytes()
}()

func TestDownload(t *testing.T) {
	f, c := newFakeDownloads(t, dlData)
	var buf bytes.Buffer
	n, err := c.Download(context.Background(), "/f.bin", &buf)
	if err != nil || n != int64(len(dlData)) || !bytes.Equal(buf.Bytes(), dlData) || f.gets != 1 {
		t.Fatalf("%v, %d bytes, %d gets", err, n, f.gets)
	}
	_, err = c.Download(context.Background(), "/missing", &buf)
	if !errors.Is(err, ErrNotFound) || !strings.HasPrefix(err.Error(), "download disk:/missing: ") {
		t.Errorf("missing: %v", err)
	}
}

func TestDownloadResumesWithRange(t *testing.T) {
	f, c := newFakeDownloads(t, dlData)
	f.serve = func(n, gen int, rw http.ResponseWriter, r *http.Request) bool {
		if n <= 3 {
			cutAfter(rw, r, dlData, 10000)
			return true
		}
		return false
	}
	var buf bytes.Buffer
	n, err := c.Download(context.Background(), "disk:/f.bin", &buf)
	if err != nil || !bytes.Equal(buf.Bytes(), dlData) || n != int64(len(dlData)) {
		t.Fatalf("%v: %d bytes, equal %v", err, n, bytes.Equal(buf.Bytes(), dlData))
	}
	want := []string{"", "bytes=10000-", "bytes=20000-", "bytes=30000-"}
	if fmt.Sprint(f.ranges) != fmt.Sprint(want) || f.links != 1 {
		t.Errorf("ranges %q, links %d", f.ranges, f.links)
	}
}

func TestDownloadResumeIgnoredRange(t *testing.T) {
	f, c := newFakeDownloads(t, dlData)
	f.serve = func(n, gen int, rw http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			cutAfter(rw, r, dlData, 5000)
			return true
		}
		// A server that ignores Range: the whole file again with 200.
		rw.Header().Set("Content-Length", strconv.Itoa(len(dlData)))
		rw.WriteHeader(200)
		_, _ = rw.Write(dlData)
		return true
	}
	var buf bytes.Buffer
	n, err := c.Download(context.Background(), "disk:/f.bin", &buf)
	if err != nil || n != int64(len(dlData)) || !bytes.Equal(buf.Bytes(), dlData) {
		t.Fatalf("%v: %d bytes", err, n)
	}
}

func TestDownloadNewLinkWhenRefused(t *testing.T) {
	for _, status := range []int{403, 404, 410} {
		f, c := newFakeDownloads(t, dlData)
		f.serve = func(n, gen int, rw http.ResponseWriter, r *http.Request) bool {
			if gen == 1 {
				rw.Header().Set("Content-Type", "text/html")
				rw.WriteHeader(status)
				_, _ = rw.Write([]byte("<html><body>expired</body></html>"))
				return true
			}
			return false
		}
		var buf bytes.Buffer
		if _, err := c.Download(context.Background(), "disk:/f.bin", &buf); err != nil || !bytes.Equal(buf.Bytes(), dlData) || f.links != 2 {
			t.Errorf("%d: %v, %d links", status, err, f.links)
		}
	}
}

func TestDownloadTruncated(t *testing.T) {
	f, c := newFakeDownloads(t, dlData)
	f.serve = func(n, gen int, rw http.ResponseWriter, r *http.Request) bool {
		cutAfter(rw, r, dlData, 100)
		return true
	}
	var buf bytes.Buffer
	n, err := c.Download(context.Background(), "disk:/f.bin", &buf)
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("err %v", err)
	}
	// 1 + MaxRetries attempts of 100 bytes each, all in the right place.
	if n != 700 || !bytes.Equal(buf.Bytes(), dlData[:700]) {
		t.Errorf("%d bytes written", n)
	}
}

func TestDownloadHostHTMLError(t *testing.T) {
	f, c := newFakeDownloads(t, dlData)
	f.serve = func(n, gen int, rw http.ResponseWriter, r *http.Request) bool {
		rw.Header().Set("Content-Type", "text/html")
		rw.WriteHeader(500)
		_, _ = rw.Write([]byte("<html><head><title>500</title></head><body>nginx</body></html>"))
		return true
	}
	var buf bytes.Buffer
	_, err := c.Download(context.Background(), "disk:/f.bin", &buf)
	var apiErr *Error
	if !errors.Is(err, ErrServer) || !errors.As(err, &apiErr) || apiErr.Code != "" || f.gets != 7 {
		t.Errorf("%v after %d gets", err, f.gets)
	}
}

type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > 1000 {
		return 0, errors.New("disk full")
	}
	w.n += len(p)
	return len(p), nil
}

func TestDownloadWriterErrorNotRetried(t *testing.T) {
	f, c := newFakeDownloads(t, dlData)
	_, err := c.Download(context.Background(), "disk:/f.bin", &failingWriter{})
	if err == nil || !strings.Contains(err.Error(), "disk full") || errors.Is(err, ErrTruncated) || f.gets != 1 {
		t.Errorf("%v after %d gets", err, f.gets)
	}
}

func TestDownloadStalledResumes(t *testing.T) {
	f, c, _ := func() (*fakeDownloads, *Client, *waits) {
		f := &fakeDownloads{t: t, data: dlData}
		c, srv, w := newTestClient(t, f, func(o *Options) { o.TransferIdleTimeout = 50e6 })
		f.url = srv.URL
		return f, c, w
	}()
	release := make(chan struct{})
	defer close(release)
	f.serve = func(n, gen int, rw http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			rw.Header().Set("Content-Length", strconv.Itoa(len(dlData)))
			rw.WriteHeader(200)
			_, _ = rw.Write(dlData[:3000])
			rw.(http.Flusher).Flush()
			select { // stall until the client gives up on this connection
			case <-r.Context().Done():
			case <-release:
			}
			return true
		}
		return false
	}
	var buf bytes.Buffer
	if _, err := c.Download(context.Background(), "disk:/f.bin", &buf); err != nil || !bytes.Equal(buf.Bytes(), dlData) {
		t.Fatalf("%v", err)
	}
	if f.ranges[1] != "bytes=3000-" {
		t.Errorf("ranges %q", f.ranges)
	}
}

func TestParseContentRange(t *testing.T) {
	for in, want := range map[string][3]int64{
		"bytes 0-9/10":      {0, 10, 1},
		"bytes 100-199/*":   {100, -1, 1},
		"bytes 5-9/3":       {0, 0, 0},
		"items 0-9/10":      {0, 0, 0},
		"bytes x-9/10":      {0, 0, 0},
		"":                  {0, 0, 0},
		" bytes 7-8/9 ":     {7, 9, 1},
		"bytes 10-20/ 100 ": {10, 100, 1},
	} {
		s, tot, ok := parseContentRange(in)
		if ok != (want[2] == 1) || ok && (s != want[0] || tot != want[1]) {
			t.Errorf("parseContentRange(%q) = %d %d %v", in, s, tot, ok)
		}
	}
}

var _ io.Writer = (*failingWriter)(nil)
