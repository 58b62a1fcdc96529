package client

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yasyncd/yasyncd/internal/emulator"
)

// tokenTransport adds the emulator's token as the auth package would.
type tokenTransport struct {
	token string
	base  http.RoundTripper
}

func (t tokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "OAuth "+t.token)
	return t.base.RoundTrip(r)
}

// newEmu starts an emulator and a client for it with fast retry delays.
func newEmu(t *testing.T, eopts emulator.Options, mod ...func(*Options)) (*emulator.Server, *Client) {
	t.Helper()
	srv := emulator.NewServer(t, eopts)
	o := testOptions(srv.URL)
	base := srv.Client().Transport
	if base == nil {
		base = http.DefaultTransport
	}
	o.HTTPClient = &http.Client{Transport: tokenTransport{srv.Token(), base}}
	o.TransferClient = srv.Client()
	for _, m := range mod {
		m(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return srv, c
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

func TestEmuDiskInfoAndRevision(t *testing.T) {
	srv, c := newEmu(t, emulator.Options{MaxFileSize: 12345})
	ctx := context.Background()
	d, err := c.DiskInfo(ctx)
	must(t, err)
	if d.MaxFileSize != 12345 || d.TotalSpace == 0 || d.User == nil || d.Revision == 0 {
		t.Errorf("disk info %+v", d)
	}
	r1, err := c.Revision(ctx)
	must(t, err)
	must(t, srv.PutFile("disk:/a.txt", []byte("x")))
	r2, err := c.Revision(ctx)
	must(t, err)
	if r2 <= r1 || r2 != srv.Revision() {
		t.Errorf("revision %d → %d, server %d", r1, r2, srv.Revision())
	}
}

func TestEmuStatListWalkFiles(t *testing.T) {
	srv, c := newEmu(t, emulator.Options{}, func(o *Options) { o.ListPageSize = 3; o.ListConcurrency = 3 })
	ctx := context.Background()
	names := []string{"a b.txt", "plus+sign.txt", "hash#%?&.txt", "Кириллица.txt", "emoji😀.txt", `quote'"x.txt`, "semi;colon:x"}
	for i, n := range names {
		must(t, srv.PutFile(Join("disk:/Sync", n), []byte(n)))
		must(t, srv.PutFile(fmt.Sprintf("disk:/Sync/dir %d/sub/%s", i%3, n), []byte("deep "+n)))
	}
	must(t, srv.Mkdir("disk:/Sync/empty"))

	st, err := c.Stat(ctx, "disk:/Sync/plus+sign.txt")
	must(t, err)
	if st.Path != "disk:/Sync/plus+sign.txt" || st.Size != int64(len("plus+sign.txt")) || st.MD5 != md5hex([]byte("plus+sign.txt")) {
		t.Errorf("stat %+v", st)
	}
	if _, err := c.Stat(ctx, "disk:/Sync/nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("stat missing: %v", err)
	}

	var listed []Resource
	must(t, c.List(ctx, "disk:/Sync", func(r Resource) error { listed = append(listed, r); return nil }))
	if len(listed) != len(names)+4 {
		t.Errorf("listed %d", len(listed))
	}
	for i, r := range listed { // folders first (§2.3)
		if i > 0 && r.IsDir() && !listed[i-1].IsDir() {
			t.Errorf("folder %s after a file", r.Path)
		}
		if !r.IsDir() && (r.MD5 == "" || r.Revision == 0 || r.ResourceID == "") {
			t.Errorf("item lacks fields: %+v", r)
		}
	}

	page, err := c.ListPage(ctx, "disk:/Sync", 2, 1)
	must(t, err)
	if page.Embedded == nil || len(page.Embedded.Items) != 2 || page.Embedded.Offset != 1 || page.Embedded.Total != len(names)+4 {
		t.Errorf("page %+v", page.Embedded)
	}

	snap := srv.Snapshot()
	var want, got []string
	for p := range snap {
		if strings.HasPrefix(p, "disk:/Sync/") {
			want = append(want, p)
		}
	}
	must(t, c.Walk(ctx, "disk:/Sync", func(r Resource) error {
		e, ok := snap[r.Path]
		if !ok || e.Dir != r.IsDir() || e.Size != r.Size || e.MD5 != r.MD5 {
			t.Errorf("walk item %+v does not match %+v", r, e)
		}
		got = append(got, r.Path)
		return nil
	}))
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("walk:\n got %q\nwant %q", got, want)
	}
	if err := c.Walk(ctx, "disk:/Nope", func(Resource) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("walk missing: %v", err)
	}

	var files []string
	must(t, c.Files(ctx, func(r Resource) error { files = append(files, r.Path); return nil }))
	var wantFiles []string
	for p, e := range snap {
		if !e.Dir {
			wantFiles = append(wantFiles, p)
		}
	}
	slices.Sort(files)
	slices.Sort(wantFiles)
	if !slices.Equal(files, wantFiles) {
		t.Errorf("files: got %d, want %d", len(files), len(wantFiles))
	}

	last, err := c.LastUploaded(ctx, 3)
	must(t, err)
	if len(last) != 3 {
		t.Errorf("last uploaded %d", len(last))
	}
}

func TestEmuUpload(t *testing.T) {
	srv, c := newEmu(t, emulator.Options{MaxFileSize: 1 << 20})
	ctx := context.Background()
	must(t, srv.Mkdir("disk:/Sync"))
	data := bytes.Repeat([]byte("0123456789"), 10000)
	res, err := c.Upload(ctx, "disk:/Sync/a+b #1.bin", bytes.NewReader(data), int64(len(data)), UploadOptions{})
	must(t, err)
	got, err := srv.ReadFile("disk:/Sync/a+b #1.bin")
	must(t, err)
	if !bytes.Equal(got, data) || res.Resource == nil || res.Resource.MD5 != md5hex(data) || res.MD5 != md5hex(data) {
		t.Errorf("uploaded %d bytes, result %+v", len(got), res)
	}

	_, err = c.Upload(ctx, "disk:/Sync/a+b #1.bin", bytes.NewReader(data), int64(len(data)), UploadOptions{})
	if !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("existing: %v", err)
	}
	_, err = c.Upload(ctx, "disk:/Sync/a+b #1.bin", bytes.NewReader([]byte("new")), 3, UploadOptions{Overwrite: true})
	must(t, err)
	if got, _ := srv.ReadFile("disk:/Sync/a+b #1.bin"); string(got) != "new" {
		t.Errorf("overwrite stored %q", got)
	}
	res, err = c.Upload(ctx, "disk:/Sync/empty", bytes.NewReader(nil), 0, UploadOptions{})
	must(t, err)
	if e, ok := srv.Stat("disk:/Sync/empty"); !ok || e.Size != 0 || res.Resource == nil || res.MD5 != md5hex(nil) {
		t.Errorf("empty file: %+v %+v", e, res)
	}
	if _, err := c.Upload(ctx, "disk:/Missing/a", bytes.NewReader(data), int64(len(data)), UploadOptions{}); !errors.Is(err, ErrParentMissing) {
		t.Errorf("missing parent: %v", err)
	}
	srv.ResetRequests()
	big := make([]byte, 2<<20)
	if _, err := c.Upload(ctx, "disk:/Sync/big", bytes.NewReader(big), int64(len(big)), UploadOptions{}); !errors.Is(err, ErrPayloadTooLarge) {
		t.Errorf("over max_file_size: %v", err)
	}
	for _, r := range srv.Requests() {
		if r.Path == "/v1/disk/resources/upload" {
			t.Error("link asked for a file over max_file_size")
		}
	}
	if _, err := c.Upload(ctx, "disk:/Sync/short", bytes.NewReader(data[:10]), 20, UploadOptions{}); !errors.Is(err, ErrTruncated) {
		t.Errorf("short body: %v", err)
	}
	if _, ok := srv.Stat("disk:/Sync/short"); ok {
		t.Error("a truncated upload was stored")
	}
}

func TestEmuUploadFaults(t *testing.T) {
	ctx := context.Background()
	data := bytes.Repeat([]byte("abc"), 5000)
	for _, kind := range []emulator.FaultKind{emulator.FaultInternal, emulator.FaultUnavailable,
		emulator.FaultReset, emulator.FaultDropResponse, emulator.FaultTooManyRequests} {
		t.Run(kind.String(), func(t *testing.T) {
			srv, c := newEmu(t, emulator.Options{})
			srv.InjectOnce("PUT", emulator.UploadPathPrefix, emulator.Fault{Kind: kind})
			res, err := c.Upload(ctx, "disk:/f.bin", bytes.NewReader(data), int64(len(data)), UploadOptions{})
			must(t, err)
			got, err := srv.ReadFile("disk:/f.bin")
			must(t, err)
			if !bytes.Equal(got, data) || res.Resource == nil {
				t.Errorf("stored %d bytes", len(got))
			}
			links := 0
			for _, r := range srv.Requests() {
				if r.Path == "/v1/disk/resources/upload" {
					links++
				}
			}
			if links != 2 {
				t.Errorf("%d links asked for, want 2 (links are single-use)", links)
			}
		})
	}
	for _, kind := range []emulator.FaultKind{emulator.FaultInsufficientStorage} {
		srv, c := newEmu(t, emulator.Options{})
		srv.InjectOnce("PUT", emulator.UploadPathPrefix, emulator.Fault{Kind: kind})
		if _, err := c.Upload(ctx, "disk:/f.bin", bytes.NewReader(data), int64(len(data)), UploadOptions{}); !errors.Is(err, ErrInsufficientStorage) {
			t.Errorf("%s: %v", kind, err)
		}
	}
	// A full Disk refuses at the link or the PUT; either way 507 and no retry.
	srv, c := newEmu(t, emulator.Options{TotalSpace: 1000})
	if _, err := c.Upload(ctx, "disk:/f.bin", bytes.NewReader(data), int64(len(data)), UploadOptions{}); !errors.Is(err, ErrInsufficientStorage) {
		t.Errorf("full disk: %v", err)
	}
	puts := 0
	for _, r := range srv.Requests() {
		if r.Method == "PUT" {
			puts++
		}
	}
	if puts > 1 {
		t.Errorf("507 retried: %d PUTs", puts)
	}
	// Non-seekable bodies are not retried.
	srv, c = newEmu(t, emulator.Options{})
	srv.InjectOnce("PUT", emulator.UploadPathPrefix, emulator.Fault{Kind: emulator.FaultInternal})
	if _, err := c.Upload(ctx, "disk:/f.bin", struct{ *bytes.Buffer }{bytes.NewBuffer(data)}, int64(len(data)), UploadOptions{}); !errors.Is(err, ErrServer) {
		t.Errorf("non-seekable: %v", err)
	}
}

func TestEmuUploadQuirks(t *testing.T) {
	ctx := context.Background()
	data := []byte("quirky")
	// §3.2: PUT answers 202 and the operation stays in progress for a while.
	srv, c := newEmu(t, emulator.Options{UploadAccepted: true, OperationDelay: 30 * time.Millisecond})
	res, err := c.Upload(ctx, "disk:/accepted", bytes.NewReader(data), int64(len(data)), UploadOptions{})
	must(t, err)
	if res.Resource == nil || res.Resource.Size != int64(len(data)) {
		t.Errorf("202 upload: %+v", res)
	}
	if got, _ := srv.ReadFile("disk:/accepted"); !bytes.Equal(got, data) {
		t.Errorf("stored %q", got)
	}
	// §9.2: 404 right after the upload.
	_, c = newEmu(t, emulator.Options{NotFoundAfterUpload: 40 * time.Millisecond}, func(o *Options) {
		o.RetryBaseDelay, o.RetryMaxDelay = 10*time.Millisecond, 40*time.Millisecond
	})
	res, err = c.Upload(ctx, "disk:/late", bytes.NewReader(data), int64(len(data)), UploadOptions{})
	must(t, err)
	if res.Resource == nil {
		t.Error("no resource after the 404 window")
	}
}

func TestEmuDownload(t *testing.T) {
	srv, c := newEmu(t, emulator.Options{})
	ctx := context.Background()
	data := bytes.Repeat([]byte("download-me "), 20000)
	must(t, srv.PutFile("disk:/d/f #1+.bin", data))
	var buf bytes.Buffer
	n, err := c.Download(ctx, "disk:/d/f #1+.bin", &buf)
	must(t, err)
	if n != int64(len(data)) || !bytes.Equal(buf.Bytes(), data) {
		t.Errorf("%d bytes", n)
	}
	if _, err := c.Download(ctx, "disk:/d/none", &buf); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
	for _, f := range []emulator.Fault{
		{Kind: emulator.FaultTruncateBody}, {Kind: emulator.FaultInternal}, {Kind: emulator.FaultReset},
		{Kind: emulator.FaultUnavailable}, {Kind: emulator.FaultTooManyRequests},
	} {
		srv.InjectN("GET", emulator.StoragePathPrefix, 2, f)
		buf.Reset()
		n, err := c.Download(ctx, "disk:/d/f #1+.bin", &buf)
		if err != nil || n != int64(len(data)) || !bytes.Equal(buf.Bytes(), data) {
			t.Errorf("%s: %v, %d bytes", f.Kind, err, n)
		}
		srv.ClearFaults()
	}
	srv.InjectN("GET", emulator.StoragePathPrefix, 100, emulator.Fault{Kind: emulator.FaultTruncateBody})
	buf.Reset()
	n, err = c.Download(ctx, "disk:/d/f #1+.bin", &buf)
	if !errors.Is(err, ErrTruncated) || n >= int64(len(data)) || !bytes.Equal(buf.Bytes(), data[:n]) {
		t.Errorf("always truncated: %v, %d bytes", err, n)
	}
}

func TestEmuMkdir(t *testing.T) {
	srv, c := newEmu(t, emulator.Options{})
	ctx := context.Background()
	must(t, c.Mkdir(ctx, "disk:/a"))
	if err := c.Mkdir(ctx, "disk:/a"); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("existing dir: %v", err)
	}
	if err := c.Mkdir(ctx, "disk:/x/y"); !errors.Is(err, ErrParentMissing) {
		t.Errorf("missing parent: %v", err)
	}
	must(t, srv.PutFile("disk:/file", []byte("f")))
	if err := c.Mkdir(ctx, "disk:/file"); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("file in the way: %v", err)
	}
	must(t, c.MkdirAll(ctx, "disk:/a/b c/d+e/f"))
	must(t, c.MkdirAll(ctx, "disk:/a/b c/d+e/f"))
	if e, ok := srv.Stat("disk:/a/b c/d+e/f"); !ok || !e.Dir {
		t.Error("MkdirAll did not create the tree")
	}
	if err := c.MkdirAll(ctx, "disk:/file/sub"); err == nil {
		t.Error("MkdirAll below a file succeeded")
	}
	srv.InjectOnce("PUT", "/v1/disk/resources", emulator.Fault{Kind: emulator.FaultDropResponse})
	must(t, c.Mkdir(ctx, "disk:/dropped"))
	srv.InjectOnce("PUT", "/v1/disk/resources", emulator.Fault{Kind: emulator.FaultLocked})
	must(t, c.Mkdir(ctx, "disk:/locked-once"))
}

func TestEmuMoveCopy(t *testing.T) {
	srv, c := newEmu(t, emulator.Options{OperationDelay: 20 * time.Millisecond})
	ctx := context.Background()
	must(t, srv.PutFile("disk:/src/a.txt", []byte("a")))
	must(t, srv.PutFile("disk:/src/sub/b.txt", []byte("b")))
	must(t, srv.PutFile("disk:/one.txt", []byte("1")))
	before, _ := srv.Stat("disk:/one.txt")

	must(t, c.Move(ctx, "disk:/one.txt", "disk:/one moved+.txt", false))
	after, ok := srv.Stat("disk:/one moved+.txt")
	if !ok || after.ResourceID != before.ResourceID {
		t.Error("move lost the file or its resource_id")
	}
	must(t, c.Copy(ctx, "disk:/src", "disk:/copy", false)) // non-empty folder: 202 + operation
	if _, ok := srv.Stat("disk:/copy/sub/b.txt"); !ok {
		t.Error("async copy incomplete")
	}
	must(t, c.Move(ctx, "disk:/copy", "disk:/moved", false))
	if _, ok := srv.Stat("disk:/moved/sub/b.txt"); !ok {
		t.Error("async move incomplete")
	}
	if err := c.Copy(ctx, "disk:/src/a.txt", "disk:/one moved+.txt", false); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("copy onto a file: %v", err)
	}
	must(t, c.Copy(ctx, "disk:/src/a.txt", "disk:/one moved+.txt", true))
	if err := c.Move(ctx, "disk:/nothing", "disk:/x", false); !errors.Is(err, ErrNotFound) {
		t.Errorf("move missing: %v", err)
	}
	if err := c.Move(ctx, "disk:/src/a.txt", "disk:/no/parent", false); !errors.Is(err, ErrParentMissing) {
		t.Errorf("move to a missing parent: %v", err)
	}

	// The answer is lost after the server moved: the retry's 404 is read as success.
	srv.InjectOnce("POST", "/v1/disk/resources/move", emulator.Fault{Kind: emulator.FaultDropResponse})
	must(t, c.Move(ctx, "disk:/src/a.txt", "disk:/a2.txt", false))
	if _, ok := srv.Stat("disk:/a2.txt"); !ok {
		t.Error("dropped move not applied")
	}
	srv.InjectOnce("POST", "/v1/disk/resources/copy", emulator.Fault{Kind: emulator.FaultDropResponse})
	must(t, c.Copy(ctx, "disk:/a2.txt", "disk:/a3.txt", false))

	must(t, srv.Lock("disk:/a3.txt"))
	if err := c.Move(ctx, "disk:/a3.txt", "disk:/a4.txt", false); !errors.Is(err, ErrLocked) {
		t.Errorf("locked: %v", err)
	}
	must(t, srv.Unlock("disk:/a3.txt"))
}

func TestEmuDeleteAndTrash(t *testing.T) {
	srv, c := newEmu(t, emulator.Options{OperationDelay: 20 * time.Millisecond})
	ctx := context.Background()
	must(t, srv.PutFile("disk:/f.txt", []byte("f")))
	must(t, srv.PutFile("disk:/dir/x.txt", []byte("x")))
	must(t, srv.PutFile("disk:/perm.txt", []byte("p")))

	if err := c.Delete(ctx, "disk:/f.txt", DeleteOptions{MD5: md5hex([]byte("other"))}); !errors.Is(err, ErrMD5Differ) {
		t.Errorf("conditional delete: %v", err)
	}
	must(t, c.Delete(ctx, "disk:/f.txt", DeleteOptions{MD5: md5hex([]byte("f"))}))
	must(t, c.Delete(ctx, "disk:/dir", DeleteOptions{})) // non-empty: 202 + operation
	if _, ok := srv.Stat("disk:/dir"); ok {
		t.Error("async delete incomplete")
	}
	must(t, c.Delete(ctx, "disk:/perm.txt", DeleteOptions{Permanently: true}))
	if err := c.Delete(ctx, "disk:/f.txt", DeleteOptions{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete missing: %v", err)
	}
	must(t, srv.PutFile("disk:/dropped.txt", []byte("d")))
	srv.InjectOnce("DELETE", "/v1/disk/resources", emulator.Fault{Kind: emulator.FaultDropResponse})
	must(t, c.Delete(ctx, "disk:/dropped.txt", DeleteOptions{}))

	var trash []Resource
	must(t, c.TrashList(ctx, "", func(r Resource) error { trash = append(trash, r); return nil }))
	byOrigin := map[string]Resource{}
	for _, r := range trash {
		byOrigin[r.OriginPath] = r
	}
	if len(trash) != 3 || byOrigin["disk:/f.txt"].Path == "" || byOrigin["disk:/dir"].Path == "" {
		t.Fatalf("trash %+v", trash)
	}
	must(t, c.TrashRestore(ctx, byOrigin["disk:/f.txt"].Path, "", false))
	if got, _ := srv.ReadFile("disk:/f.txt"); string(got) != "f" {
		t.Error("restore")
	}
	must(t, c.TrashRestore(ctx, byOrigin["disk:/dir"].Path, "dir restored", false))
	if _, ok := srv.Stat("disk:/dir restored/x.txt"); !ok {
		t.Error("restore under a new name")
	}
	if err := c.TrashRestore(ctx, "trash:/nothing_0000", "", false); !errors.Is(err, ErrNotFound) {
		t.Errorf("restore missing: %v", err)
	}
	must(t, c.TrashDelete(ctx, byOrigin["disk:/dropped.txt"].Path))
	if n := len(srv.Trash()); n != 0 {
		t.Errorf("%d trash entries left", n)
	}
	must(t, srv.Remove("disk:/f.txt"))
	must(t, c.TrashDelete(ctx, ""))
	if n := len(srv.Trash()); n != 0 {
		t.Errorf("trash not emptied: %d", n)
	}
}

func TestEmuSetProperties(t *testing.T) {
	srv, c := newEmu(t, emulator.Options{})
	ctx := context.Background()
	must(t, srv.PutFile("disk:/p.txt", []byte("p")))
	r, err := c.SetProperties(ctx, "disk:/p.txt", map[string]any{"mtime": "2026-01-02T03:04:05.123456789Z", "n": 42})
	must(t, err)
	if r.CustomProperties["mtime"] != "2026-01-02T03:04:05.123456789Z" || r.CustomProperties["n"] != float64(42) {
		t.Errorf("props %v", r.CustomProperties)
	}
	r, err = c.SetProperties(ctx, "disk:/p.txt", map[string]any{"mtime": nil, "n": nil})
	must(t, err)
	if r.CustomProperties != nil {
		t.Errorf("cleared props %v", r.CustomProperties)
	}
	if _, err := c.SetProperties(ctx, "disk:/none", map[string]any{"a": "b"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
	srv.InjectOnce("PATCH", "/v1/disk/resources", emulator.Fault{Kind: emulator.FaultInternal})
	r, err = c.SetProperties(ctx, "disk:/p.txt", map[string]any{"k": "v"})
	must(t, err)
	if r.CustomProperties["k"] != "v" {
		t.Errorf("after a 500: %v", r.CustomProperties)
	}
}

func TestEmuOperations(t *testing.T) {
	srv, c := newEmu(t, emulator.Options{})
	ctx := context.Background()
	if _, err := c.Operation(ctx, "0000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown operation: %v", err)
	}
	if err := c.WaitOperation(ctx, srv.URL+"/v1/disk/operations/0000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("wait unknown operation: %v", err)
	}
}

func TestEmuErrorClasses(t *testing.T) {
	ctx := context.Background()
	srv, c := newEmu(t, emulator.Options{})
	must(t, srv.PutFile("disk:/a.txt", []byte("a")))

	// Wrong token: 401, not retried.
	bad, err := New(Options{APIURL: srv.URL, RequestsPerSecond: -1,
		HTTPClient: &http.Client{Transport: tokenTransport{"garbage", http.DefaultTransport}}})
	must(t, err)
	defer bad.Close()
	srv.ResetRequests()
	if _, err := bad.Stat(ctx, "disk:/a.txt"); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("bad token: %v", err)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("401 retried: %d requests", n)
	}

	w := &waits{}
	c.sleep = w.sleep
	srv.InjectOnce("GET", "/v1/disk/resources", emulator.Fault{Kind: emulator.FaultTooManyRequests, RetryAfter: 2 * time.Second})
	_, err = c.Stat(ctx, "disk:/a.txt")
	must(t, err)
	if got := w.all(); len(got) != 1 || got[0] != 2*time.Second {
		t.Errorf("429 waits %v, want [2s]", got)
	}
	for _, tc := range []struct {
		kind emulator.FaultKind
		n    int
		want error
	}{
		{emulator.FaultInternal, 2, nil},
		{emulator.FaultUnavailable, 2, nil},
		{emulator.FaultReset, 2, nil},
		{emulator.FaultLocked, 2, nil},
		{emulator.FaultInternal, 100, ErrServer},
		{emulator.FaultLocked, 100, ErrLocked},
		{emulator.FaultInsufficientStorage, 1, ErrInsufficientStorage},
		{emulator.FaultUnauthorized, 1, ErrUnauthorized},
	} {
		srv.ClearFaults()
		srv.InjectN("GET", "/v1/disk/resources", tc.n, emulator.Fault{Kind: tc.kind})
		_, err := c.Stat(ctx, "disk:/a.txt")
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%d × %s: %v, want %v", tc.n, tc.kind, err, tc.want)
		}
	}
	srv.ClearFaults()
	if _, err := c.ListPage(ctx, "disk:/a.txt", -5, 0); !errors.Is(err, ErrBadRequest) {
		t.Errorf("bad limit: %v", err)
	}
	if _, err := c.Stat(ctx, "disk:/a/../b"); !errors.Is(err, ErrBadRequest) {
		t.Errorf("dot-dot path: %v", err)
	}
}

// Random faults on every endpoint: every call either succeeds or fails cleanly, and the
// Disk ends as the calls that succeeded say.
// YASYNCD_FULL=1 runs more seeds and files.
func TestEmuRandomFaults(t *testing.T) {
	seeds, files := []int64{7}, 10
	if os.Getenv("YASYNCD_FULL") != "" {
		seeds, files = []int64{1, 2, 3, 4, 5}, 30
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) { randomFaults(t, seed, files) })
	}
}

func randomFaults(t *testing.T, seed int64, files int) {
	_, c := newEmu(t, emulator.Options{FaultRate: 0.2, Seed: seed}, func(o *Options) { o.MaxRetries = 10 })
	ctx := context.Background()
	must(t, c.MkdirAll(ctx, "disk:/r/s"))
	for i := range files {
		data := []byte(strings.Repeat(fmt.Sprint(i), 1000+i))
		p := fmt.Sprintf("disk:/r/s/f%d", i)
		_, err := c.Upload(ctx, p, bytes.NewReader(data), int64(len(data)), UploadOptions{})
		must(t, err)
		var buf bytes.Buffer
		_, err = c.Download(ctx, p, &buf)
		must(t, err)
		if !bytes.Equal(buf.Bytes(), data) {
			t.Errorf("%s: downloaded other bytes", p)
		}
	}
	must(t, c.Move(ctx, "disk:/r/s/f0", "disk:/r/f0", false))
	must(t, c.Delete(ctx, "disk:/r/s/f1", DeleteOptions{}))
	count := 0
	must(t, c.Walk(ctx, "disk:/r", func(Resource) error { count++; return nil }))
	if count != files { // s, f0, and f2..
		t.Errorf("seed %d: walk found %d", seed, count)
	}
}
