package emulator

import (
	"crypto/hmac"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// §4.1 GET /v1/disk/resources/download
func (s *Server) handleDownloadLink(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, _, e := s.pathParam(q, "path", areaDisk)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	s.lockTree()
	n := s.lookup(p)
	var href string
	switch {
	case n == nil || s.hiddenAfterUpload(n):
		e = errNotFound()
	case n.dir:
		// Folder downloads as zip are not modelled (§4.1 calls them unconfirmed).
		e = errFieldValidation("path", "folder downloads are not supported by the emulator")
	default:
		name := n.name
		if n.origName != "" {
			name = n.origName
		}
		href = s.downloadURL(s.originOf(r), n, name)
	}
	s.mu.Unlock()
	if e != nil {
		writeAPIError(w, e)
		return
	}
	respond(w, r, http.StatusOK, object{{"href", href}, {"method", "GET"}, {"templated", false}})
}

// signedTarget is a verified /disk/ or /storage/ URL.
type signedTarget struct {
	blobID string
	name   string
	ctype  string
}

// verify checks /<prefix><sig>/<hex expiry>/<blob id> against its signature and expiry. It
// answers the HTTP status to send when the URL is not good.
func (s *Server) verify(r *http.Request, prefix, kind string) (signedTarget, int) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, prefix), "/")
	if len(parts) != 3 {
		return signedTarget{}, http.StatusNotFound
	}
	q := r.URL.Query()
	t := signedTarget{blobID: parts[2], name: q.Get("filename"), ctype: q.Get("content_type")}
	want := s.sign(kind, t.blobID, parts[1], t.name)
	if !hmac.Equal([]byte(want), []byte(parts[0])) {
		return t, http.StatusForbidden
	}
	exp, err := strconv.ParseInt(parts[1], 16, 64)
	if err != nil || s.now().After(time.Unix(exp, 0)) {
		return t, http.StatusGone
	}
	return t, 0
}

// §4.2 GET <href> on the "downloader": 302 to a storage URL, as the service does.
func (s *Server) handleDownloadRedirect(w http.ResponseWriter, r *http.Request) {
	t, status := s.verify(r, downloadPrefix, "disk")
	if status != 0 {
		writeHTML(w, status)
		return
	}
	s.mu.Lock()
	_, ok := s.blobs[t.blobID]
	s.mu.Unlock()
	if !ok {
		writeHTML(w, http.StatusNotFound)
		return
	}
	w.Header().Set("Location", s.storageURL(s.originOf(r), t, r.URL.RawQuery))
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusFound)
}

// storageURL is the short-lived storage link on o that a download link redirects to; it keeps
// the download link's query, which carries the name and type to answer with.
func (s *Server) storageURL(o origin, t signedTarget, rawQuery string) string {
	exp := strconv.FormatInt(s.now().Add(storageTTL).Unix(), 16)
	return string(o) + storagePrefix + s.sign("storage", t.blobID, exp, t.name) + "/" + exp + "/" + t.blobID + "?" + rawQuery
}

// §4.2 the storage node: 200 with the exact length and the file's type, 206 for a Range.
func (s *Server) handleStorage(w http.ResponseWriter, r *http.Request) {
	t, status := s.verify(r, storagePrefix, "storage")
	if status != 0 {
		writeHTML(w, status)
		return
	}
	s.mu.Lock()
	b := s.blobs[t.blobID]
	s.mu.Unlock()
	if b == nil {
		writeHTML(w, http.StatusNotFound)
		return
	}
	f, err := b.open()
	if err != nil {
		s.logf("emulator: %v", err)
		writeHTML(w, http.StatusInternalServerError)
		return
	}
	defer f.Close()
	ctype := t.ctype
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("ETag", `"`+b.md5+`"`)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": t.name}))
	http.ServeContent(w, r, "", time.Time{}, f)
}
