package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
	"unicode/utf8"
)

func boolParam(q url.Values, name string) bool {
	switch q.Get(name) {
	case "true", "1", "yes", "True":
		return true
	}
	return false
}

// §5.1 PUT /v1/disk/resources — create one folder; parents must exist.
func (s *Server) handleMkdir(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, sent, e := s.pathParam(q, "path", areaDisk)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	s.lockTree()
	s.ensureAppDir(q, "path")
	e = s.mkdir(p, sent)
	s.mu.Unlock()
	if e != nil {
		writeAPIError(w, e)
		return
	}
	respond(w, r, http.StatusCreated, s.originOf(r).resourceHref(p))
}

func (s *Server) mkdir(p rpath, sent string) *apiError {
	if n := s.lookup(p); n != nil {
		if n.dir {
			return errDirExists(sent)
		}
		return errAlreadyExists(sent)
	}
	parent := s.lookup(p.parent())
	if parent == nil || !parent.dir {
		return errPathDoesntExist(sent)
	}
	if s.locked(p) {
		return errLocked()
	}
	s.attach(parent, s.newDir(p.name()))
	return nil
}

// §5.3 DELETE /v1/disk/resources
func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, _, e := s.pathParam(q, "path", areaDisk)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	if p.isRoot() {
		writeAPIError(w, errFieldValidation("path", "the root folder cannot be deleted"))
		return
	}
	permanently := boolParam(q, "permanently")
	s.lockTree()
	n := s.lookup(p)
	var apply func() bool
	async := false
	switch {
	case n == nil:
		e = errNotFound()
	case q.Get("md5") != "" && (n.dir || n.blob.md5 != q.Get("md5")):
		e = errMD5Differ()
	case s.locked(p):
		e = errLocked()
	default:
		apply = func() bool {
			if s.lookup(p) != n {
				return false
			}
			s.remove(n, p, permanently)
			return true
		}
		// §9.9: non-empty folders are always asynchronous.
		async = hasChildren(n) || boolParam(q, "force_async")
	}
	s.finishRemoval(w, r, e, async, apply, p)
}

// finishRemoval applies a delete at once or as an asynchronous operation, and answers 204,
// 202 with the operation, or the error (§5.3, §5.4). Called with s.mu held; it unlocks it.
func (s *Server) finishRemoval(w http.ResponseWriter, r *http.Request, e *apiError, async bool, apply func() bool, p rpath) {
	var op *operation
	if e == nil {
		if async {
			op = s.startAsync(apply, p)
		} else {
			apply()
		}
	}
	s.mu.Unlock()
	switch {
	case e != nil:
		writeAPIError(w, e)
	case op != nil:
		respond(w, r, http.StatusAccepted, s.originOf(r).operationHref(op.id))
	default:
		writeNoContent(w)
	}
}

// remove deletes n (at p) for good or moves it to the trash (§5.3, §2.6). Callers hold s.mu.
func (s *Server) remove(n *node, p rpath, permanently bool) {
	s.detach(n)
	s.nextRevision()
	if permanently || p.area == areaTrash {
		s.destroy(n)
		return
	}
	t := s.now().Truncate(time.Second)
	n.origName = n.name
	n.name = n.name + "_" + randomHex(20)
	n.originPath = p.String()
	n.deleted = t
	n.modified = t
	n.revision = s.rev
	s.attach(s.trash, n)
}

// §5.2 POST /v1/disk/resources/copy
func (s *Server) handleCopy(w http.ResponseWriter, r *http.Request) { s.copyOrMove(w, r, false) }

// §5.2 POST /v1/disk/resources/move
func (s *Server) handleMove(w http.ResponseWriter, r *http.Request) { s.copyOrMove(w, r, true) }

func (s *Server) copyOrMove(w http.ResponseWriter, r *http.Request, move bool) {
	q := r.URL.Query()
	from, _, e := s.pathParam(q, "from", areaDisk)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	to, sentTo, e := s.pathParam(q, "path", areaDisk)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	overwrite := boolParam(q, "overwrite")
	s.lockTree()
	s.ensureAppDir(q, "from", "path")
	src := s.lookup(from)
	switch {
	case src == nil || from.isRoot():
		e = errNotFound()
	case to.within(from):
		if to.String() == from.String() && !overwrite {
			e = errAlreadyExists(sentTo)
		} else {
			e = errFieldValidation("path", "the destination lies inside the source")
		}
	default:
		e = s.checkTarget(to, sentTo, overwrite)
		if e == nil && s.locked(from, to) {
			e = errLocked()
		}
	}
	apply := func() bool {
		if s.lookup(from) != src || s.checkTarget(to, sentTo, overwrite) != nil {
			return false
		}
		s.place(src, from, to, move)
		return true
	}
	s.finishPlacement(w, r, q, e, src, apply, from, to)
}

// finishPlacement applies a copy, move or restore at once, or as an asynchronous operation
// when it carries a folder with children or force_async was asked for (§5.2, §9.9), and
// answers 201 with the destination, 202 with the operation, or the error. Called with
// s.mu held; it unlocks it.
func (s *Server) finishPlacement(w http.ResponseWriter, r *http.Request, q url.Values, e *apiError, n *node, apply func() bool, from, to rpath) {
	var op *operation
	if e == nil {
		if hasChildren(n) || boolParam(q, "force_async") {
			op = s.startAsync(apply, from, to)
		} else {
			apply()
		}
	}
	s.mu.Unlock()
	switch {
	case e != nil:
		writeAPIError(w, e)
	case op != nil:
		respond(w, r, http.StatusAccepted, s.originOf(r).operationHref(op.id))
	default:
		respond(w, r, http.StatusCreated, s.originOf(r).resourceHref(to))
	}
}

// checkTarget validates a destination: its parent must be a folder and it must be free
// unless overwrite. Callers hold s.mu.
func (s *Server) checkTarget(to rpath, sent string, overwrite bool) *apiError {
	if to.isRoot() {
		return errAlreadyExists(sent)
	}
	parent := s.lookup(to.parent())
	if parent == nil || !parent.dir {
		return errPathDoesntExist(sent)
	}
	if s.lookup(to) != nil && !overwrite {
		return errAlreadyExists(sent)
	}
	return nil
}

// place copies or moves src to a free (or overwritable) destination. A move keeps the node,
// so resource_id, hashes and custom properties survive (§9.21); a copy clones them with new
// resource ids. A replaced destination is deleted permanently. Callers hold s.mu.
func (s *Server) place(src *node, from, to rpath, move bool) {
	parent := s.lookup(to.parent())
	if old := s.lookup(to); old != nil {
		s.detach(old)
		s.destroy(old)
	}
	if !move {
		s.attach(parent, s.clone(src, to.name()))
		return
	}
	s.detach(src)
	src.name = to.name()
	src.revision = s.nextRevision()
	s.attach(parent, src)
}

// §5.4 DELETE /v1/disk/trash/resources — one item, or the whole trash without path.
func (s *Server) handleTrashDelete(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, _, e := s.pathParam(q, "path", areaTrash)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	s.lockTree()
	n := s.lookup(p)
	var apply func() bool
	async := false
	switch {
	case n == nil:
		e = errNotFound()
	case s.locked(p):
		e = errLocked()
	default:
		apply = func() bool {
			if p.isRoot() {
				for _, c := range s.trash.sortedChildren() {
					s.detach(c)
					s.destroy(c)
				}
				s.nextRevision()
				return true
			}
			if s.lookup(p) != n {
				return false
			}
			s.remove(n, p, true)
			return true
		}
		// One file or empty folder goes synchronously; more work is an operation (§5.4).
		async = boolParam(q, "force_async")
		if p.isRoot() {
			kids := n.sortedChildren()
			async = async || len(kids) > 1 || len(kids) == 1 && hasChildren(kids[0])
		} else {
			async = async || hasChildren(n)
		}
	}
	s.finishRemoval(w, r, e, async, apply, p)
}

// §5.4 PUT /v1/disk/trash/resources/restore — back to origin_path, optionally renamed. Only
// top-level trash entries can be restored (nested ones answered 404 in recordings). Missing
// parent folders of the origin are recreated.
func (s *Server) handleRestore(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, _, e := s.pathParam(q, "path", areaTrash)
	if e == nil && p.isRoot() {
		e = errFieldValidation("path", "a trash item is required")
	}
	name := q.Get("name")
	if e == nil && name != "" {
		if err := checkName(name); err != nil || containsSlash(name) {
			e = errFieldValidation("name", "invalid name")
		}
	}
	if e != nil {
		writeAPIError(w, e)
		return
	}
	overwrite := boolParam(q, "overwrite")
	s.lockTree()
	n := s.lookup(p)
	var to rpath
	if n == nil || len(p.segs) != 1 {
		e = errNotFound()
	} else {
		origin, err := parsePath(n.originPath, areaDisk, nil)
		if err != nil {
			e = errInternal()
		} else {
			if name == "" {
				name = n.origName
			}
			to = origin.parent().child(name)
			switch {
			case s.lookup(to) != nil && !overwrite:
				e = errAlreadyExists(to.String())
			case s.locked(p, to):
				e = errLocked()
			}
		}
	}
	apply := func() bool {
		if s.lookup(p) != n || (s.lookup(to) != nil && !overwrite) {
			return false
		}
		parent := s.mkdirAll(to.parent())
		if parent == nil {
			return false
		}
		if old := s.lookup(to); old != nil {
			s.detach(old)
			s.destroy(old)
		}
		s.detach(n)
		n.name, n.origName, n.originPath, n.deleted = to.name(), "", "", time.Time{}
		n.revision = s.nextRevision()
		s.attach(parent, n)
		return true
	}
	s.finishPlacement(w, r, q, e, n, apply, p, to)
}

func containsSlash(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return true
		}
	}
	return false
}

// maxPropsChars is the limit on the whole custom_properties object (§5.8).
const maxPropsChars = 1024

// §5.8 PATCH /v1/disk/resources — merge custom_properties; null removes a key.
func (s *Server) handlePatch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, _, e := s.pathParam(q, "path", areaDisk)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	// The body may be chunked and carry no Content-Type (§9.21).
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeAPIError(w, errFieldValidation("body", "unreadable body"))
		return
	}
	changes, perr := parsePropsBody(body)
	if perr != nil {
		writeAPIError(w, errFieldValidation("custom_properties", perr.Error()))
		return
	}
	s.lockTree()
	n := s.lookup(p)
	var v object
	switch {
	case n == nil:
		e = errNotFound()
	case s.locked(p):
		e = errLocked()
	default:
		merged := mergeProps(n.props, changes)
		if utf8.RuneCount(encodeJSON(merged)) > maxPropsChars {
			e = errFieldValidation("custom_properties", "longer than 1024 characters")
			break
		}
		if s.finalizing(n) {
			// §9.1: alternately a 500, and a success whose change is silently dropped.
			n.patches++
			if n.patches%2 == 1 {
				e = errInternal()
				break
			}
			shown := *n
			shown.props, shown.propsCleared = merged, len(merged) == 0
			v = s.render(s.originOf(r), &shown, p, nil)
			break
		}
		n.props = merged
		if len(merged) == 0 {
			n.props, n.propsCleared = nil, true
		}
		n.revision = s.nextRevision()
		n.modified = s.now().Truncate(time.Second)
		v = s.render(s.originOf(r), n, p, nil)
	}
	s.mu.Unlock()
	if e != nil {
		writeAPIError(w, e)
		return
	}
	respond(w, r, http.StatusOK, v)
}

// finalizing reports whether n is inside the §9.1 window after its upload.
func (s *Server) finalizing(n *node) bool {
	d := s.opts.FinalizeWindow
	return d > 0 && !n.uploadedAt.IsZero() && s.now().Before(n.uploadedAt.Add(d))
}

// parsePropsBody reads {"custom_properties":{...}} keeping key order. Values must be flat
// (string, number, bool or null for removal); other top-level keys are ignored (§5.8).
func parsePropsBody(body []byte) (object, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, fmt.Errorf("body is not a JSON object")
	}
	raw, ok := top["custom_properties"]
	if !ok {
		return nil, fmt.Errorf("custom_properties is required")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("custom_properties must be an object")
	}
	var out object
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("malformed custom_properties")
		}
		key, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, fmt.Errorf("malformed custom_properties")
		}
		if c := bytes.TrimSpace(val); len(c) > 0 && (c[0] == '{' || c[0] == '[') {
			return nil, fmt.Errorf("value of %q is not flat", key)
		}
		out = append(out, member{key, val})
	}
	return out, nil
}

func isNull(v any) bool {
	raw, ok := v.(json.RawMessage)
	return v == nil || ok && string(bytes.TrimSpace(raw)) == "null"
}

// mergeProps applies changes to old: existing keys keep their place, new keys are appended,
// null removes.
func mergeProps(old, changes object) object {
	out := cloneProps(old)
	for _, c := range changes {
		idx := -1
		for i, m := range out {
			if m.key == c.key {
				idx = i
			}
		}
		switch {
		case isNull(c.val) && idx >= 0:
			out = append(out[:idx], out[idx+1:]...)
		case isNull(c.val):
		case idx >= 0:
			out[idx].val = c.val
		default:
			out = append(out, c)
		}
	}
	return out
}
