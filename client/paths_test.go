package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestAbsJoinRelParent(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "disk:/",
		"/":                "disk:/",
		"a/b":              "disk:/a/b",
		"/a/b":             "disk:/a/b",
		"a:b":              "disk:/a:b",
		"disk:/x":          "disk:/x",
		"trash:/x_1":       "trash:/x_1",
		"app:/cfg":         "app:/cfg",
		"/Загрузки/файл 1": "disk:/Загрузки/файл 1",
	} {
		if got := Abs(in); got != want {
			t.Errorf("Abs(%q) = %q, want %q", in, got, want)
		}
	}
	for _, tc := range [][3]string{
		{"disk:/Sync", "a/b.txt", "disk:/Sync/a/b.txt"},
		{"disk:/Sync/", "/a", "disk:/Sync/a"},
		{"disk:/", "a", "disk:/a"},
		{"/Sync", "", "disk:/Sync"},
		{"disk:/Sync", "a b/c#%?+'\".txt", "disk:/Sync/a b/c#%?+'\".txt"},
	} {
		if got := Join(tc[0], tc[1]); got != tc[2] {
			t.Errorf("Join(%q, %q) = %q, want %q", tc[0], tc[1], got, tc[2])
		}
	}
	for _, tc := range []struct {
		root, p, rel string
		ok           bool
	}{
		{"disk:/Sync", "disk:/Sync/a/b", "a/b", true},
		{"disk:/Sync", "disk:/Sync", "", true},
		{"disk:/Sync/", "disk:/Sync/a/", "a", true},
		{"disk:/Sync", "disk:/Synced/a", "", false},
		{"disk:/Sync", "disk:/other", "", false},
		{"disk:/", "disk:/a", "a", true},
	} {
		rel, ok := Rel(tc.root, tc.p)
		if rel != tc.rel || ok != tc.ok {
			t.Errorf("Rel(%q, %q) = %q, %v", tc.root, tc.p, rel, ok)
		}
	}
	for in, want := range map[string]string{
		"disk:/a/b":  "disk:/a",
		"disk:/a":    "disk:/",
		"disk:/a/b/": "disk:/a",
		"trash:/x":   "trash:/",
		"disk:/":     "",
		"trash:/":    "",
	} {
		got, ok := Parent(in)
		if got != want || ok != (want != "") {
			t.Errorf("Parent(%q) = %q, %v", in, got, ok)
		}
	}
	if !isRoot("disk:/") || !isRoot("") || isRoot("disk:/a") {
		t.Error("isRoot")
	}
}

// FuzzPathEncoding sends a name through a real request and checks that the server
// decodes the very same path: '+' must not become a space, '#' must not cut the query,
// '%' must not be decoded twice.
func FuzzPathEncoding(f *testing.F) {
	for _, s := range []string{
		`a b/c#%?+'".txt`, "plus+plus", "100%", "%2F", "a&b=c", "q?x=1", "Кириллица ё", "emoji 😀🎉",
		"semi;colon", "tab\tand\nnewline", "back\\slash", "a:b", "  spaces  ", "#", "+", "=", "%zz",
		"\xff\xfe invalid utf8",
	} {
		f.Add(s)
	}
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		got <- r.URL.Query().Get("path")
		apiError(rw, 404, "DiskNotFoundError")
	}))
	defer srv.Close()
	opts := testOptions(srv.URL)
	opts.MaxRetries = -1
	c, err := New(opts)
	if err != nil {
		f.Fatal(err)
	}
	defer c.Close()
	f.Fuzz(func(t *testing.T, name string) {
		p := Join("disk:/root", name)
		_, err := c.Stat(context.Background(), p)
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("stat %q: %v", p, err)
		}
		if s := <-got; s != p {
			t.Fatalf("server decoded %q, sent %q", s, p)
		}
	})
}
