package emulator

import (
	"errors"
	"net/http"
	"strings"
	"time"
)

// uploadTTL is how long an unused upload URL stays valid (§3.1).
const uploadTTL = 30 * time.Minute

// uploadTarget is an upload URL handed out by GET /resources/upload.
type uploadTarget struct {
	p         rpath
	sent      string
	overwrite bool
	op        *operation
	expires   time.Time
	used      bool // URLs are single-use (§9.3)
}

// §3.1 GET /v1/disk/resources/upload
func (s *Server) handleUploadLink(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, sent, e := s.pathParam(q, "path", areaDisk)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	overwrite := boolParam(q, "overwrite")
	s.lockTree()
	s.ensureAppDir(q, "path")
	e = s.checkUpload(p, sent, overwrite)
	if e == nil && s.usedBytes >= s.quota {
		e = errQuota()
	}
	var key string
	var op *operation
	if e == nil {
		op = s.newOperation() // in-progress until the PUT completes (§3.1)
		now := s.now()
		key = now.UTC().Format("20060102T150405.000") + ".emu." + randomHex(16)
		s.uploads[key] = &uploadTarget{p: p, sent: sent, overwrite: overwrite, op: op, expires: now.Add(uploadTTL)}
		s.pruneUploads(now)
	}
	s.mu.Unlock()
	if e != nil {
		writeAPIError(w, e)
		return
	}
	respond(w, r, http.StatusOK, object{
		{"operation_id", op.id},
		{"href", string(s.originOf(r)) + uploadPrefix + key},
		{"method", "PUT"},
		{"templated", false},
	})
}

// checkUpload validates an upload destination (§3.1). Callers hold s.mu.
func (s *Server) checkUpload(p rpath, sent string, overwrite bool) *apiError {
	if p.isRoot() {
		return errDirExists(sent)
	}
	parent := s.lookup(p.parent())
	if parent == nil || !parent.dir {
		return errPathDoesntExist(sent)
	}
	if n := s.lookup(p); n != nil && (n.dir || !overwrite) {
		if n.dir {
			return errDirExists(sent)
		}
		return errAlreadyExists(sent)
	}
	if s.locked(p) {
		return errLocked()
	}
	return nil
}

// pruneUploads forgets expired upload URLs and fails their operations. Callers hold s.mu.
func (s *Server) pruneUploads(now time.Time) {
	for k, u := range s.uploads {
		if now.After(u.expires) {
			if u.op.status == opInProgress {
				u.op.status = opFailed
			}
			delete(s.uploads, k)
		}
	}
}

// §3.2 PUT <href>: no Authorization needed; 201 with an empty body.
func (s *Server) handleUploadPut(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimPrefix(r.URL.Path, uploadPrefix)
	s.lockTree()
	u := s.uploads[key]
	status := 0
	switch {
	case u == nil:
		status = http.StatusNotFound
	case s.now().After(u.expires):
		status = http.StatusNotFound
		u.op.status = opFailed
		delete(s.uploads, key)
	case u.used:
		status = http.StatusBadRequest // §9.3: a second PUT to the same URL
	default:
		u.used = true
	}
	free := s.quota - s.usedBytes
	s.mu.Unlock()
	if status != 0 {
		writeHTML(w, status)
		return
	}
	fail := func(code int) {
		s.mu.Lock()
		u.op.status = opFailed
		s.mu.Unlock()
		writeHTML(w, code)
	}
	if r.ContentLength > s.opts.MaxFileSize {
		fail(http.StatusRequestEntityTooLarge)
		return
	}
	if r.ContentLength > free {
		fail(http.StatusInsufficientStorage)
		return
	}
	b, err := s.storeBlob(r.Body, s.opts.MaxFileSize)
	if errors.Is(err, errTooBig) {
		fail(http.StatusRequestEntityTooLarge)
		return
	}
	if err != nil {
		// The body did not arrive whole: shorter than its Content-Length, or chunked with the
		// connection gone before the terminating zero-length chunk (the client's reader failed
		// or it gave up). Nothing is stored and the URL stays used up (§9.3). Only a chunked
		// body that ends properly counts as the whole file, however short (§9.4).
		s.discardBlob(b)
		s.logf("emulator: upload body: %v", err)
		fail(http.StatusBadRequest)
		return
	}
	s.lockTree()
	e := s.checkUpload(u.p, u.sent, u.overwrite)
	if e == nil && s.usedBytes+b.size > s.quota {
		e = errQuota()
	}
	if e != nil {
		u.op.status = opFailed
		s.mu.Unlock()
		s.discardBlob(b)
		writeAPIError(w, e)
		return
	}
	accepted := s.opts.UploadAccepted
	if accepted {
		// §3.2: 202 — received, placed on the Disk when the operation completes.
		s.ref(b) // held by the pending operation
		u.op.doneAt = s.now().Add(s.opts.OperationDelay)
		u.op.apply = func() bool {
			defer s.unref(b)
			if s.checkUpload(u.p, u.sent, u.overwrite) != nil {
				return false
			}
			s.commitFile(u.p, b)
			return true
		}
		s.pending = append(s.pending, u.op)
	} else {
		s.commitFile(u.p, b)
		u.op.status = opSuccess
	}
	s.mu.Unlock()
	w.Header().Set("Content-Length", "0")
	if accepted {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

// commitFile stores b at p, replacing a file there. An overwritten file becomes a new
// resource: new resource_id, no custom properties, created = modified = upload time (§9.6).
// Callers hold s.mu.
func (s *Server) commitFile(p rpath, b *blob) *node {
	parent := s.lookup(p.parent())
	if old := s.lookup(p); old != nil {
		s.detach(old)
		s.destroy(old)
	}
	now := s.now()
	t := now.Truncate(time.Second)
	s.uploadSeq++
	n := &node{name: p.name(), resourceID: newResourceID(), created: t, modified: t,
		revision: s.nextRevision(), blob: b, uploadSeq: s.uploadSeq, uploadedAt: now}
	s.ref(b)
	s.attach(parent, n)
	return n
}

// §3.3 POST /v1/disk/resources/upload — fetch from a URL. The emulator has no internet: the
// operation is accepted and ends failed, as a failed fetch does on the service.
func (s *Server) handleUploadFromURL(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("url") == "" {
		writeAPIError(w, errFieldValidation("url", "is required"))
		return
	}
	p, sent, e := s.pathParam(q, "path", areaDisk)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	s.lockTree()
	s.ensureAppDir(q, "path")
	e = s.checkUpload(p, sent, false)
	var op *operation
	if e == nil {
		op = s.startAsync(func() bool { return false })
	}
	s.mu.Unlock()
	if e != nil {
		writeAPIError(w, e)
		return
	}
	respond(w, r, http.StatusAccepted, s.originOf(r).operationHref(op.id))
}

// burnUpload marks an upload URL used and its operation failed, as after a failed PUT.
func (s *Server) burnUpload(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.uploads[key]; u != nil && !u.used {
		u.used = true
		u.op.status = opFailed
	}
}
