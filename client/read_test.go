package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// treeServer serves GET /v1/disk/resources from a map folder → children, honouring
// limit and offset, and counts concurrent listings.
type treeServer struct {
	t        *testing.T
	children map[string][]Resource
	inFlight atomic.Int32
	peak     atomic.Int32
	// hold, when set, keeps each listing until that many are in flight (or 40ms
	// passed), so that a walk's concurrency shows.
	hold     int32
	mu       sync.Mutex
	requests []string
}

func newTree(t *testing.T, paths ...string) *treeServer {
	ts := &treeServer{t: t, children: map[string][]Resource{"disk:/": nil}}
	for _, p := range paths {
		typ := TypeFile
		if strings.HasSuffix(p, "/") {
			typ, p = TypeDir, strings.TrimSuffix(p, "/")
			if _, ok := ts.children[p]; !ok {
				ts.children[p] = nil
			}
		}
		parent, _ := Parent(p)
		name := p[strings.LastIndexByte(p, '/')+1:]
		ts.children[parent] = append(ts.children[parent], Resource{Name: name, Path: p, Type: typ})
	}
	return ts
}

func (ts *treeServer) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	cur := ts.inFlight.Add(1)
	defer ts.inFlight.Add(-1)
	for {
		p := ts.peak.Load()
		if cur <= p || ts.peak.CompareAndSwap(p, cur) {
			break
		}
	}
	for deadline := time.Now().Add(40 * time.Millisecond); ts.hold > 0 && ts.inFlight.Load() < ts.hold && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	q := r.URL.Query()
	p := q.Get("path")
	ts.mu.Lock()
	ts.requests = append(ts.requests, p+"@"+q.Get("offset"))
	ts.mu.Unlock()
	kids, ok := ts.children[p]
	if !ok {
		for _, list := range ts.children {
			for _, it := range list {
				if it.Path == p {
					b, _ := json.Marshal(it)
					writeJSON(rw, 200, string(b))
					return
				}
			}
		}
		apiError(rw, 404, "DiskNotFoundError")
		return
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	offset, _ := strconv.Atoi(q.Get("offset"))
	page := kids[min(offset, len(kids)):min(offset+limit, len(kids))]
	b, _ := json.Marshal(Resource{Path: p, Type: TypeDir, Embedded: &ResourceList{Items: page, Limit: limit, Offset: offset, Total: len(kids), Path: p}})
	writeJSON(rw, 200, string(b))
}

func TestListPages(t *testing.T) {
	var paths []string
	for i := range 7 {
		paths = append(paths, fmt.Sprintf("disk:/d/f%d", i))
	}
	ts := newTree(t, append([]string{"disk:/d/"}, paths...)...)
	c, _, _ := newTestClient(t, ts, func(o *Options) { o.ListPageSize = 3 })
	var got []string
	if err := c.List(context.Background(), "/d", func(r Resource) error { got = append(got, r.Path); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, paths) {
		t.Errorf("got %v", got)
	}
	if want := []string{"disk:/d@0", "disk:/d@3", "disk:/d@6"}; !slices.Equal(ts.requests, want) {
		t.Errorf("requests %v, want %v", ts.requests, want)
	}
	if err := c.List(context.Background(), "disk:/d/f1", func(Resource) error { return nil }); !errors.Is(err, ErrNotDir) {
		t.Errorf("list of a file: %v", err)
	}
	if err := c.List(context.Background(), "disk:/nope", func(Resource) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("list of nothing: %v", err)
	}
	stop := errors.New("stop")
	if err := c.List(context.Background(), "disk:/d", func(Resource) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("fn error: %v", err)
	}
}

func TestListPageFieldsAndStat(t *testing.T) {
	var got atomic.Value
	c, _, _ := newTestClient(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		got.Store(r.URL.Query())
		writeJSON(rw, 200, string(readFixture(t, "resource-folder.json")))
	}))
	r, err := c.ListPage(context.Background(), "disk:/YaDiskTest/test_copy/directory_copy", 2, 1, "name", "_embedded.items.path")
	if err != nil || r.Embedded == nil || len(r.Embedded.Items) != 3 {
		t.Fatalf("%v %+v", err, r)
	}
	q := got.Load().(url.Values)
	if q["limit"][0] != "2" || q["offset"][0] != "1" || q["fields"][0] != "name,_embedded.items.path" {
		t.Errorf("query %v", q)
	}
	st, err := c.Stat(context.Background(), "disk:/YaDiskTest/test_copy/directory_copy")
	if err != nil || st.Embedded != nil || st.Name != "directory_copy" {
		t.Errorf("stat: %v %+v", err, st)
	}
	if q := got.Load().(url.Values); q["limit"][0] != "0" {
		t.Errorf("stat query %v", q)
	}
}

func TestWalk(t *testing.T) {
	var paths []string
	for i := range 5 {
		paths = append(paths, fmt.Sprintf("disk:/r/d%d/", i))
		for j := range 4 {
			paths = append(paths, fmt.Sprintf("disk:/r/d%d/e%d/", i, j), fmt.Sprintf("disk:/r/d%d/e%d/f.txt", i, j))
		}
	}
	ts := newTree(t, append([]string{"disk:/r/", "disk:/r/top.txt"}, paths...)...)
	ts.hold = 3
	c, _, _ := newTestClient(t, ts, func(o *Options) { o.ListConcurrency = 3; o.ListPageSize = 2 })
	var got []string
	var inFn atomic.Int32
	err := c.Walk(context.Background(), "disk:/r", func(r Resource) error {
		if inFn.Add(1) != 1 {
			t.Error("fn called concurrently")
		}
		got = append(got, r.Path+map[bool]string{true: "/"}[r.IsDir()])
		inFn.Add(-1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := append([]string{"disk:/r/top.txt"}, paths...)
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("walk got %d items, want %d\n%v", len(got), len(want), got)
	}
	if p := ts.peak.Load(); p != 3 {
		t.Errorf("peak concurrent listings %d, want 3", p)
	}
}

func TestWalkErrors(t *testing.T) {
	ts := newTree(t, "disk:/r/", "disk:/r/a/", "disk:/r/a/b/", "disk:/r/x.txt")
	c, _, _ := newTestClient(t, ts)
	ctx := context.Background()
	if err := c.Walk(ctx, "disk:/missing", func(Resource) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing root: %v", err)
	}
	if err := c.Walk(ctx, "disk:/r/x.txt", func(Resource) error { return nil }); !errors.Is(err, ErrNotDir) {
		t.Errorf("file root: %v", err)
	}
	stop := errors.New("stop")
	if err := c.Walk(ctx, "disk:/r", func(Resource) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("fn error: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	err := c.Walk(cctx, "disk:/r", func(Resource) error { cancel(); return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled walk: %v", err)
	}
	// Walk's workers are gone when it returns, whatever ended it.
	buf := make([]byte, 1<<20)
	if stacks := string(buf[:runtime.Stack(buf, true)]); strings.Contains(stacks, "client.(*Client).Walk") {
		t.Errorf("walk goroutines left behind:\n%s", stacks)
	}
}

func TestFilesPagesUntilShortPage(t *testing.T) {
	var offsets []string
	c, _, _ := newTestClient(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/v1/disk/resources/files" || !strings.Contains(q.Get("fields"), "items.md5") {
			t.Errorf("request %s", r.URL)
		}
		offsets = append(offsets, q.Get("offset"))
		n := 3
		if q.Get("offset") == "6" {
			n = 1
		}
		var items []Resource
		for i := range n {
			items = append(items, Resource{Path: fmt.Sprintf("disk:/f%s-%d", q.Get("offset"), i), Type: TypeFile})
		}
		b, _ := json.Marshal(struct {
			Items []Resource `json:"items"`
		}{items})
		writeJSON(rw, 200, string(b))
	}), func(o *Options) { o.ListPageSize = 3 })
	count := 0
	if err := c.Files(context.Background(), func(Resource) error { count++; return nil }); err != nil {
		t.Fatal(err)
	}
	if count != 7 || !slices.Equal(offsets, []string{"0", "3", "6"}) {
		t.Errorf("%d files, offsets %v", count, offsets)
	}
}

func TestDiskInfoRevisionLastUploaded(t *testing.T) {
	c, _, _ := newTestClient(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v1/disk" && r.URL.Query().Get("fields") == "revision":
			writeJSON(rw, 200, `{"revision":1720559553795154}`)
		case r.URL.Path == "/v1/disk":
			writeJSON(rw, 200, string(readFixture(t, "disk-info.json")))
		case r.URL.Path == "/v1/disk/resources/last-uploaded" && r.URL.Query().Get("limit") == "3":
			writeJSON(rw, 200, string(readFixture(t, "last-uploaded.json")))
		default:
			t.Errorf("unexpected %s", r.URL)
			rw.WriteHeader(501)
		}
	}))
	ctx := context.Background()
	d, err := c.DiskInfo(ctx)
	if err != nil || d.MaxFileSize != 1073741824 {
		t.Fatalf("%v %+v", err, d)
	}
	rev, err := c.Revision(ctx)
	if err != nil || rev != 1720559553795154 {
		t.Errorf("revision %d %v", rev, err)
	}
	last, err := c.LastUploaded(ctx, 3)
	if err != nil || len(last) != 3 {
		t.Errorf("last uploaded %d %v", len(last), err)
	}
}

func TestRevisionMissing(t *testing.T) {
	c, _, _ := newTestClient(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		writeJSON(rw, 200, `{}`)
	}))
	if _, err := c.Revision(context.Background()); err == nil {
		t.Error("a missing revision must not read as 0")
	}
}

// A folder answer without _embedded must not read as an empty folder.
func TestListWithoutEmbedded(t *testing.T) {
	c, _, _ := newTestClient(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		writeJSON(rw, 200, `{"type":"dir","path":"disk:/d"}`)
	}))
	called := false
	err := c.List(context.Background(), "disk:/d", func(Resource) error { called = true; return nil })
	if err == nil || called {
		t.Errorf("err %v, fn called %v", err, called)
	}
}
