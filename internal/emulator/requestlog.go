package emulator

import (
	"net/url"
	"sync"
	"time"
)

// RecordedRequest is one request the emulator answered. Authorization headers are never
// recorded.
type RecordedRequest struct {
	Method string
	Path   string
	Query  url.Values
	Status int    // 0 when the connection was cut before a status was sent
	Fault  string // the injected fault, "" when none
	Time   time.Time
}

type requestLog struct {
	mu   sync.Mutex
	reqs []RecordedRequest
}

func (l *requestLog) add(r RecordedRequest) {
	l.mu.Lock()
	l.reqs = append(l.reqs, r)
	l.mu.Unlock()
}

// Requests returns the requests answered so far, oldest first.
func (s *Server) Requests() []RecordedRequest {
	s.reqlog.mu.Lock()
	defer s.reqlog.mu.Unlock()
	return append([]RecordedRequest(nil), s.reqlog.reqs...)
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.reqlog.mu.Lock()
	s.reqlog.reqs = nil
	s.reqlog.mu.Unlock()
}
