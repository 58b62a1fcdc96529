package emulator

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// §1.2, §1.4: only "OAuth <token>" with a live token; everything else is the 401 of
// fixtures/error-401.json.
func TestAuthorization(t *testing.T) {
	s := NewServer(t)
	var fixture map[string]any
	if err := json.Unmarshal(readFixture(t, "error-401.json"), &fixture); err != nil {
		t.Fatal(err)
	}
	access, _ := s.OAuth.IssueToken(time.Hour)
	revoked, _ := s.OAuth.IssueToken(time.Hour)
	s.OAuth.Revoke(revoked)
	for _, tc := range []struct {
		name, auth string
		ok         bool
	}{
		{"no header", "", false},
		{"garbage", "OAuth asdasdasd", false},
		{"bearer scheme (§1.2)", "Bearer " + s.Token(), false},
		{"lower-case scheme", "oauth " + s.Token(), false},
		{"revoked", "OAuth " + revoked, false},
		{"static token", "OAuth " + s.Token(), true},
		{"issued token", "OAuth " + access, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := callAuth(t, s, "GET", "/v1/disk/operations/0000", q("fields", "status"), nil, tc.auth)
			if tc.ok {
				wantError(t, r, 404, "DiskOperationNotFoundError")
				return
			}
			m := wantError(t, r, 401, "UnauthorizedError")
			for k, v := range fixture {
				if m[k] != v {
					t.Errorf("%s = %v, fixture %v", k, m[k], v)
				}
			}
		})
	}
}

// §1.5, §9.15: the key order of error bodies varies between responses.
func TestErrorKeyOrderVaries(t *testing.T) {
	s := NewServer(t)
	orders := map[string]bool{}
	for range 4 {
		r := call(t, s, "GET", "/v1/disk/resources", q("path", "disk:/missing"), nil)
		wantError(t, r, 404, "DiskNotFoundError")
		body := string(r.body)
		orders[body[:strings.Index(body, ":")]] = true
	}
	if len(orders) != 2 {
		t.Errorf("error bodies used key orders %v, want both {message,…} and {error,…}", orders)
	}
}

// §2.1: Disk info shape, trailing slash (§9.21), fields, and a revision that rises on every
// change (§10).
func TestDiskInfo(t *testing.T) {
	s := NewServer(t)
	r := call(t, s, "GET", "/v1/disk", nil, nil)
	wantOKJSON(t, r, 200)
	checkShape(t, r.body, "disk-info.json")
	if !strings.Contains(string(r.body), `"downloads":"disk:/Загрузки/"`) {
		t.Errorf("non-ASCII text must be raw UTF-8 (§1.5): %s", r.body)
	}
	r2 := call(t, s, "GET", "/v1/disk/", q("fields", ""), nil)
	checkShape(t, r2.body, "disk-info.json")

	rev := func() int64 {
		m := wantOKJSON(t, call(t, s, "GET", "/v1/disk", q("fields", "revision"), nil), 200)
		if len(m) != 1 {
			t.Fatalf("fields=revision gave %v", m)
		}
		return int64(m["revision"].(float64))
	}
	r0 := rev()
	if n := len(strconv.FormatInt(r0, 10)); n != 16 {
		t.Errorf("revision %d has %d digits, want 16 (microseconds)", r0, n)
	}
	mustStatus(t, call(t, s, "PUT", "/v1/disk/resources", q("path", "disk:/a"), nil), 201)
	r1 := rev()
	upload(t, s, "disk:/a/f.txt", "x")
	r2v := rev()
	if !(r0 < r1 && r1 < r2v) {
		t.Errorf("revisions %d, %d, %d do not rise on every change", r0, r1, r2v)
	}
	if r2v != s.Revision() {
		t.Errorf("Revision() %d, API %d", s.Revision(), r2v)
	}
	if rev() != r2v {
		t.Error("a read changed the revision")
	}
}

// §2.2: resource objects have the keys of the recorded ones; times are whole seconds +00:00.
func TestResourceShapes(t *testing.T) {
	s := NewServer(t)
	upload(t, s, "disk:/uploaded_from_url.txt", "hello from the url")
	r := call(t, s, "GET", "/v1/disk/resources", q("path", "disk:/uploaded_from_url.txt"), nil)
	m := wantOKJSON(t, r, 200)
	checkShape(t, r.body, "resource-file.json")
	if m["mime_type"] != "text/plain" || m["media_type"] != "document" {
		t.Errorf("types %v %v, want text/plain document (§9.7)", m["mime_type"], m["media_type"])
	}
	if m["md5"] != "7ed4ad2e2e8b77f1e53ce5fb4c1b0b6f" && len(m["md5"].(string)) != 32 {
		t.Errorf("md5 %v", m["md5"])
	}
	timeRE := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$`)
	for _, k := range []string{"created", "modified"} {
		if !timeRE.MatchString(m[k].(string)) {
			t.Errorf("%s = %v, want 2024-07-10T16:47:49+00:00 format", k, m[k])
		}
	}
	if !regexp.MustCompile(`^\d+:[0-9a-f]{64}$`).MatchString(m["resource_id"].(string)) {
		t.Errorf("resource_id %v, want <uid>:<64 hex>", m["resource_id"])
	}

	mustStatus(t, call(t, s, "PUT", "/v1/disk/resources", q("path", "disk:/test_get_meta"), nil), 201)
	r = call(t, s, "GET", "/v1/disk/resources", q("path", "disk:/test_get_meta"), nil)
	checkShape(t, r.body, "resource-folder-empty.json")

	for _, p := range []string{"/d", "/d/nested directory 1", "/d/nested directory 2"} {
		mustStatus(t, call(t, s, "PUT", "/v1/disk/resources", q("path", p), nil), 201)
	}
	upload(t, s, "/d/file.txt", "hello world!")
	r = call(t, s, "GET", "/v1/disk/resources", q("path", "disk:/d"), nil)
	checkShape(t, r.body, "resource-folder.json", "preview", "sizes")
}

// §2.3: folders first whatever the sort, default page 20, paging, limit=0, sort echo, 404.
func TestListing(t *testing.T) {
	s := NewServer(t)
	for i := range 25 {
		if err := s.PutFile("disk:/L/f"+strconv.Itoa(100+i)+".txt", []byte(strings.Repeat("x", i))); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"zdir", "adir"} {
		if err := s.Mkdir("disk:/L/" + d); err != nil {
			t.Fatal(err)
		}
	}
	m := getResource(t, s, "disk:/L")
	emb := m["_embedded"].(map[string]any)
	names := itemNames(m)
	if len(names) != 20 || emb["limit"].(float64) != 20 || emb["total"].(float64) != 27 || emb["sort"] != "" {
		t.Fatalf("default page: %d items, _embedded %v", len(names), emb["limit"])
	}
	if names[0] != "adir" || names[1] != "zdir" || names[2] != "f100.txt" {
		t.Errorf("order %v, want folders first then files by name", names[:3])
	}
	m = getResource(t, s, "disk:/L", "sort", "-size", "limit", "3")
	if got := itemNames(m); got[0] != "adir" || got[1] != "zdir" || got[2] != "f124.txt" {
		t.Errorf("sort=-size gave %v, want folders first, then the largest file", got)
	}
	if m["_embedded"].(map[string]any)["sort"] != "-size" {
		t.Errorf("sort not echoed")
	}
	// Paging with offset += len(items) visits every child once.
	seen := map[string]bool{}
	for off := 0; off < 27; off += 4 {
		for _, n := range itemNames(getResource(t, s, "disk:/L", "limit", "4", "offset", strconv.Itoa(off))) {
			if seen[n] {
				t.Errorf("%s listed twice", n)
			}
			seen[n] = true
		}
	}
	if len(seen) != 27 {
		t.Errorf("paging saw %d children, want 27", len(seen))
	}
	m = getResource(t, s, "disk:/L", "limit", "0")
	if len(itemNames(m)) != 0 || m["_embedded"].(map[string]any)["total"].(float64) != 27 {
		t.Errorf("limit=0 must give no items and the total")
	}
	wantError(t, call(t, s, "GET", "/v1/disk/resources", q("path", "disk:/L", "limit", "-1"), nil), 400, "FieldValidationError")
	wantError(t, call(t, s, "GET", "/v1/disk/resources", q("path", "disk:/L", "sort", "colour"), nil), 400, "FieldValidationError")
	r := call(t, s, "GET", "/v1/disk/resources", q("path", "disk:/nope", "fields", "type"), nil)
	checkShape(t, r.body, "error-404.json")
	wantError(t, r, 404, "DiskNotFoundError")
}

// §2.3, §9.14: fields narrowing over the JSON tree.
func TestFieldsFilter(t *testing.T) {
	s := NewServer(t)
	if err := s.PutFile("/F/a.txt", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := s.Mkdir("/F/sub"); err != nil {
		t.Fatal(err)
	}
	r := call(t, s, "GET", "/v1/disk/resources", q("path", "/F", "fields", "type"), nil)
	if string(r.body) != `{"type":"dir"}` {
		t.Errorf("fields=type gave %s", r.body)
	}
	m := getResource(t, s, "/F", "fields", "type,_embedded,_embedded.offset,_embedded.limit,_embedded.total,_embedded.items")
	emb := m["_embedded"].(map[string]any)
	if _, ok := emb["sort"]; ok {
		t.Errorf("_embedded.sort kept although only sub-keys were named: %v", emb)
	}
	if _, ok := emb["path"]; ok || emb["total"] == nil || len(emb["items"].([]any)) != 2 {
		t.Errorf("_embedded narrowed wrongly: %v", emb)
	}
	if it := emb["items"].([]any)[1].(map[string]any); it["md5"] == nil {
		t.Errorf("items named without sub-keys must be whole: %v", it)
	}
	m = getResource(t, s, "/F", "fields", "_embedded.items.name,_embedded.items.type")
	for _, it := range m["_embedded"].(map[string]any)["items"].([]any) {
		if len(it.(map[string]any)) != 2 {
			t.Errorf("item not narrowed to name,type: %v", it)
		}
	}
	r = call(t, s, "GET", "/v1/disk/resources/files", q("fields", "items.type"), nil)
	if string(r.body) != `{"items":[{"type":"file"}]}` {
		t.Errorf("list fields relative to the list object: %s", r.body)
	}
	r = call(t, s, "GET", "/v1/disk/resources/upload", q("path", "/F/b.txt", "fields", "href"), nil)
	if m := wantOKJSON(t, r, 200); len(m) != 1 || m["href"] == nil {
		t.Errorf("fields=href on a link gave %s", r.body)
	}
}

// §7: schemes, scheme-less paths, ':' without a scheme, limits, trailing slash, case, bytes.
func TestPaths(t *testing.T) {
	s := NewServer(t)
	mustStatus(t, call(t, s, "PUT", "/v1/disk/resources", q("path", "folderName"), nil), 201)
	if _, ok := s.Stat("disk:/folderName"); !ok {
		t.Error("path=folderName must create disk:/folderName")
	}
	m := getResource(t, s, "/folderName/")
	if m["path"] != "disk:/folderName" {
		t.Errorf("trailing slash: path %v", m["path"])
	}
	wantError(t, call(t, s, "PUT", "/v1/disk/resources", q("path", "a:b"), nil), 400, "FieldValidationError")
	mustStatus(t, call(t, s, "PUT", "/v1/disk/resources", q("path", "disk:/a:b"), nil), 201)
	// Case-sensitive, byte-exact names.
	mustStatus(t, call(t, s, "PUT", "/v1/disk/resources", q("path", "disk:/Case"), nil), 201)
	mustStatus(t, call(t, s, "PUT", "/v1/disk/resources", q("path", "disk:/case"), nil), 201)
	nfd := "disk:/Cafe\u0301"
	nfc := "disk:/Caf\u00e9"
	mustStatus(t, call(t, s, "PUT", "/v1/disk/resources", q("path", nfd), nil), 201)
	mustStatus(t, call(t, s, "PUT", "/v1/disk/resources", q("path", nfc), nil), 201)
	if m := getResource(t, s, nfd); m["path"] != nfd {
		t.Errorf("NFD name not kept byte-exact: %q", m["path"])
	}
	long := strings.Repeat("я", 255)
	mustStatus(t, call(t, s, "PUT", "/v1/disk/resources", q("path", "disk:/"+long), nil), 201)
	wantError(t, call(t, s, "PUT", "/v1/disk/resources", q("path", "disk:/"+long+"я"), nil), 400, "FieldValidationError")
	deep := "disk:" + strings.Repeat("/abcdefghijklmnop", 32760/17+1)
	wantError(t, call(t, s, "GET", "/v1/disk/resources", q("path", deep), nil), 400, "FieldValidationError")
	for _, bad := range []string{"disk:/a/../b", "disk:/x\x01y", "disk:/x\x7fy"} {
		wantError(t, call(t, s, "GET", "/v1/disk/resources", q("path", bad), nil), 400, "FieldValidationError")
	}
	// app:/ is the app folder, created on first use; responses show disk:/ paths (§5.7).
	mustStatus(t, call(t, s, "PUT", "/v1/disk/resources", q("path", "app:/x"), nil), 201)
	if m := getResource(t, s, "app:/x"); m["path"] != "disk:/Приложения/yasyncd/x" {
		t.Errorf("app:/x is %v", m["path"])
	}
	m = getResource(t, s, "disk:/")
	if m["name"] != "disk" || m["path"] != "disk:/" {
		t.Errorf("root: name %v path %v", m["name"], m["path"])
	}
}

// §1.6, §9.11: Link hrefs are form-encoded, spaces as '+', on the emulator's own origin.
func TestLinkHrefs(t *testing.T) {
	s := NewServer(t)
	r := call(t, s, "PUT", "/v1/disk/resources", q("path", "disk:/nested directory 1"), nil)
	m := wantOKJSON(t, r, 201)
	checkShape(t, r.body, "link-created.json")
	href := m["href"].(string)
	if want := s.URL + "/v1/disk/resources?path=disk%3A%2Fnested+directory+1"; href != want {
		t.Errorf("href %s, want %s", href, want)
	}
	if m["method"] != "GET" || m["templated"] != false {
		t.Errorf("link %v", m)
	}
	u, _ := url.Parse(href)
	if got := getResource(t, s, u.Query().Get("path")); got["name"] != "nested directory 1" {
		t.Errorf("following the href found %v", got["name"])
	}
}

// §2.4: every file, no total, no folders; paging until a short page covers all.
func TestFilesList(t *testing.T) {
	s := NewServer(t)
	want := map[string]bool{}
	for i := range 7 {
		p := "disk:/d" + strconv.Itoa(i%3) + "/f" + strconv.Itoa(i) + ".bin"
		want[p] = true
		if err := s.PutFile(p, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Mkdir("disk:/empty"); err != nil {
		t.Fatal(err)
	}
	r := call(t, s, "GET", "/v1/disk/resources/files", q("limit", "3"), nil)
	m := wantOKJSON(t, r, 200)
	checkShape(t, r.body, "files-list.json")
	if _, ok := m["total"]; ok {
		t.Error("/resources/files must not carry total")
	}
	got := map[string]bool{}
	for off := 0; ; off += 3 {
		m := wantOKJSON(t, call(t, s, "GET", "/v1/disk/resources/files",
			q("limit", "3", "offset", strconv.Itoa(off), "fields", "items.path,items.md5,items.size"), nil), 200)
		items := m["items"].([]any)
		for _, it := range items {
			got[it.(map[string]any)["path"].(string)] = true
		}
		if len(items) < 3 {
			break
		}
	}
	if len(got) != len(want) {
		t.Errorf("files listed %v, want %v", got, want)
	}
	m = wantOKJSON(t, call(t, s, "GET", "/v1/disk/resources/files", q("media_type", "image"), nil), 200)
	if n := len(m["items"].([]any)); n != 0 {
		t.Errorf("media_type=image listed %d .bin files", n)
	}
}

// §2.5: newest upload first, keys items and limit only.
func TestLastUploaded(t *testing.T) {
	s := NewServer(t)
	for _, n := range []string{"first.txt", "second.txt", "third.txt", "fourth.txt"} {
		upload(t, s, "disk:/"+n, n)
	}
	r := call(t, s, "GET", "/v1/disk/resources/last-uploaded", q("limit", "3"), nil)
	wantOKJSON(t, r, 200)
	checkShape(t, r.body, "last-uploaded.json")
	m := r.json(t)
	if got := strings.Join(itemNames(m), ","); got != "fourth.txt,third.txt,second.txt" {
		t.Errorf("order %s", got)
	}
}

// The emulator must fail loudly on an endpoint it does not model.
func TestUnknownEndpointFailsTest(t *testing.T) {
	rec := &recordingTB{TB: t}
	s := NewServer(rec)
	r := call(t, s, "GET", "/v1/disk/resources/public", nil, nil)
	wantError(t, r, 501, "NotImplementedError")
	r = call(t, s, "POST", "/v1/disk/resources", nil, nil)
	mustStatus(t, r, 501)
	if rec.errors() != 2 {
		t.Errorf("t.Errorf called %d times, want 2", rec.errors())
	}
}

// recordingTB captures Errorf instead of failing the test.
type recordingTB struct {
	testing.TB
	mu sync.Mutex
	n  int
}

func (r *recordingTB) Errorf(string, ...any) {
	r.mu.Lock()
	r.n++
	r.mu.Unlock()
}

func (r *recordingTB) errors() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}
