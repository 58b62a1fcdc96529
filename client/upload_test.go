package client

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// fakeUploads serves the upload flow of §3: links with operation ids, single-use PUT
// targets, operations, and the stat that follows. Hooks inject faults.
type fakeUploads struct {
	t           *testing.T
	mu          sync.Mutex
	url         string
	maxFileSize int64
	files       map[string][]byte
	links       int          // links handed out
	puts        int          // PUT requests received
	used        map[int]bool // links already PUT to
	ops         map[string]string
	// onPut may answer the n-th PUT (1-based) itself after the body was read; true = handled.
	onPut func(n int, rw http.ResponseWriter, body []byte) bool
	// statMisses answers 404 to that many stats right after an upload (§9.2).
	statMisses int
	// statMD5 overrides the md5 a stat reports.
	statMD5 string
	// opStatus is what the n-th upload operation reports.
	opStatus func(n int) string
}

func newFakeUploads(t *testing.T) (*fakeUploads, *Client, *waits) {
	f := &fakeUploads{t: t, files: map[string][]byte{}, used: map[int]bool{}, ops: map[string]string{}}
	c, srv, w := newTestClient(t, f)
	f.url = srv.URL
	return f, c, w
}

func (f *fakeUploads) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/disk":
		writeJSON(rw, 200, fmt.Sprintf(`{"max_file_size":%d,"revision":1}`, f.maxFileSize))
	case r.Method == http.MethodGet && r.URL.Path == "/v1/disk/resources/upload":
		p := q.Get("path")
		if _, ok := f.files[p]; ok && q.Get("overwrite") != "true" {
			apiError(rw, 409, codeResourceExists)
			return
		}
		f.links++
		id := fmt.Sprintf("op%d", f.links)
		f.ops[id] = "in-progress"
		b, _ := json.Marshal(Link{Href: fmt.Sprintf("%s/up/%d?path=%s", f.url, f.links, url.QueryEscape(p)), Method: "PUT", OperationID: id})
		writeJSON(rw, 200, string(b))
	case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/up/"):
		f.puts++
		var n int
		fmt.Sscanf(r.URL.Path, "/up/%d", &n)
		if r.Header.Get("Authorization") != "" {
			f.t.Error("Authorization header sent to the upload host")
		}
		if f.used[n] {
			rw.WriteHeader(400) // single-use links (§9.3)
			return
		}
		f.used[n] = true
		body, err := io.ReadAll(r.Body)
		if err != nil || int64(len(body)) != r.ContentLength {
			return // an incomplete body is never stored
		}
		if f.onPut != nil && f.onPut(f.puts, rw, body) {
			return
		}
		f.store(n, r.URL.Query().Get("path"), body)
		rw.WriteHeader(201)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/disk/operations/"):
		id := strings.TrimPrefix(r.URL.Path, "/v1/disk/operations/")
		st, ok := f.ops[id]
		if !ok {
			apiError(rw, 404, "DiskOperationNotFoundError")
			return
		}
		writeJSON(rw, 200, `{"status":"`+st+`"}`)
	case r.Method == http.MethodGet && r.URL.Path == "/v1/disk/resources":
		p := q.Get("path")
		data, ok := f.files[p]
		if !ok || f.statMisses > 0 {
			f.statMisses--
			apiError(rw, 404, "DiskNotFoundError")
			return
		}
		m, s := md5.Sum(data), sha256.Sum256(data)
		md := hex.EncodeToString(m[:])
		if f.statMD5 != "" {
			md = f.statMD5
		}
		b, _ := json.Marshal(Resource{Path: p, Type: TypeFile, Size: int64(len(data)), MD5: md, SHA256: hex.EncodeToString(s[:])})
		writeJSON(rw, 200, string(b))
	default:
		f.t.Errorf("unexpected %s %s", r.Method, r.URL)
		rw.WriteHeader(501)
	}
}

// store keeps body at p and finishes the link's operation.
func (f *fakeUploads) store(n int, p string, body []byte) {
	f.files[p] = body
	st := OpSuccess
	if f.opStatus != nil {
		st = f.opStatus(n)
	}
	f.ops[fmt.Sprintf("op%d", n)] = st
}

func sums(data []byte) (string, string) {
	m, s := md5.Sum(data), sha256.Sum256(data)
	return hex.EncodeToString(m[:]), hex.EncodeToString(s[:])
}

var payload = bytes.Repeat([]byte("yasyncd+ "), 5000)

func TestUpload(t *testing.T) {
	f, c, _ := newFakeUploads(t)
	f.maxFileSize = 1 << 30
	res, err := c.Upload(context.Background(), "/dir/a b+c.txt", bytes.NewReader(payload), int64(len(payload)), UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, s := sums(payload)
	if res.Bytes != int64(len(payload)) || res.MD5 != m || res.SHA256 != s || res.Resource == nil || res.Resource.MD5 != m {
		t.Errorf("result %+v", res)
	}
	if !bytes.Equal(f.files["disk:/dir/a b+c.txt"], payload) || f.links != 1 || f.puts != 1 {
		t.Errorf("stored %d bytes, %d links, %d puts", len(f.files["disk:/dir/a b+c.txt"]), f.links, f.puts)
	}
	// Existing file without overwrite.
	_, err = c.Upload(context.Background(), "/dir/a b+c.txt", bytes.NewReader(payload), int64(len(payload)), UploadOptions{})
	if !errors.Is(err, ErrAlreadyExists) || !strings.HasPrefix(err.Error(), "upload disk:/dir/a b+c.txt: ") {
		t.Errorf("second upload: %v", err)
	}
	if _, err := c.Upload(context.Background(), "/dir/a b+c.txt", bytes.NewReader(nil), 0, UploadOptions{Overwrite: true}); err != nil {
		t.Errorf("overwrite with an empty file: %v", err)
	}
	if len(f.files["disk:/dir/a b+c.txt"]) != 0 {
		t.Error("empty file not stored")
	}
}

func TestUploadRetriedWithNewLink(t *testing.T) {
	f, c, _ := newFakeUploads(t)
	f.onPut = func(n int, rw http.ResponseWriter, body []byte) bool {
		if n == 1 {
			rw.WriteHeader(503)
			return true
		}
		return false
	}
	r := bytes.NewReader(append([]byte("skip"), payload...))
	r.Seek(4, io.SeekStart) // rewound to where it was, not to 0
	res, err := c.Upload(context.Background(), "disk:/a", r, int64(len(payload)), UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f.links != 2 || f.puts != 2 || !bytes.Equal(f.files["disk:/a"], payload) || res.Bytes != int64(len(payload)) {
		t.Errorf("links %d puts %d stored %d", f.links, f.puts, len(f.files["disk:/a"]))
	}
}

func TestUploadNotRetried(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   io.Reader
		want   error
	}{
		{"413", 413, bytes.NewReader(payload), ErrPayloadTooLarge},
		{"507", 507, bytes.NewReader(payload), ErrInsufficientStorage},
		{"used link", 400, bytes.NewReader(payload), ErrBadRequest},
		{"503, body not seekable", 503, io.MultiReader(bytes.NewReader(payload)), ErrServer},
	} {
		f, c, _ := newFakeUploads(t)
		f.onPut = func(n int, rw http.ResponseWriter, body []byte) bool {
			rw.WriteHeader(tc.status)
			return true
		}
		_, err := c.Upload(context.Background(), "disk:/a", tc.body, int64(len(payload)), UploadOptions{})
		if !errors.Is(err, tc.want) || f.puts != 1 {
			t.Errorf("%s: %v after %d PUTs", tc.name, err, f.puts)
		}
	}
}

func TestUploadTruncatedSource(t *testing.T) {
	for name, tc := range map[string]struct {
		body []byte
		size int64
	}{
		"short": {payload[:100], 200},
		"long":  {payload[:300], 200},
	} {
		f, c, _ := newFakeUploads(t)
		_, err := c.Upload(context.Background(), "disk:/t", bytes.NewReader(tc.body), tc.size, UploadOptions{})
		if !errors.Is(err, ErrTruncated) {
			t.Errorf("%s: %v", name, err)
		}
		if _, ok := f.files["disk:/t"]; ok || f.links != 1 {
			t.Errorf("%s: stored %v, %d links (a truncated source is not retried)", name, ok, f.links)
		}
	}
	// An empty file announced with bytes, and bytes announced as empty.
	_, c, _ := newFakeUploads(t)
	if _, err := c.Upload(context.Background(), "disk:/e", bytes.NewReader([]byte("x")), 0, UploadOptions{}); !errors.Is(err, ErrTruncated) {
		t.Errorf("size 0 with a byte: %v", err)
	}
}

func TestUploadOverMaxFileSize(t *testing.T) {
	f, c, _ := newFakeUploads(t)
	f.maxFileSize = 10
	_, err := c.Upload(context.Background(), "disk:/big", bytes.NewReader(payload), int64(len(payload)), UploadOptions{})
	if !errors.Is(err, ErrPayloadTooLarge) || f.links != 0 {
		t.Errorf("%v, %d links", err, f.links)
	}
}

func TestUploadNotListedYet(t *testing.T) {
	f, c, _ := newFakeUploads(t)
	f.statMisses = 3
	res, err := c.Upload(context.Background(), "disk:/slow", bytes.NewReader(payload), int64(len(payload)), UploadOptions{})
	if err != nil || res.Resource == nil {
		t.Fatalf("%v %+v", err, res)
	}
	f2, c2, _ := newFakeUploads(t)
	f2.statMisses = 1000
	res, err = c2.Upload(context.Background(), "disk:/slower", bytes.NewReader(payload), int64(len(payload)), UploadOptions{})
	if err != nil || res.Resource != nil || res.Bytes != int64(len(payload)) || f2.puts != 1 {
		t.Errorf("never listed: %v %+v after %d PUTs", err, res, f2.puts)
	}
}

func TestUploadMismatch(t *testing.T) {
	f, c, _ := newFakeUploads(t)
	f.statMD5 = "00000000000000000000000000000000"
	res, err := c.Upload(context.Background(), "disk:/m", bytes.NewReader(payload), int64(len(payload)), UploadOptions{})
	if !errors.Is(err, ErrUploadMismatch) || res == nil || res.Resource == nil {
		t.Errorf("%v %+v", err, res)
	}
}

// A PUT that landed although its answer was lost: the retry's link request says the
// file exists, and the file is ours.
func TestUploadAppliedPutAccepted(t *testing.T) {
	f, c, _ := newFakeUploads(t)
	f.onPut = func(n int, rw http.ResponseWriter, body []byte) bool {
		if n == 1 {
			f.store(1, "disk:/landed", body)
			cutConnection(t, rw)
			return true
		}
		return false
	}
	res, err := c.Upload(context.Background(), "disk:/landed", bytes.NewReader(payload), int64(len(payload)), UploadOptions{})
	if err != nil || res.Resource == nil || f.puts != 1 {
		t.Errorf("%v %+v, %d PUTs", err, res, f.puts)
	}
}

func TestUploadOperationFailedRetried(t *testing.T) {
	f, c, _ := newFakeUploads(t)
	f.opStatus = func(n int) string {
		if n == 1 {
			delete(f.files, "disk:/o")
			return "failed"
		}
		return OpSuccess
	}
	if _, err := c.Upload(context.Background(), "disk:/o", bytes.NewReader(payload), int64(len(payload)), UploadOptions{}); err != nil || f.puts != 2 {
		t.Errorf("%v after %d PUTs", err, f.puts)
	}
}
