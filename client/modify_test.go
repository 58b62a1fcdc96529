package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
)

// A first attempt that fails with a 5xx may still have been applied; the answer to the
// retry is read in that light (doc.go, "Retries").
func TestMkdirRetryAfterApplied(t *testing.T) {
	var n atomic.Int32
	c, _, _ := newTestClient(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || r.URL.Query().Get("path") != "disk:/new dir" {
			t.Errorf("%s %s", r.Method, r.URL)
		}
		if n.Add(1) == 1 {
			rw.WriteHeader(500)
			return
		}
		apiError(rw, 409, codeDirExists)
	}))
	if err := c.Mkdir(context.Background(), "/new dir"); err != nil {
		t.Fatalf("mkdir after an applied 500: %v", err)
	}
}

func TestMkdirErrors(t *testing.T) {
	for code, want := range map[string]error{
		codeDirExists:               ErrAlreadyExists,
		codeResourceExists:          ErrAlreadyExists,
		"DiskPathDoesntExistsError": ErrParentMissing,
	} {
		c, _, _ := newTestClient(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			apiError(rw, 409, code)
		}))
		if err := c.Mkdir(context.Background(), "disk:/a"); !errors.Is(err, want) {
			t.Errorf("%s: %v", code, err)
		}
	}
}

func TestMkdirAll(t *testing.T) {
	var mu sync.Mutex
	dirs := map[string]bool{"disk:/": true, "disk:/a": true}
	var locked atomic.Bool
	c, _, _ := newTestClient(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		p := r.URL.Query().Get("path")
		parent, _ := Parent(p)
		switch {
		case p == "disk:/a/b" && locked.CompareAndSwap(false, true):
			apiError(rw, 423, "DiskResourceLockedError")
		case dirs[p]:
			apiError(rw, 409, codeDirExists)
		case !dirs[parent]:
			apiError(rw, 409, "DiskPathDoesntExistsError")
		default:
			dirs[p] = true
			writeJSON(rw, 201, `{"href":"x","method":"GET","templated":false}`)
		}
	}))
	ctx := context.Background()
	for range 2 { // the second run finds everything in place
		if err := c.MkdirAll(ctx, "disk:/a/b/c d/e"); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"disk:/a/b", "disk:/a/b/c d", "disk:/a/b/c d/e"} {
		if !dirs[p] {
			t.Errorf("%s not created", p)
		}
	}
	if err := c.MkdirAll(ctx, "disk:/"); err != nil {
		t.Error(err)
	}
}

func TestDeleteRetryAfterApplied(t *testing.T) {
	var n atomic.Int32
	c, _, _ := newTestClient(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.Method != http.MethodDelete || q.Get("md5") != "abc" || q.Get("permanently") != "" {
			t.Errorf("%s %s", r.Method, r.URL)
		}
		if n.Add(1) == 1 {
			rw.WriteHeader(502)
			return
		}
		apiError(rw, 404, "DiskNotFoundError")
	}))
	if err := c.Delete(context.Background(), "disk:/a", DeleteOptions{MD5: "abc"}); err != nil {
		t.Fatal(err)
	}
	// Without an earlier attempt the 404 is the caller's to see.
	c2, _, _ := newTestClient(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		apiError(rw, 404, "DiskNotFoundError")
	}))
	if err := c2.Delete(context.Background(), "disk:/a", DeleteOptions{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete of a missing file: %v", err)
	}
}

func TestDeleteAsync(t *testing.T) {
	var polls atomic.Int32
	c, srv, _ := newTestClient(t, http.NewServeMux())
	mux := srv.Config.Handler.(*http.ServeMux)
	mux.HandleFunc("DELETE /v1/disk/resources", func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("permanently") != "true" {
			t.Error("permanently not sent")
		}
		// Operation links may come as http:// with the real host (§1.6): followed on the origin.
		writeJSON(rw, 202, `{"href":"http://cloud-api.yandex.net/v1/disk/operations/op1","method":"GET","templated":false}`)
	})
	mux.HandleFunc("GET /v1/disk/operations/op1", func(rw http.ResponseWriter, r *http.Request) {
		if polls.Add(1) < 3 {
			writeJSON(rw, 200, string(readFixture(t, "operation-in-progress.json")))
			return
		}
		writeJSON(rw, 200, string(readFixture(t, "operation.json")))
	})
	if err := c.Delete(context.Background(), "disk:/dir", DeleteOptions{Permanently: true}); err != nil {
		t.Fatal(err)
	}
	if polls.Load() != 3 {
		t.Errorf("%d polls", polls.Load())
	}
}

func TestOperationFailureStatuses(t *testing.T) {
	for _, status := range []string{"failed", "failure", "cancelled", ""} {
		c, srv, _ := newTestClient(t, http.NewServeMux())
		srv.Config.Handler.(*http.ServeMux).HandleFunc("GET /v1/disk/operations/x", func(rw http.ResponseWriter, r *http.Request) {
			writeJSON(rw, 200, `{"status":"`+status+`"}`)
		})
		if err := c.WaitOperation(context.Background(), srv.URL+"/v1/disk/operations/x"); !errors.Is(err, ErrOperationFailed) {
			t.Errorf("status %q: %v", status, err)
		}
	}
}

func TestOperationTimeout(t *testing.T) {
	c, srv, _ := newTestClient(t, http.NewServeMux(), func(o *Options) { o.OperationTimeout = 30e6 })
	c.sleep = sleepCtx
	srv.Config.Handler.(*http.ServeMux).HandleFunc("GET /v1/disk/operations/x", func(rw http.ResponseWriter, r *http.Request) {
		writeJSON(rw, 200, `{"status":"in-progress"}`)
	})
	err := c.WaitOperation(context.Background(), srv.URL+"/v1/disk/operations/x")
	if !errors.Is(err, ErrOperationTimeout) || errors.Is(err, ErrOperationFailed) {
		t.Errorf("err = %v", err)
	}
}

// relocateServer serves a move/copy whose first answer is a 500 although it was applied.
func relocateServer(t *testing.T, second func(rw http.ResponseWriter), srcExists bool, dstMD5 string) *Client {
	var n atomic.Int32
	mux := http.NewServeMux()
	c, srv, _ := newTestClient(t, mux)
	_ = srv
	for _, op := range []string{"move", "copy"} {
		mux.HandleFunc("POST /v1/disk/resources/"+op, func(rw http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("from") != "disk:/src" || r.URL.Query().Get("path") != "disk:/dst" {
				t.Errorf("query %s", r.URL.RawQuery)
			}
			if n.Add(1) == 1 {
				rw.WriteHeader(500)
				return
			}
			second(rw)
		})
	}
	mux.HandleFunc("GET /v1/disk/resources", func(rw http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Query().Get("path"); {
		case p == "disk:/src" && srcExists:
			writeJSON(rw, 200, `{"path":"disk:/src","type":"file","size":3,"md5":"m1"}`)
		case p == "disk:/dst":
			writeJSON(rw, 200, `{"path":"disk:/dst","type":"file","size":3,"md5":"`+dstMD5+`"}`)
		default:
			apiError(rw, 404, "DiskNotFoundError")
		}
	})
	return c
}

func TestMoveCopyRetryAfterApplied(t *testing.T) {
	ctx := context.Background()
	notFound := func(rw http.ResponseWriter) { apiError(rw, 404, "DiskNotFoundError") }
	exists := func(rw http.ResponseWriter) { apiError(rw, 409, codeResourceExists) }

	if err := relocateServer(t, notFound, false, "m1").Move(ctx, "disk:/src", "disk:/dst", false); err != nil {
		t.Errorf("move, retry 404, source gone: %v", err)
	}
	if err := relocateServer(t, exists, false, "m1").Move(ctx, "disk:/src", "disk:/dst", false); err != nil {
		t.Errorf("move, retry 409, source gone: %v", err)
	}
	if err := relocateServer(t, exists, true, "m1").Move(ctx, "disk:/src", "disk:/dst", false); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("move, retry 409, source still there: %v", err)
	}
	if err := relocateServer(t, exists, true, "m1").Copy(ctx, "disk:/src", "disk:/dst", false); err != nil {
		t.Errorf("copy, retry 409, same content: %v", err)
	}
	if err := relocateServer(t, exists, true, "other").Copy(ctx, "disk:/src", "disk:/dst", false); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("copy, retry 409, other content: %v", err)
	}
}

func TestSetProperties(t *testing.T) {
	var n atomic.Int32
	c, _, _ := newTestClient(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var got struct {
			CustomProperties map[string]any `json:"custom_properties"`
		}
		if r.Method != http.MethodPatch || json.Unmarshal(body, &got) != nil || got.CustomProperties["number"] != float64(42) ||
			got.CustomProperties["gone"] != nil || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s %s", r.Method, r.URL, body)
		}
		if _, present := got.CustomProperties["gone"]; !present {
			t.Error("nil value not sent as null")
		}
		if n.Add(1) == 1 { // §9.1: 500 right after an upload
			rw.WriteHeader(500)
			return
		}
		writeJSON(rw, 200, string(readFixture(t, "resource-patched.json")))
	}))
	r, err := c.SetProperties(context.Background(), "disk:/YaDiskTest/test_patch", map[string]any{"number": 42, "gone": nil})
	if err != nil || r.CustomProperties["number"] != float64(42) || n.Load() != 2 {
		t.Fatalf("%v %+v", err, r)
	}
}

func TestTrashCalls(t *testing.T) {
	mux := http.NewServeMux()
	c, _, _ := newTestClient(t, mux)
	var emptied, deleted, restored atomic.Bool
	mux.HandleFunc("DELETE /v1/disk/trash/resources", func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("path") {
			deleted.Store(r.URL.Query().Get("path") == "trash:/x_1")
		} else {
			emptied.Store(true)
		}
		rw.WriteHeader(204)
	})
	mux.HandleFunc("PUT /v1/disk/trash/resources/restore", func(rw http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		restored.Store(q.Get("path") == "trash:/x_1" && q.Get("name") == "y" && q.Get("overwrite") == "true")
		writeJSON(rw, 201, `{"href":"x","method":"GET","templated":false}`)
	})
	mux.HandleFunc("GET /v1/disk/trash/resources", func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("path") != "trash:/" {
			t.Errorf("trash list path %q", r.URL.Query().Get("path"))
		}
		writeJSON(rw, 200, string(readFixture(t, "trash-list.json")))
	})
	ctx := context.Background()
	var items []Resource
	if err := c.TrashList(ctx, "", func(r Resource) error { items = append(items, r); return nil }); err != nil || len(items) != 1 {
		t.Fatalf("trash list: %v %d", err, len(items))
	}
	if err := c.TrashRestore(ctx, "x_1", "y", true); err != nil || !restored.Load() {
		t.Errorf("restore: %v", err)
	}
	if err := c.TrashDelete(ctx, "trash:/x_1"); err != nil || !deleted.Load() {
		t.Errorf("trash delete: %v", err)
	}
	if err := c.TrashDelete(ctx, ""); err != nil || !emptied.Load() {
		t.Errorf("empty trash: %v", err)
	}
}
