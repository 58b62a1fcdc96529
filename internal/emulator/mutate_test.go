package emulator

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// §5.1: mkdir answers 201 Link, and the three 409s with the path echoed as sent.
func TestMkdir(t *testing.T) {
	s := NewServer(t)
	mustStatus(t, call(t, s, "PUT", "/v1/disk/resources", q("path", "disk:/p1"), nil), 201)
	r := call(t, s, "PUT", "/v1/disk/resources", q("path", "disk:/p1"), nil)
	checkShape(t, r.body, "error-409-dir-exists.json")
	m := wantError(t, r, 409, "DiskPathPointsToExistentDirectoryError")
	if m["description"] != `Specified path "disk:/p1" points to existent directory.` {
		t.Errorf("description %v", m["description"])
	}
	r = call(t, s, "PUT", "/v1/disk/resources", q("path", "p1/p2/p3"), nil)
	checkShape(t, r.body, "error-409.json")
	m = wantError(t, r, 409, "DiskPathDoesntExistsError")
	if m["description"] != `Specified path "p1/p2/p3" doesn't exists.` || !strings.Contains(m["message"].(string), "не существует") {
		t.Errorf("409 must echo the path as sent: %v", m)
	}
	if err := s.PutFile("/p1/file", []byte("x")); err != nil {
		t.Fatal(err)
	}
	wantError(t, call(t, s, "PUT", "/v1/disk/resources", q("path", "/p1/file"), nil), 409, "DiskResourceAlreadyExistsError")
	wantError(t, call(t, s, "PUT", "/v1/disk/resources", q("path", "/p1/file/sub"), nil), 409, "DiskPathDoesntExistsError")
}

// §5.2: file copy 201 keeping md5/sha256/size/custom_properties (§9.21); move keeps
// resource_id; 409/404 cases; no moving a folder into itself.
func TestCopyMoveFiles(t *testing.T) {
	s := NewServer(t)
	if err := s.PutFile("/src/a.txt", []byte("alpha")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetProperty("/src/a.txt", "rclone_modified", "2024-01-02T03:04:05.123456789Z"); err != nil {
		t.Fatal(err)
	}
	if err := s.Mkdir("/dst"); err != nil {
		t.Fatal(err)
	}
	orig := getResource(t, s, "/src/a.txt")
	r := call(t, s, "POST", "/v1/disk/resources/copy", q("from", "/src/a.txt", "path", "/dst/a.txt"), nil)
	m := wantOKJSON(t, r, 201)
	if !strings.Contains(m["href"].(string), "path=disk%3A%2Fdst%2Fa.txt") {
		t.Errorf("copy link %v", m["href"])
	}
	cp := getResource(t, s, "/dst/a.txt")
	for _, k := range []string{"md5", "sha256", "size"} {
		if cp[k] != orig[k] {
			t.Errorf("copy changed %s", k)
		}
	}
	if cp["resource_id"] == orig["resource_id"] {
		t.Error("a copy must be a new resource")
	}
	if p, _ := cp["custom_properties"].(map[string]any); p["rclone_modified"] != "2024-01-02T03:04:05.123456789Z" {
		t.Errorf("copy lost custom_properties: %v", cp["custom_properties"])
	}
	r = call(t, s, "POST", "/v1/disk/resources/copy", q("from", "/src/a.txt", "path", "dst/a.txt"), nil)
	m = wantError(t, r, 409, "DiskResourceAlreadyExistsError")
	if m["description"] != `Resource "dst/a.txt" already exists.` {
		t.Errorf("description %v", m["description"])
	}
	wantError(t, call(t, s, "POST", "/v1/disk/resources/copy", q("from", "/src/a.txt", "path", "/nodir/a.txt"), nil), 409, "DiskPathDoesntExistsError")
	wantError(t, call(t, s, "POST", "/v1/disk/resources/move", q("from", "/src/missing", "path", "/dst/x"), nil), 404, "DiskNotFoundError")

	// Rename = move within a folder; overwrite replaces.
	r = call(t, s, "POST", "/v1/disk/resources/move", q("from", "/src/a.txt", "path", "/dst/a.txt", "overwrite", "true"), nil)
	mustStatus(t, r, 201)
	mv := getResource(t, s, "/dst/a.txt")
	if mv["resource_id"] != orig["resource_id"] || mv["md5"] != orig["md5"] {
		t.Errorf("move must keep resource_id and md5: %v", mv)
	}
	if _, ok := s.Stat("/src/a.txt"); ok {
		t.Error("moved source still there")
	}
	if mv["revision"].(float64) <= orig["revision"].(float64) {
		t.Error("move must give the resource a new revision")
	}

	if err := s.Mkdir("/tree/sub"); err != nil {
		t.Fatal(err)
	}
	wantError(t, call(t, s, "POST", "/v1/disk/resources/move", q("from", "/tree", "path", "/tree/sub/tree"), nil), 400, "FieldValidationError")
	wantError(t, call(t, s, "POST", "/v1/disk/resources/copy", q("from", "/tree", "path", "/tree"), nil), 409, "DiskResourceAlreadyExistsError")

	// §9.9: force_async turns even a single-file copy into 202.
	r = call(t, s, "POST", "/v1/disk/resources/copy", q("from", "/dst/a.txt", "path", "/dst/b.txt", "force_async", "true"), nil)
	m = wantOKJSON(t, r, 202)
	checkShape(t, r.body, "link-operation.json")
	if st := waitOperation(t, s, m["href"].(string)); st != "success" {
		t.Errorf("copy operation: %s", st)
	}
	if _, ok := s.Stat("/dst/b.txt"); !ok {
		t.Error("force_async copy did not happen")
	}
}

// §5.2, §5.5, §9.8, §9.9: a non-empty folder copies asynchronously; while the operation
// runs it reports in-progress, the destination does not exist yet, and writes to the source
// or destination answer 423.
func TestAsyncFolderCopyLocks(t *testing.T) {
	c := newClock()
	s := NewServer(t, Options{Now: c.Now, OperationDelay: 2 * time.Second})
	for _, p := range []string{"/dir/nested directory 1/x.txt", "/dir/file.txt"} {
		if err := s.PutFile(p, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	r := call(t, s, "POST", "/v1/disk/resources/copy", q("from", "/dir", "path", "/dir copy"), nil)
	m := wantOKJSON(t, r, 202)
	href := m["href"].(string)
	if !regexp.MustCompile(`/v1/disk/operations/[0-9a-f]{64}$`).MatchString(href) {
		t.Errorf("operation href %s", href)
	}
	r = call(t, s, "GET", href, q("fields", "status"), nil)
	wantOKJSON(t, r, 200)
	checkShape(t, r.body, "operation-in-progress.json")
	if string(r.body) != `{"status":"in-progress"}` {
		t.Errorf("in progress: %s", r.body)
	}
	wantError(t, call(t, s, "GET", "/v1/disk/resources", q("path", "/dir copy"), nil), 404, "DiskNotFoundError")
	wantError(t, call(t, s, "PUT", "/v1/disk/resources", q("path", "/dir copy"), nil), 423, "DiskResourceLockedError")
	wantError(t, call(t, s, "GET", "/v1/disk/resources/upload", q("path", "/dir/new.txt"), nil), 423, "DiskResourceLockedError")
	wantError(t, call(t, s, "DELETE", "/v1/disk/resources", q("path", "/dir/file.txt"), nil), 423, "DiskResourceLockedError")
	getResource(t, s, "/dir") // reads are not locked
	c.Add(2 * time.Second)
	r = call(t, s, "GET", href, nil, nil)
	checkShape(t, r.body, "operation.json")
	if m := r.json(t); m["status"] != "success" {
		t.Errorf("status %v", m["status"])
	}
	if names := itemNames(getResource(t, s, "/dir copy")); strings.Join(names, ",") != "nested directory 1,file.txt" {
		t.Errorf("copied folder holds %v", names)
	}
	mustStatus(t, call(t, s, "PUT", "/v1/disk/resources", q("path", "/dir/now-free"), nil), 201)
	// Moving an empty folder is synchronous (§5.2).
	mustStatus(t, call(t, s, "POST", "/v1/disk/resources/move", q("from", "/dir/now-free", "path", "/moved"), nil), 201)
}

// §5.3: 204 with an empty body for a file, 202 for a non-empty folder, md5 check, trash
// accounting (used_space includes the trash).
func TestDelete(t *testing.T) {
	s := NewServer(t)
	if err := s.PutFile("/f.txt", []byte("12345")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutFile("/d/g.txt", []byte("678")); err != nil {
		t.Fatal(err)
	}
	wantError(t, call(t, s, "DELETE", "/v1/disk/resources", q("path", "/f.txt", "md5", "00000000000000000000000000000000"), nil), 409, "MD5DifferError")
	st, _ := s.Stat("/f.txt")
	r := call(t, s, "DELETE", "/v1/disk/resources", q("path", "/f.txt", "md5", st.MD5), nil)
	mustStatus(t, r, 204)
	// The service also sends Content-Length: 0; net/http drops it on a 204 as RFC 9110
	// §8.6 requires (listed in doc.go).
	if len(r.body) != 0 || r.header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("204: %q %v", r.body, r.header)
	}
	used, trash := s.Usage()
	if used != 8 || trash != 5 {
		t.Errorf("used %d trash %d, want 8 and 5 (trash counts, §5.3)", used, trash)
	}
	r = call(t, s, "DELETE", "/v1/disk/resources", q("path", "/d", "permanently", "true"), nil)
	m := wantOKJSON(t, r, 202)
	if st := waitOperation(t, s, m["href"].(string)); st != "success" {
		t.Errorf("delete operation %s", st)
	}
	if _, ok := s.Stat("/d"); ok {
		t.Error("folder still there")
	}
	if used, trash := s.Usage(); used != 5 || trash != 5 {
		t.Errorf("after permanent delete used %d trash %d", used, trash)
	}
	wantError(t, call(t, s, "DELETE", "/v1/disk/resources", q("path", "/d"), nil), 404, "DiskNotFoundError")
	mustStatus(t, call(t, s, "PUT", "/v1/disk/resources", q("path", "/e"), nil), 201)
	wantOKJSON(t, call(t, s, "DELETE", "/v1/disk/resources", q("path", "/e", "force_async", "true"), nil), 202)
}

// §2.6, §5.4: trash entries, listing, restore, deleting from and emptying the trash.
func TestTrash(t *testing.T) {
	s := NewServer(t)
	if err := s.PutFile("/test_remove_trash/dir-to-remove/x.txt", []byte("x")); err != nil {
		t.Fatal(err)
	}
	r := call(t, s, "DELETE", "/v1/disk/resources", q("path", "/test_remove_trash/dir-to-remove"), nil)
	waitOperation(t, s, wantOKJSON(t, r, 202)["href"].(string))
	r = call(t, s, "GET", "/v1/disk/trash/resources", q("path", "trash:/", "offset", "0", "limit", "500",
		"fields", "type,_embedded,_embedded.offset,_embedded.limit,_embedded.total,_embedded.items"), nil)
	wantOKJSON(t, r, 200)
	checkShape(t, r.body, "trash-list.json")
	m := r.json(t)
	item := m["_embedded"].(map[string]any)["items"].([]any)[0].(map[string]any)
	trashPath := item["path"].(string)
	if !regexp.MustCompile(`^trash:/dir-to-remove_[0-9a-f]{40}$`).MatchString(trashPath) || item["name"] != "dir-to-remove" ||
		item["origin_path"] != "disk:/test_remove_trash/dir-to-remove" {
		t.Errorf("trash item %v", item)
	}
	root := wantOKJSON(t, call(t, s, "GET", "/v1/disk/trash/resources", q("path", "/"), nil), 200)
	if root["path"] != "trash:/" || root["name"] != "trash" || root["origin_path"] != nil {
		t.Errorf("trash root %v", root)
	}
	if _, ok := root["origin_path"]; !ok {
		t.Error("trash root must carry origin_path: null")
	}
	inner := wantOKJSON(t, call(t, s, "GET", "/v1/disk/trash/resources", q("path", trashPath), nil), 200)
	if names := itemNames(inner); len(names) != 1 || names[0] != "x.txt" {
		t.Errorf("inside the trashed folder: %v", names)
	}
	// Nested trash entries cannot be restored on their own.
	wantError(t, call(t, s, "PUT", "/v1/disk/trash/resources/restore", q("path", trashPath+"/x.txt"), nil), 404, "DiskNotFoundError")
	// Restore a folder: 202 (non-empty), back at origin_path.
	r = call(t, s, "PUT", "/v1/disk/trash/resources/restore", q("path", trashPath), nil)
	waitOperation(t, s, wantOKJSON(t, r, 202)["href"].(string))
	if b, err := s.ReadFile("/test_remove_trash/dir-to-remove/x.txt"); err != nil || string(b) != "x" {
		t.Errorf("restored content %q %v", b, err)
	}
	// Restore onto a taken place: 409 unless overwrite; with name, elsewhere.
	if err := s.Remove("/test_remove_trash/dir-to-remove/x.txt"); err != nil {
		t.Fatal(err)
	}
	if err := s.PutFile("/test_remove_trash/dir-to-remove/x.txt", []byte("new")); err != nil {
		t.Fatal(err)
	}
	tp := s.Trash()[0].Path
	wantError(t, call(t, s, "PUT", "/v1/disk/trash/resources/restore", q("path", tp), nil), 409, "DiskResourceAlreadyExistsError")
	r = call(t, s, "PUT", "/v1/disk/trash/resources/restore", q("path", tp, "name", "x (old).txt"), nil)
	m = wantOKJSON(t, r, 201)
	if !strings.Contains(m["href"].(string), "x+%28old%29.txt") {
		t.Errorf("restore link %v", m["href"])
	}
	wantError(t, call(t, s, "PUT", "/v1/disk/trash/resources/restore", q("path", tp), nil), 404, "DiskNotFoundError")

	// Delete one trash item, then empty the trash.
	for _, p := range []string{"/t1.txt", "/t2.txt"} {
		if err := s.PutFile(p, []byte("t")); err != nil {
			t.Fatal(err)
		}
		if err := s.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	mustStatus(t, call(t, s, "DELETE", "/v1/disk/trash/resources", q("path", s.Trash()[0].Path), nil), 204)
	mustStatus(t, call(t, s, "DELETE", "/v1/disk/trash/resources", nil, nil), 204)
	if n := len(s.Trash()); n != 0 {
		t.Errorf("%d items left in the trash", n)
	}
	if _, trash := s.Usage(); trash != 0 {
		t.Errorf("trash_size %d after emptying", trash)
	}
}

// §5.5: unknown operations are exactly fixtures/error-404-operation.json; the ?id= form works.
func TestOperations(t *testing.T) {
	s := NewServer(t)
	var fixture map[string]any
	if err := json.Unmarshal(readFixture(t, "error-404-operation.json"), &fixture); err != nil {
		t.Fatal(err)
	}
	m := wantError(t, call(t, s, "GET", "/v1/disk/operations/0000", q("fields", "status"), nil), 404, "DiskOperationNotFoundError")
	for k, v := range fixture {
		if m[k] != v {
			t.Errorf("%s = %q, fixture %q", k, m[k], v)
		}
	}
	link := uploadLink(t, s, "/x")
	m = wantOKJSON(t, call(t, s, "GET", "/v1/disk/operations", q("id", link["operation_id"].(string)), nil), 200)
	if m["status"] != "in-progress" {
		t.Errorf("?id= form: %v", m)
	}
}

// §5.8: merge, null removes, all removed → null, numbers kept, 1024-character limit,
// revision bump, chunked body without Content-Type (§9.21).
func TestPatch(t *testing.T) {
	s := NewServer(t)
	mustStatus(t, call(t, s, "PUT", "/v1/disk/resources", q("path", "/test_patch"), nil), 201)
	before := getResource(t, s, "/test_patch")
	patch := func(body string) reply {
		t.Helper()
		// A reader of unknown length makes the client send it chunked.
		return call(t, s, "PATCH", "/v1/disk/resources", q("path", "/test_patch"), struct{ *strings.Reader }{strings.NewReader(body)})
	}
	r := patch(`{"custom_properties":{"test_property":"I'm a value!"}}`)
	wantOKJSON(t, r, 200)
	r = patch(`{"custom_properties":{"number":42},"ignored":true}`)
	m := wantOKJSON(t, r, 200)
	checkShape(t, r.body, "resource-patched.json")
	if !strings.Contains(string(r.body), `"custom_properties":{"test_property":"I'm a value!","number":42}`) {
		t.Errorf("merged properties: %s", r.body)
	}
	if m["revision"].(float64) <= before["revision"].(float64) {
		t.Error("PATCH must bump revision")
	}
	r = patch(`{"custom_properties":{"number":null,"test_property":null}}`)
	wantOKJSON(t, r, 200)
	checkShape(t, r.body, "resource-patched-cleared.json")
	if !strings.Contains(string(r.body), `"custom_properties":null`) {
		t.Errorf("cleared: %s", r.body)
	}
	wantError(t, patch(`{"custom_properties":{"k":"`+strings.Repeat("v", 1020)+`"}}`), 400, "FieldValidationError")
	wantError(t, patch(`{"custom_properties":{"k":{"nested":1}}}`), 400, "FieldValidationError")
	wantError(t, patch(`not json`), 400, "FieldValidationError")
	wantError(t, call(t, s, "PATCH", "/v1/disk/resources", q("path", "/nope"), strings.NewReader(`{"custom_properties":{}}`)), 404, "DiskNotFoundError")
}

// §9.1 (Options.FinalizeWindow): right after an upload PATCH alternately fails with 500 and
// reports success while dropping the change; after the window it sticks. Off by default.
func TestFinalizeWindow(t *testing.T) {
	c := newClock()
	s := NewServer(t, Options{Now: c.Now, FinalizeWindow: 3 * time.Second})
	upload(t, s, "/f.txt", "x")
	body := `{"custom_properties":{"rclone_modified":"2024-01-01T00:00:00Z"}}`
	wantError(t, call(t, s, "PATCH", "/v1/disk/resources", q("path", "/f.txt"), strings.NewReader(body)), 500, "InternalServerError")
	r := call(t, s, "PATCH", "/v1/disk/resources", q("path", "/f.txt"), strings.NewReader(body))
	if m := wantOKJSON(t, r, 200); m["custom_properties"] == nil {
		t.Error("the dropped PATCH must still report the property")
	}
	if m := getResource(t, s, "/f.txt"); m["custom_properties"] != nil {
		t.Error("the property set inside the window must be dropped")
	}
	c.Add(3 * time.Second)
	wantOKJSON(t, call(t, s, "PATCH", "/v1/disk/resources", q("path", "/f.txt"), strings.NewReader(body)), 200)
	if m := getResource(t, s, "/f.txt"); m["custom_properties"] == nil {
		t.Error("after the window the property must stick")
	}

	d := NewServer(t)
	upload(t, d, "/f.txt", "x")
	wantOKJSON(t, call(t, d, "PATCH", "/v1/disk/resources", q("path", "/f.txt"), strings.NewReader(body)), 200)
}

// §9.2 (Options.NotFoundAfterUpload): the file answers 404 for a while after its upload.
func TestNotFoundAfterUpload(t *testing.T) {
	c := newClock()
	s := NewServer(t, Options{Now: c.Now, NotFoundAfterUpload: 10 * time.Second})
	upload(t, s, "/big.bin", "x")
	wantError(t, call(t, s, "GET", "/v1/disk/resources", q("path", "/big.bin"), nil), 404, "DiskNotFoundError")
	wantError(t, call(t, s, "GET", "/v1/disk/resources/download", q("path", "/big.bin"), nil), 404, "DiskNotFoundError")
	c.Add(10 * time.Second)
	getResource(t, s, "/big.bin")
}

// §3.2 (Options.UploadAccepted): the PUT answers 202 and the file appears when the upload
// operation completes.
func TestUploadAccepted(t *testing.T) {
	c := newClock()
	s := NewServer(t, Options{Now: c.Now, UploadAccepted: true, OperationDelay: time.Second})
	link := uploadLink(t, s, "/a.txt")
	mustStatus(t, callAuth(t, s, "PUT", link["href"].(string), nil, strings.NewReader("abc"), ""), 202)
	id := link["operation_id"].(string)
	if st := opStatus(t, s, id); st != "in-progress" {
		t.Errorf("after 202: %s", st)
	}
	wantError(t, call(t, s, "GET", "/v1/disk/resources", q("path", "/a.txt"), nil), 404, "DiskNotFoundError")
	c.Add(time.Second)
	if st := opStatus(t, s, id); st != "success" {
		t.Errorf("later: %s", st)
	}
	if b, _ := s.ReadFile("/a.txt"); string(b) != "abc" {
		t.Errorf("content %q", b)
	}
}

// §5.5: an operation whose source another device removed before it completed ends failed,
// and changes nothing.
func TestOperationFails(t *testing.T) {
	c := newClock()
	s := NewServer(t, Options{Now: c.Now, OperationDelay: time.Second})
	if err := s.PutFile("/d/x.txt", []byte("x")); err != nil {
		t.Fatal(err)
	}
	m := wantOKJSON(t, call(t, s, "POST", "/v1/disk/resources/move", q("from", "/d", "path", "/e"), nil), 202)
	if err := s.RemovePermanently("/d"); err != nil { // seeding bypasses locks
		t.Fatal(err)
	}
	c.Add(time.Second)
	if st := waitOperation(t, s, m["href"].(string)); st != "failed" {
		t.Errorf("status %s, want failed", st)
	}
	if _, ok := s.Stat("/e"); ok {
		t.Error("a failed move created its destination")
	}
	if s.PendingOperations() != 0 {
		t.Error("operation still pending")
	}
}
