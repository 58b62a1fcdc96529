package emulator

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

func uploadLink(t *testing.T, s *Server, path string, kv ...string) map[string]any {
	t.Helper()
	r := call(t, s, "GET", "/v1/disk/resources/upload", q(append([]string{"path", path}, kv...)...), nil)
	return wantOKJSON(t, r, 200)
}

func opStatus(t *testing.T, s *Server, id string) string {
	t.Helper()
	m := wantOKJSON(t, call(t, s, "GET", "/v1/disk/operations/"+id, nil, nil), 200)
	return m["status"].(string)
}

// §3.1, §3.2: link shape, operation in-progress before and success after the PUT, 201 with
// an empty body and no Authorization, server-computed hashes, single-use URL (§9.3).
func TestUpload(t *testing.T) {
	s := NewServer(t)
	r := call(t, s, "GET", "/v1/disk/resources/upload", q("path", "disk:/test.txt", "overwrite", "false"), nil)
	link := wantOKJSON(t, r, 200)
	checkShape(t, r.body, "upload-link.json")
	opID := link["operation_id"].(string)
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(opID) || link["method"] != "PUT" {
		t.Fatalf("link %v", link)
	}
	href := link["href"].(string)
	if !strings.HasPrefix(href, s.URL+UploadPathPrefix) {
		t.Errorf("href %s not on the emulator's upload path", href)
	}
	if st := opStatus(t, s, opID); st != "in-progress" {
		t.Errorf("before PUT: %s", st)
	}
	content := "some file content\n"
	put := callAuth(t, s, "PUT", href, nil, strings.NewReader(content), "")
	mustStatus(t, put, 201)
	if len(put.body) != 0 {
		t.Errorf("PUT body %q, want empty", put.body)
	}
	if st := opStatus(t, s, opID); st != "success" {
		t.Errorf("after PUT: %s", st)
	}
	m := getResource(t, s, "disk:/test.txt")
	sm, ss := md5.Sum([]byte(content)), sha256.Sum256([]byte(content))
	if m["md5"] != hex.EncodeToString(sm[:]) || m["sha256"] != hex.EncodeToString(ss[:]) || m["size"].(float64) != float64(len(content)) {
		t.Errorf("hashes/size: %v %v %v", m["md5"], m["sha256"], m["size"])
	}
	if m["created"] != m["modified"] {
		t.Errorf("upload must set created = modified (§9.6)")
	}
	// §9.3: a second PUT to the same URL answers 400.
	mustStatus(t, callAuth(t, s, "PUT", href, nil, strings.NewReader("again"), ""), 400)

	// §3.1 errors at link time.
	r = call(t, s, "GET", "/v1/disk/resources/upload", q("path", "disk:/test.txt"), nil)
	wantError(t, r, 409, "DiskResourceAlreadyExistsError")
	wantError(t, call(t, s, "GET", "/v1/disk/resources/upload", q("path", "disk:/no/such/dir/f.txt"), nil), 409, "DiskPathDoesntExistsError")
	wantError(t, call(t, s, "GET", "/v1/disk/resources/upload", q("path", "disk:/a:b/c"), nil), 409, "DiskPathDoesntExistsError")
	wantError(t, call(t, s, "GET", "/v1/disk/resources/upload", q("path", "a:b"), nil), 400, "FieldValidationError")

	// Overwrite replaces the content with a new resource (doc.go explains the choice).
	before := getResource(t, s, "disk:/test.txt")
	link = uploadLink(t, s, "disk:/test.txt", "overwrite", "true")
	mustStatus(t, callAuth(t, s, "PUT", link["href"].(string), nil, strings.NewReader("v2"), ""), 201)
	after := getResource(t, s, "disk:/test.txt")
	if after["size"].(float64) != 2 || after["revision"].(float64) <= before["revision"].(float64) {
		t.Errorf("overwrite: %v", after)
	}
	if b, _ := s.ReadFile("disk:/test.txt"); string(b) != "v2" {
		t.Errorf("content %q", b)
	}
}

// §3.2, §9.4, §9.21: a chunked body without Content-Length is accepted, and one that ends
// properly is stored as sent however short it is, since the server cannot tell; a body shorter
// than its Content-Length is not stored.
func TestUploadChunkedAndTruncated(t *testing.T) {
	s := NewServer(t)
	link := uploadLink(t, s, "disk:/chunked.bin")
	req, _ := http.NewRequest("PUT", link["href"].(string), io.MultiReader(strings.NewReader("abc"), strings.NewReader("def")))
	req.ContentLength = -1
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("chunked PUT: %d", res.StatusCode)
	}
	if b, _ := s.ReadFile("/chunked.bin"); string(b) != "abcdef" {
		t.Errorf("chunked content %q", b)
	}

	// A chunked body with its terminating chunk, shorter than the client meant: stored (§9.4).
	link = uploadLink(t, s, "disk:/short-chunked.bin")
	u, _ := url.Parse(link["href"].(string))
	rawPut(t, u, "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
	waitFor(t, func() bool { return opStatus(t, s, link["operation_id"].(string)) != "in-progress" })
	if st := opStatus(t, s, link["operation_id"].(string)); st != "success" {
		t.Errorf("operation of a short, properly ended chunked upload: %s", st)
	}
	if b, _ := s.ReadFile("/short-chunked.bin"); string(b) != "hello" {
		t.Errorf("short chunked upload stored %q, want the 5 bytes sent", b)
	}

	// A body shorter than its Content-Length is not stored; the URL is used up.
	link = uploadLink(t, s, "disk:/short.bin")
	u, _ = url.Parse(link["href"].(string))
	rawPut(t, u, "Content-Length: 100\r\n\r\nonly a little")
	waitFor(t, func() bool { return opStatus(t, s, link["operation_id"].(string)) == "failed" })
	if _, ok := s.Stat("/short.bin"); ok {
		t.Error("a body shorter than Content-Length was stored")
	}
	mustStatus(t, callAuth(t, s, "PUT", link["href"].(string), nil, strings.NewReader("x"), ""), 400)
}

// §3.2, §9.3, §9.4: a chunked body whose connection ends before the terminating zero-length
// chunk (the client's body reader failed, or it gave up) is not stored: the operation ends
// failed, nothing appears at the path, no blob is left behind, and the URL is used up. Only a
// properly ended chunked body is taken as the whole file (TestUploadChunkedAndTruncated).
func TestUploadChunkedAborted(t *testing.T) {
	fifty := strings.Repeat("x", 50)
	for _, tc := range []struct{ name, body string }{
		{"closed after a whole chunk", "32\r\n" + fifty + "\r\n"},
		{"closed inside a chunk", "32\r\n" + fifty[:20]},
		{"malformed chunk size", "32\r\n" + fifty + "\r\nzz\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := NewServer(t, Options{DataDir: dir})
			link := uploadLink(t, s, "disk:/cut.bin")
			opID := link["operation_id"].(string)
			u, _ := url.Parse(link["href"].(string))
			rawPut(t, u, "Transfer-Encoding: chunked\r\n\r\n"+tc.body)
			waitFor(t, func() bool { return opStatus(t, s, opID) != "in-progress" })
			if st := opStatus(t, s, opID); st != "failed" {
				t.Errorf("operation of an aborted chunked upload: %s, want failed", st)
			}
			if e, ok := s.Stat("/cut.bin"); ok {
				t.Errorf("aborted chunked upload stored %d bytes", e.Size)
			}
			wantError(t, call(t, s, "GET", "/v1/disk/resources", q("path", "disk:/cut.bin"), nil), 404, "DiskNotFoundError")
			if used, _ := s.Usage(); used != 0 {
				t.Errorf("used_space %d after an aborted upload", used)
			}
			if n, _ := filepathGlob(dir); n != 0 {
				t.Errorf("%d blob files left by an aborted upload", n)
			}
			mustStatus(t, callAuth(t, s, "PUT", u.String(), nil, strings.NewReader(fifty), ""), 400) // §9.3
		})
	}
}

// rawPut writes a PUT with the given headers and body, then closes the connection.
func rawPut(t *testing.T, u *url.URL, headersAndBody string) {
	t.Helper()
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.WriteString(c, "PUT "+u.RequestURI()+" HTTP/1.1\r\nHost: "+u.Host+"\r\n"+headersAndBody)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached before the deadline")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// §3.1: upload URLs expire after 30 minutes unused; the operation then fails.
func TestUploadLinkExpires(t *testing.T) {
	c := newClock()
	s := NewServer(t, Options{Now: c.Now})
	link := uploadLink(t, s, "disk:/late.txt")
	c.Add(31 * time.Minute)
	mustStatus(t, callAuth(t, s, "PUT", link["href"].(string), nil, strings.NewReader("x"), ""), 404)
	if st := opStatus(t, s, link["operation_id"].(string)); st != "failed" {
		t.Errorf("expired upload operation: %s", st)
	}
}

// §3.4, §9.18: 413 over max_file_size; §3.1/§3.2: 507 when the Disk is full.
func TestUploadLimits(t *testing.T) {
	s := NewServer(t, Options{MaxFileSize: 10, TotalSpace: 15})
	link := uploadLink(t, s, "disk:/big.bin")
	mustStatus(t, callAuth(t, s, "PUT", link["href"].(string), nil, strings.NewReader(strings.Repeat("x", 11)), ""), 413)
	// Chunked, so the size is only known while reading.
	link = uploadLink(t, s, "disk:/big.bin")
	req, _ := http.NewRequest("PUT", link["href"].(string), io.MultiReader(strings.NewReader(strings.Repeat("x", 11))))
	req.ContentLength = -1
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 413 {
		t.Errorf("chunked oversize: %d", res.StatusCode)
	}
	upload(t, s, "disk:/a.bin", "0123456789")
	link = uploadLink(t, s, "disk:/b.bin")
	mustStatus(t, callAuth(t, s, "PUT", link["href"].(string), nil, strings.NewReader("0123456789"), ""), 507)
	s.SetQuota(10)
	wantError(t, call(t, s, "GET", "/v1/disk/resources/upload", q("path", "disk:/c.bin"), nil), 507, "DiskStorageQuotaExhaustedError")
	m := wantOKJSON(t, call(t, s, "GET", "/v1/disk", q("fields", "total_space,used_space,max_file_size"), nil), 200)
	if m["total_space"].(float64) != 10 || m["used_space"].(float64) != 10 || m["max_file_size"].(float64) != 10 {
		t.Errorf("disk info %v", m)
	}
}

// §3.3: upload from a URL is accepted and fails (no internet in the emulator).
func TestUploadFromURL(t *testing.T) {
	s := NewServer(t)
	r := call(t, s, "POST", "/v1/disk/resources/upload", q("path", "disk:/u.txt", "url", "https://example.com/x"), nil)
	m := wantOKJSON(t, r, 202)
	if st := waitOperation(t, s, m["href"].(string)); st != "failed" {
		t.Errorf("status %s, want failed", st)
	}
}

// §4: link → 302 → 200 with exact length and type; Range → 206; works without
// Authorization; errors from the download host are HTML.
func TestDownload(t *testing.T) {
	s := NewServer(t)
	content := strings.Repeat("0123456789", 100)
	if err := s.Mkdir("/dir"); err != nil {
		t.Fatal(err)
	}
	upload(t, s, "disk:/dir/example file.txt", content)
	r := call(t, s, "GET", "/v1/disk/resources/download", q("path", "disk:/dir/example file.txt"), nil)
	link := wantOKJSON(t, r, 200)
	checkShape(t, r.body, "download-link.json")
	href := link["href"].(string)
	u, _ := url.Parse(href)
	if !strings.HasPrefix(href, s.URL+DownloadPathPrefix) || u.Query().Get("filename") != "example file.txt" ||
		u.Query().Get("fsize") != "1000" || u.Query().Get("etag") == "" {
		t.Errorf("download href %s", href)
	}
	// The first hop is a 302 to the storage node.
	noFollow := &http.Client{Transport: s.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.Get(href)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 302 || !strings.HasPrefix(res.Header.Get("Location"), s.URL+StoragePathPrefix) {
		t.Errorf("first hop: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	got := callAuth(t, s, "GET", href, nil, nil, "")
	mustStatus(t, got, 200)
	if string(got.body) != content || got.header.Get("Content-Length") != "1000" || got.header.Get("Content-Type") != "text/plain" {
		t.Errorf("download: %d bytes, headers %v", len(got.body), got.header)
	}
	withAuth := call(t, s, "GET", href, nil, nil)
	mustStatus(t, withAuth, 200)

	req, _ := http.NewRequest("GET", href, nil)
	req.Header.Set("Range", "bytes=10-19")
	res, err = s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 206 || string(part) != "0123456789" || res.Header.Get("Content-Range") != "bytes 10-19/1000" {
		t.Errorf("range: %d %q %q", res.StatusCode, part, res.Header.Get("Content-Range"))
	}

	// The file field of a listing is the same kind of URL (§4.2).
	m := getResource(t, s, "disk:/dir/example file.txt")
	if b := callAuth(t, s, "GET", m["file"].(string), nil, nil, ""); !bytes.Equal(b.body, []byte(content)) {
		t.Error("Resource.file does not download the file")
	}

	bad := strings.Replace(href, DownloadPathPrefix, DownloadPathPrefix+"00", 1)
	e := callAuth(t, s, "GET", bad, nil, nil, "")
	if e.status != 403 || e.header.Get("Content-Type") != "text/html" {
		t.Errorf("tampered link: %d %s", e.status, e.header.Get("Content-Type"))
	}
	wantError(t, call(t, s, "GET", "/v1/disk/resources/download", q("path", "disk:/missing"), nil), 404, "DiskNotFoundError")

	// A deleted file's link stops working.
	if err := s.RemovePermanently("disk:/dir/example file.txt"); err != nil {
		t.Fatal(err)
	}
	if e := callAuth(t, s, "GET", href, nil, nil, ""); e.status != 404 || e.header.Get("Content-Type") != "text/html" {
		t.Errorf("link of a deleted file: %d", e.status)
	}
}

// §4.1: download links expire.
func TestDownloadLinkExpires(t *testing.T) {
	c := newClock()
	s := NewServer(t, Options{Now: c.Now})
	if err := s.PutFile("/a.txt", []byte("a")); err != nil {
		t.Fatal(err)
	}
	link := wantOKJSON(t, call(t, s, "GET", "/v1/disk/resources/download", q("path", "/a.txt"), nil), 200)
	c.Add(5 * time.Hour)
	if e := callAuth(t, s, "GET", link["href"].(string), nil, nil, ""); e.status != 410 {
		t.Errorf("expired link: %d", e.status)
	}
}

// Options.DataDir keeps contents on disk and frees them with the last reference.
func TestDataDir(t *testing.T) {
	dir := t.TempDir()
	s := NewServer(t, Options{DataDir: dir})
	upload(t, s, "/a.bin", "on disk")
	mustStatus(t, call(t, s, "POST", "/v1/disk/resources/copy", q("from", "/a.bin", "path", "/b.bin"), nil), 201)
	if b, err := s.ReadFile("/b.bin"); err != nil || string(b) != "on disk" {
		t.Fatalf("read copy: %q %v", b, err)
	}
	countBlobs := func() int {
		m, _ := filepathGlob(dir)
		return m
	}
	if n := countBlobs(); n != 1 {
		t.Errorf("%d blob files, want 1 shared by the copy", n)
	}
	if err := s.RemovePermanently("/a.bin"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemovePermanently("/b.bin"); err != nil {
		t.Fatal(err)
	}
	if n := countBlobs(); n != 0 {
		t.Errorf("%d blob files left after deleting every reference", n)
	}
}
