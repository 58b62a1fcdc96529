package emulator

import (
	"net/http"
	"strings"
	"time"
)

// Operation states (§5.5). The emulator reports failures as "failed", the documented spelling.
const (
	opInProgress = "in-progress"
	opSuccess    = "success"
	opFailed     = "failed"
)

// operation is an asynchronous job: an upload waiting for its PUT, or a copy, move, delete,
// restore or trash cleanup that completes at doneAt. Until then its locks make other writes
// to the same paths answer 423 (§9.8).
type operation struct {
	id     string
	status string
	doneAt time.Time
	apply  func() bool // runs under s.mu at doneAt; false means the operation failed
	locks  []*lock
}

// lock marks a path (and its subtree) busy.
type lock struct {
	p     rpath
	until time.Time // zero: until released
}

// newOperation registers an operation; ids are 64 hex characters as recorded (§1.6).
func (s *Server) newOperation() *operation {
	op := &operation{id: randomHex(32), status: opInProgress}
	s.ops[op.id] = op
	return op
}

// startAsync runs apply after OperationDelay with paths locked meanwhile, and returns the
// operation for a 202 answer. Callers hold s.mu.
func (s *Server) startAsync(apply func() bool, locked ...rpath) *operation {
	op := s.newOperation()
	op.doneAt = s.now().Add(s.opts.OperationDelay)
	op.apply = apply
	for _, p := range locked {
		l := &lock{p: p}
		op.locks = append(op.locks, l)
		s.locks = append(s.locks, l)
	}
	s.pending = append(s.pending, op)
	return op
}

// settle completes due operations in the order they started. Callers hold s.mu.
func (s *Server) settle() {
	if len(s.pending) == 0 && len(s.locks) == 0 {
		return
	}
	now := s.now()
	keep := s.pending[:0]
	for _, op := range s.pending {
		if now.Before(op.doneAt) {
			keep = append(keep, op)
			continue
		}
		s.releaseLocks(op.locks)
		op.status = opFailed
		if op.apply == nil || op.apply() {
			op.status = opSuccess
		}
	}
	for i := len(keep); i < len(s.pending); i++ {
		s.pending[i] = nil
	}
	s.pending = keep
	// Drop expired timed locks.
	ls := s.locks[:0]
	for _, l := range s.locks {
		if l.until.IsZero() || now.Before(l.until) {
			ls = append(ls, l)
		}
	}
	s.locks = ls
}

func (s *Server) releaseLocks(rel []*lock) {
	if len(rel) == 0 {
		return
	}
	out := s.locks[:0]
	for _, l := range s.locks {
		drop := false
		for _, r := range rel {
			if l == r {
				drop = true
			}
		}
		if !drop {
			out = append(out, l)
		}
	}
	s.locks = out
}

// locked reports whether a write to p collides with a lock on p, an ancestor of p or a
// descendant of p. Callers hold s.mu.
func (s *Server) locked(ps ...rpath) bool {
	for _, p := range ps {
		for _, l := range s.locks {
			if p.within(l.p) || l.p.within(p) {
				return true
			}
		}
	}
	return false
}

// §5.5 GET /v1/disk/operations/{id} and /v1/disk/operations?id=
func (s *Server) handleOperation(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/disk/operations"), "/")
	id = strings.TrimPrefix(id, "/")
	if id == "" {
		id = r.URL.Query().Get("id")
	}
	s.lockTree()
	op := s.ops[id]
	var status string
	if op != nil {
		status = op.status
	}
	s.mu.Unlock()
	if op == nil {
		writeAPIError(w, errOperationNotFound())
		return
	}
	respond(w, r, http.StatusOK, object{{"status", status}})
}
