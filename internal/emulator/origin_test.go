package emulator

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
)

// publicOrigin is the host a client behind the test's TLS front believes it talks to.
const publicOrigin = "https://cloud-api.yandex.net"

// frontClient starts a TLS front that forwards to s keeping the Host header and setting
// X-Forwarded-Proto: https, as a TLS-terminating proxy does, and returns a client whose every
// connection goes to that front whatever the URL's host. Redirects are not followed, so each
// hop can be checked.
func frontClient(t *testing.T, s *Server) *http.Client {
	t.Helper()
	target, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Set("X-Forwarded-Proto", "https")
		},
		Transport: s.Client().Transport,
	}
	front := httptest.NewTLSServer(proxy)
	t.Cleanup(front.Close)
	tr := front.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.ServerName = "example.com" // a name in httptest's certificate
	addr := front.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// viaFront sends one request through the front and checks that every URL in the answer — JSON
// string values and Location — is on publicOrigin.
func viaFront(t *testing.T, c *http.Client, s *Server, method, href string, body io.Reader) reply {
	t.Helper()
	if strings.HasPrefix(href, "/") {
		href = publicOrigin + href
	}
	req, err := http.NewRequest(method, href, body)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(req.URL.Path, "/v1/disk") {
		req.Header.Set("Authorization", "OAuth "+s.Token())
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, href, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := reply{res.StatusCode, res.Header, b}
	if loc := res.Header.Get("Location"); loc != "" {
		checkOnOrigin(t, "Location", loc)
	}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") && len(b) > 0 {
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s %s: %v", method, href, err)
		}
		walkStrings(v, func(s string) {
			if strings.Contains(s, "://") {
				checkOnOrigin(t, method+" "+req.URL.Path, s)
			}
		})
	}
	return r
}

func checkOnOrigin(t *testing.T, where, u string) {
	t.Helper()
	if !strings.HasPrefix(u, publicOrigin+"/") {
		t.Errorf("%s: link %s is not on %s", where, u, publicOrigin)
	}
}

func walkStrings(v any, f func(string)) {
	switch x := v.(type) {
	case string:
		f(x)
	case []any:
		for _, e := range x {
			walkStrings(e, f)
		}
	case map[string]any:
		for _, e := range x {
			walkStrings(e, f)
		}
	}
}

// §1.1, §1.6: every href is built on the origin the request came to, so a client reaching the
// emulator as https://cloud-api.yandex.net through a TLS front gets https links on that host
// (resource, operation, upload and download links, Resource.file, the 302 to storage) and can
// follow each of them through the same front.
func TestHrefsFollowRequestOrigin(t *testing.T) {
	s := NewServer(t)
	c := frontClient(t, s)
	follow := func(href string, status int) reply {
		t.Helper()
		checkOnOrigin(t, "href", href)
		r := viaFront(t, c, s, "GET", href, nil)
		mustStatus(t, r, status)
		return r
	}
	operation := func(r reply) {
		t.Helper()
		href := wantOKJSON(t, r, 202)["href"].(string)
		if st := follow(href, 200).json(t)["status"]; st != "success" {
			t.Errorf("operation %s: %v", href, st)
		}
	}

	// mkdir: resource link.
	r := viaFront(t, c, s, "PUT", "/v1/disk/resources?path=disk:/dir", nil)
	follow(wantOKJSON(t, r, 201)["href"].(string), 200)

	// Upload link, PUT through the front; the upload operation.
	link := wantOKJSON(t, viaFront(t, c, s, "GET", "/v1/disk/resources/upload?path=disk:/dir/a.txt", nil), 200)
	checkOnOrigin(t, "upload href", link["href"].(string))
	mustStatus(t, viaFront(t, c, s, "PUT", link["href"].(string), strings.NewReader("hello")), 201)
	if st := follow(publicOrigin+"/v1/disk/operations/"+link["operation_id"].(string), 200).json(t)["status"]; st != "success" {
		t.Errorf("upload operation: %v", st)
	}

	// Download link → 302 to storage → the bytes; Resource.file in metadata and listings.
	dl := wantOKJSON(t, viaFront(t, c, s, "GET", "/v1/disk/resources/download?path=disk:/dir/a.txt", nil), 200)
	loc := follow(dl["href"].(string), 302).header.Get("Location")
	if got := follow(loc, 200); string(got.body) != "hello" {
		t.Errorf("download through the front: %q", got.body)
	}
	file := wantOKJSON(t, viaFront(t, c, s, "GET", "/v1/disk/resources?path=disk:/dir/a.txt", nil), 200)["file"].(string)
	follow(file, 302)
	for _, list := range []string{"/v1/disk/resources?path=disk:/dir", "/v1/disk/resources/files", "/v1/disk/resources/last-uploaded"} {
		wantOKJSON(t, viaFront(t, c, s, "GET", list, nil), 200)
	}
	wantOKJSON(t, viaFront(t, c, s, "PATCH", "/v1/disk/resources?path=disk:/dir/a.txt", strings.NewReader(`{"custom_properties":{"k":"v"}}`)), 200)

	// copy and move: resource links (201) and operation links (202).
	follow(wantOKJSON(t, viaFront(t, c, s, "POST", "/v1/disk/resources/copy?from=disk:/dir/a.txt&path=disk:/b.txt", nil), 201)["href"].(string), 200)
	follow(wantOKJSON(t, viaFront(t, c, s, "POST", "/v1/disk/resources/move?from=disk:/b.txt&path=disk:/c.txt", nil), 201)["href"].(string), 200)
	operation(viaFront(t, c, s, "POST", "/v1/disk/resources/copy?from=disk:/dir&path=disk:/dir2", nil))
	operation(viaFront(t, c, s, "POST", "/v1/disk/resources/move?from=disk:/dir2&path=disk:/dir3", nil))

	// delete, trash listing, restore: operation and resource links.
	mustStatus(t, viaFront(t, c, s, "DELETE", "/v1/disk/resources?path=disk:/c.txt", nil), 204)
	operation(viaFront(t, c, s, "DELETE", "/v1/disk/resources?path=disk:/dir3", nil))
	wantOKJSON(t, viaFront(t, c, s, "GET", "/v1/disk/trash/resources?path=trash:/", nil), 200)
	for _, e := range s.Trash() {
		r := viaFront(t, c, s, "PUT", "/v1/disk/trash/resources/restore?path="+url.QueryEscape(e.Path), nil)
		if e.Dir {
			operation(r)
		} else {
			follow(wantOKJSON(t, r, 201)["href"].(string), 200)
		}
	}
	operation(viaFront(t, c, s, "DELETE", "/v1/disk/resources?path=disk:/dir3&force_async=true", nil))
	operation(viaFront(t, c, s, "DELETE", "/v1/disk/trash/resources?path=trash:/&force_async=true", nil))
	r = viaFront(t, c, s, "POST", "/v1/disk/resources/upload?path=disk:/u.txt&url=https://example.com/x", nil)
	follow(wantOKJSON(t, r, 202)["href"].(string), 200)
}

// §1.1, §1.6: the scheme of the links is https for a TLS connection or a front that says
// X-Forwarded-Proto: https, else http; the host is the request's, or the listen address for
// a request without one. A request to Server.URL gets links on Server.URL.
func TestRequestOrigin(t *testing.T) {
	s := NewServer(t)
	listen := strings.TrimPrefix(s.URL, "http://")
	for _, tc := range []struct {
		name, host, proto string
		tls               bool
		want              string
	}{
		{"listen origin", listen, "", false, s.URL},
		{"host name", "cloud-api.yandex.net", "", false, "http://cloud-api.yandex.net"},
		{"TLS", "cloud-api.yandex.net", "", true, "https://cloud-api.yandex.net"},
		{"forwarded https", "cloud-api.yandex.net", "https", false, "https://cloud-api.yandex.net"},
		{"forwarded HTTPS, then http", "disk.example:8443", "HTTPS, http", false, "https://disk.example:8443"},
		{"forwarded http", "cloud-api.yandex.net", "http", false, "http://cloud-api.yandex.net"},
		{"no Host", "", "", false, s.URL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/v1/disk", nil)
			r.Host = tc.host
			r.TLS = nil
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if tc.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			if got := s.originOf(r); string(got) != tc.want {
				t.Errorf("origin %s, want %s", got, tc.want)
			}
		})
	}
}
