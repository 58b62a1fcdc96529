package emulator

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The seeding and inspection methods simulate another device changing the Disk.
func TestSeedingAndInspection(t *testing.T) {
	s := NewServer(t)
	if err := s.PutFile("disk:/Sync/a.txt", []byte("a")); err != nil {
		t.Fatal(err)
	}
	st, ok := s.Stat("/Sync/a.txt")
	if !ok || st.Size != 1 || st.MD5 != "0cc175b9c0f1b6a831c399e269772661" || st.Dir {
		t.Fatalf("stat %+v", st)
	}
	if err := s.Move("/Sync/a.txt", "/Sync/sub/b.txt"); err != nil {
		t.Fatal(err)
	}
	moved, _ := s.Stat("/Sync/sub/b.txt")
	if moved.ResourceID != st.ResourceID || moved.Revision <= st.Revision {
		t.Errorf("move: %+v", moved)
	}
	if err := s.SetProperty("/Sync/sub/b.txt", "k", 7); err != nil {
		t.Fatal(err)
	}
	snap := s.Snapshot()
	if len(snap) != 3 || snap["disk:/Sync/sub/b.txt"].CustomProperties["k"] != float64(7) || !snap["disk:/Sync/sub"].Dir {
		t.Errorf("snapshot %+v", snap)
	}
	if err := s.Remove("/Sync/sub"); err != nil {
		t.Fatal(err)
	}
	tr := s.Trash()
	if len(tr) != 1 || tr[0].Name != "sub" || tr[0].OriginPath != "disk:/Sync/sub" || tr[0].Deleted.IsZero() {
		t.Errorf("trash %+v", tr)
	}
	if _, err := s.ReadFile("/Sync/sub/b.txt"); err == nil {
		t.Error("removed file still readable")
	}
	if err := s.Move("/missing", "/x"); err == nil {
		t.Error("moving a missing path succeeded")
	}
	// Lock makes writes answer 423 (§9.8) until Unlock.
	if err := s.Lock("/Sync"); err != nil {
		t.Fatal(err)
	}
	wantError(t, call(t, s, "PUT", "/v1/disk/resources", q("path", "/Sync/new"), nil), 423, "DiskResourceLockedError")
	wantError(t, call(t, s, "DELETE", "/v1/disk/resources", q("path", "/"+"Sync"), nil), 423, "DiskResourceLockedError")
	if err := s.Unlock("/Sync"); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, call(t, s, "PUT", "/v1/disk/resources", q("path", "/Sync/new"), nil), 201)
}

// The OAuth server is mounted on the same origin and its tokens open the Disk API (§8.2).
func TestOAuthMounted(t *testing.T) {
	s := NewServer(t, Options{AutoApprove: true})
	post := func(path string, form url.Values) map[string]any {
		res, err := s.Client().PostForm(s.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	dc := post("/device/code", url.Values{"client_id": {"app"}})
	code, _ := dc["device_code"].(string)
	if code == "" {
		t.Fatalf("device code answer %v", dc)
	}
	var tok string
	for i := 0; i < 3 && tok == ""; i++ {
		m := post("/token", url.Values{"grant_type": {"device_code"}, "code": {code}, "client_id": {"app"}})
		tok, _ = m["access_token"].(string)
	}
	if tok == "" {
		t.Fatal("no token after auto-approval")
	}
	mustStatus(t, callAuth(t, s, "GET", "/v1/disk", nil, nil, "OAuth "+tok), 200)
	s.OAuth.Revoke(tok)
	wantError(t, callAuth(t, s, "GET", "/v1/disk", nil, nil, "OAuth "+tok), 401, "UnauthorizedError")
}

// Concurrent clients under -race: parallel uploads, listings and moves keep the tree whole.
func TestConcurrentClients(t *testing.T) {
	s := NewServer(t, Options{Logf: func(string, ...any) {}})
	if err := s.Mkdir("/c"); err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan string, n*4)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := "/c/f" + strconv.Itoa(i)
			get := func(method, path string, q url.Values, body io.Reader) int {
				req, _ := http.NewRequest(method, s.URL+path+"?"+q.Encode(), body)
				req.Header.Set("Authorization", "OAuth "+s.Token())
				res, err := s.Client().Do(req)
				if err != nil {
					errs <- err.Error()
					return 0
				}
				defer res.Body.Close()
				if method == "GET" && path == "/v1/disk/resources/upload" {
					var m map[string]any
					_ = json.NewDecoder(res.Body).Decode(&m)
					put, _ := http.NewRequest("PUT", m["href"].(string), strings.NewReader(p))
					pr, err := s.Client().Do(put)
					if err != nil {
						errs <- err.Error()
						return 0
					}
					pr.Body.Close()
					return pr.StatusCode
				}
				return res.StatusCode
			}
			if c := get("GET", "/v1/disk/resources/upload", url.Values{"path": {p}}, nil); c != 201 {
				errs <- "upload " + strconv.Itoa(c)
			}
			if c := get("GET", "/v1/disk/resources", url.Values{"path": {"/c"}}, nil); c != 200 {
				errs <- "list " + strconv.Itoa(c)
			}
			if c := get("POST", "/v1/disk/resources/move", url.Values{"from": {p}, "path": {p + ".moved"}}, nil); c != 201 {
				errs <- "move " + strconv.Itoa(c)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if got := len(s.Snapshot()); got != n+1 {
		t.Errorf("%d resources, want %d", got, n+1)
	}
}
