package emulator

import (
	"net/http"
	"net/url"
	"strings"
)

// origin is the scheme and host a request came to, such as https://cloud-api.yandex.net or
// http://127.0.0.1:41234. Every href of an answer — resource, operation, upload and download
// links, Resource.file, the 302 to storage — is built on the origin of the request it answers
// (§1.1, §1.6), so a client that reaches the emulator under another host name or through a
// TLS-terminating front gets links it can follow the same way, and one that calls Server.URL
// gets links on Server.URL.
type origin string

// originOf reads the origin of r: https when the connection is TLS or a front says so in
// X-Forwarded-Proto, else http; the host the client asked for, or the listen address for a
// request that names none (HTTP/1.0).
func (s *Server) originOf(r *http.Request) origin {
	scheme := "http"
	if r.TLS != nil || forwardedHTTPS(r.Header) {
		scheme = "https"
	}
	host := r.Host
	if host == "" {
		host = s.addr
	}
	return origin(scheme + "://" + host)
}

// forwardedHTTPS reports whether X-Forwarded-Proto says https. With several fronts the header
// lists one scheme per hop; the first is the one the client used.
func forwardedHTTPS(h http.Header) bool {
	first, _, _ := strings.Cut(h.Get("X-Forwarded-Proto"), ",")
	return strings.EqualFold(strings.TrimSpace(first), "https")
}

// resourceHref is the Link to a resource returned by mkdir, copy, move and restore (§1.6).
func (o origin) resourceHref(p rpath) object {
	return linkObject(string(o) + "/v1/disk/resources?" + url.Values{"path": {p.String()}}.Encode())
}

// operationHref is the Link to an asynchronous operation returned with a 202 (§5.5).
func (o origin) operationHref(id string) object {
	return linkObject(string(o) + "/v1/disk/operations/" + id)
}

func linkObject(href string) object {
	return object{{"href", href}, {"method", "GET"}, {"templated", false}}
}
