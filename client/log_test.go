package client

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

const secretToken = "y0_SECRET-TOKEN-VALUE"

// oauthTransport stands in for the auth package's transport.
type oauthTransport struct{ base http.RoundTripper }

func (o oauthTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "OAuth "+secretToken)
	return o.base.RoundTrip(r)
}

// No log line and no error may carry the token or a signed transfer link.
func TestNoSecretsInLogsOrErrors(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	mod := func(o *Options) {
		o.Logger = zap.New(core)
		o.HTTPClient = &http.Client{Transport: oauthTransport{http.DefaultTransport}}
	}
	var errs []error

	// Upload whose first PUT is cut after the body arrived, so a transport error is logged.
	f := &fakeUploads{t: t, files: map[string][]byte{}, used: map[int]bool{}, ops: map[string]string{}}
	f.onPut = func(n int, rw http.ResponseWriter, body []byte) bool {
		if n == 1 {
			cutConnection(t, rw)
			return true
		}
		return false
	}
	c, srv, _ := newTestClient(t, f, mod)
	f.url = srv.URL
	if _, err := c.Upload(context.Background(), "disk:/up.bin", bytes.NewReader(payload), int64(len(payload)), UploadOptions{}); err != nil {
		t.Fatal(err)
	}

	// Download cut once and resumed.
	d := &fakeDownloads{t: t, data: dlData}
	d.serve = func(n, gen int, rw http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			cutAfter(rw, r, dlData, 1000)
			return true
		}
		return false
	}
	c2, srv2, _ := newTestClient(t, d, mod)
	d.url = srv2.URL
	var buf bytes.Buffer
	if _, err := c2.Download(context.Background(), "disk:/f.bin", &buf); err != nil {
		t.Fatal(err)
	}

	// A download link to a dead host, and an upload link to one: the errors must not
	// repeat the links.
	for _, tc := range []struct{ path, body string }{
		{"/v1/disk/resources/download", `{"href":"http://127.0.0.1:1/dl/SIGNED-DL-SIGNATURE?x=1","method":"GET"}`},
		{"/v1/disk/resources/upload", `{"href":"http://127.0.0.1:1/up/SIGNED-UP-SIGNATURE","method":"PUT","operation_id":"o"}`},
	} {
		c3, _, _ := newTestClient(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if r.URL.Path == tc.path {
				writeJSON(rw, 200, tc.body)
				return
			}
			writeJSON(rw, 200, `{}`)
		}), mod, func(o *Options) { o.MaxRetries = 2 })
		var err error
		if strings.Contains(tc.path, "download") {
			_, err = c3.Download(context.Background(), "disk:/x", &buf)
		} else {
			_, err = c3.Upload(context.Background(), "disk:/x", bytes.NewReader(payload), int64(len(payload)), UploadOptions{})
		}
		if err == nil {
			t.Fatalf("%s: no error from a dead host", tc.path)
		}
		errs = append(errs, err)
	}

	if logs.Len() == 0 {
		t.Fatal("no debug lines logged")
	}
	forbidden := []string{secretToken, "/up/", "/dl/", "SIGNATURE", "Authorization", "OAuth "}
	for _, e := range logs.All() {
		text := e.Message + " " + fmt.Sprint(e.ContextMap())
		for _, s := range forbidden {
			if strings.Contains(text, s) {
				t.Errorf("log line leaks %q: %s", s, text)
			}
		}
	}
	for _, err := range errs {
		for _, s := range forbidden {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error leaks %q: %v", s, err)
			}
		}
	}
	// The lines carry what an operator needs.
	var sawRetry bool
	for _, e := range logs.All() {
		m := e.ContextMap()
		if e.Message == "retrying upload with a new link" && m["remote_path"] == "disk:/up.bin" && m["attempt"] == int64(1) {
			sawRetry = true
		}
	}
	if !sawRetry {
		t.Error("no retry line with remote_path and attempt")
	}
}
