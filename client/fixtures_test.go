package client

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func decodeFixture(t *testing.T, name string, v any) {
	t.Helper()
	if err := json.Unmarshal(readFixture(t, name), v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// Every fixture is a real body (API document, fixtures/README.md); these tests pin what
// the types make of them.
func TestFixtureDiskInfo(t *testing.T) {
	var d Disk
	decodeFixture(t, "disk-info.json", &d)
	if d.MaxFileSize != 1073741824 || d.PaidMaxFileSize != 53687091200 || d.TotalSpace != 45097156608 ||
		d.UsedSpace != 39919981903 || d.Revision != 1720559553795154 || d.IsPaid {
		t.Errorf("disk info: %+v", d)
	}
	if d.User == nil || d.User.Login != "ivknv" || d.User.UID != "455675172" || d.User.Country != "ru" {
		t.Errorf("user: %+v", d.User)
	}
	if d.SystemFolders["downloads"] != "disk:/Загрузки/" || d.RegTime != "2017-01-14T15:41:23+00:00" {
		t.Errorf("system folders: %v, reg_time %q", d.SystemFolders, d.RegTime)
	}

	var docs Disk
	decodeFixture(t, "disk-info-docs.json", &docs)
	if docs.TrashSize != 4631577437 || docs.TotalSpace != 319975063552 || docs.UsedSpace != 26157681270 ||
		docs.SystemFolders["applications"] != "disk:/Applications" || docs.MaxFileSize != 0 || docs.User != nil {
		t.Errorf("docs disk info: %+v", docs)
	}
}

func TestFixtureResourceFile(t *testing.T) {
	var r Resource
	decodeFixture(t, "resource-file.json", &r)
	want := time.Date(2024, 7, 7, 17, 54, 16, 0, time.UTC)
	if r.Type != TypeFile || r.IsDir() || r.Name != "uploaded_from_url.txt" ||
		r.Path != "disk:/YaDiskTest/test_upload_url/uploaded_from_url.txt" || r.Size != 18 ||
		r.MD5 != "891bcd3700619af5151bf95b836ff9b1" ||
		r.SHA256 != "c4fa968a745586faaa030054f51fb1cafd5e9ae25fa6b137ac6477715fdc81b1" ||
		r.Revision != 1720374857125196 || !r.Created.Equal(want) || !r.Modified.Equal(want) ||
		r.MimeType != "text/plain" || r.MediaType != "document" || r.Embedded != nil || r.File == "" {
		t.Errorf("file: %+v", r)
	}
	if r.ResourceID != "455675172:f8960c1ec71c002de859f5ee35d76c0627b69db064293f0f2cb2140920c113f2" {
		t.Errorf("resource_id %q", r.ResourceID)
	}
}

func TestFixtureFolders(t *testing.T) {
	var r Resource
	decodeFixture(t, "resource-folder.json", &r)
	if !r.IsDir() || r.Embedded == nil {
		t.Fatalf("folder: %+v", r)
	}
	e := r.Embedded
	if len(e.Items) != 3 || e.Total != 3 || e.Sort != "" {
		t.Fatalf("embedded: %+v", e)
	}
	// Folders first, whatever the sort (§2.3).
	if !e.Items[0].IsDir() || !e.Items[1].IsDir() || e.Items[2].Type != TypeFile {
		t.Errorf("order: %s %s %s", e.Items[0].Type, e.Items[1].Type, e.Items[2].Type)
	}
	if e.Items[0].Path != "disk:/YaDiskTest/test_copy/directory_copy/nested directory 1" || e.Items[2].Size != 12 {
		t.Errorf("items: %+v", e.Items)
	}

	var empty Resource
	decodeFixture(t, "resource-folder-empty.json", &empty)
	if !empty.IsDir() || empty.Embedded == nil || len(empty.Embedded.Items) != 0 || empty.Embedded.Limit != 20 ||
		empty.Embedded.Total != 0 || empty.Embedded.Path != "disk:/YaDiskTest/test_get_meta" || empty.Revision != 1720630069194884 {
		t.Errorf("empty folder: %+v %+v", empty, empty.Embedded)
	}
}

func TestFixturePatched(t *testing.T) {
	var r Resource
	decodeFixture(t, "resource-patched.json", &r)
	if r.CustomProperties["test_property"] != "I'm a value!" || r.CustomProperties["number"] != float64(42) {
		t.Errorf("custom properties: %#v", r.CustomProperties)
	}
	var cleared Resource
	decodeFixture(t, "resource-patched-cleared.json", &cleared)
	if cleared.CustomProperties != nil || cleared.Revision <= r.Revision || !cleared.Modified.After(r.Modified) {
		t.Errorf("cleared: %+v", cleared)
	}
}

func TestFixtureLists(t *testing.T) {
	var files ResourceList
	decodeFixture(t, "files-list.json", &files)
	if len(files.Items) != 3 || files.Limit != 3 || files.Offset != 0 || files.Total != 0 {
		t.Errorf("files list: %d items, %+v", len(files.Items), files)
	}
	for _, it := range files.Items {
		if it.Type != TypeFile || it.MD5 == "" || it.SHA256 == "" || it.Path == "" || it.Revision == 0 {
			t.Errorf("file item: %+v", it)
		}
	}
	var last ResourceList
	decodeFixture(t, "last-uploaded.json", &last)
	if len(last.Items) != 3 || last.Limit != 3 || last.Items[0].Name != "third.txt" {
		t.Errorf("last uploaded: %+v", last)
	}
	var trash Resource
	decodeFixture(t, "trash-list.json", &trash)
	if trash.Embedded == nil || trash.Embedded.Total != 1 || len(trash.Embedded.Items) != 1 {
		t.Fatalf("trash: %+v", trash)
	}
	it := trash.Embedded.Items[0]
	if it.Name != "dir-to-remove" || it.OriginPath != "disk:/YaDiskTest/test_remove_trash/dir-to-remove" ||
		!it.Deleted.Equal(time.Date(2024, 7, 6, 19, 23, 9, 0, time.UTC)) ||
		it.Path != "trash:/dir-to-remove_2af88686871a181a6787b74067a6ae93ab90519d" {
		t.Errorf("trash item: %+v", it)
	}
}

func TestFixtureLinks(t *testing.T) {
	var up Link
	decodeFixture(t, "upload-link.json", &up)
	if up.Method != "PUT" || up.Templated || len(up.OperationID) != 64 || up.Href == "" {
		t.Errorf("upload link: %+v", up)
	}
	for _, name := range []string{"download-link.json", "link-created.json", "link-operation.json"} {
		var l Link
		decodeFixture(t, name, &l)
		if l.Method != "GET" || l.Href == "" || l.OperationID != "" {
			t.Errorf("%s: %+v", name, l)
		}
	}
	var op, running Operation
	decodeFixture(t, "operation.json", &op)
	decodeFixture(t, "operation-in-progress.json", &running)
	if op.Status != OpSuccess || running.Status != OpInProgress {
		t.Errorf("operations: %q %q", op.Status, running.Status)
	}
}

func TestFixtureErrors(t *testing.T) {
	for _, tc := range []struct {
		file   string
		status int
		code   string
		is     error
	}{
		{"error-401.json", 401, "UnauthorizedError", ErrUnauthorized},
		{"error-403-password.json", 403, "DiskSymlinkPasswordRequiredError", ErrForbidden},
		{"error-404.json", 404, "DiskNotFoundError", ErrNotFound},
		{"error-404-operation.json", 404, "DiskOperationNotFoundError", ErrNotFound},
		{"error-409.json", 409, "DiskPathDoesntExistsError", ErrParentMissing},
		{"error-409-dir-exists.json", 409, "DiskPathPointsToExistentDirectoryError", ErrAlreadyExists},
	} {
		resp := &http.Response{StatusCode: tc.status, Header: http.Header{}}
		e := decodeError(resp, readFixture(t, tc.file))
		if e.Status != tc.status || e.Code != tc.code || e.Description == "" || e.Message == "" {
			t.Errorf("%s: %+v", tc.file, e)
		}
		if !errors.Is(e, tc.is) {
			t.Errorf("%s: not %v", tc.file, tc.is)
		}
	}
}
