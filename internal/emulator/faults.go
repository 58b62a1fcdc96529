package emulator

import (
	"errors"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Path prefixes of the upload and download hosts, for matching faults to them.
const (
	UploadPathPrefix   = uploadPrefix
	DownloadPathPrefix = downloadPrefix
	StoragePathPrefix  = storagePrefix
)

// FaultKind is a failure the emulator can inject into one request.
type FaultKind int

const (
	FaultNone FaultKind = iota
	// FaultLatency only delays the request by Fault.Latency.
	FaultLatency
	// FaultTooManyRequests answers 429, with Retry-After when Fault.RetryAfter > 0.
	FaultTooManyRequests
	// FaultInternal answers 500.
	FaultInternal
	// FaultUnavailable answers 503.
	FaultUnavailable
	// FaultInsufficientStorage answers 507.
	FaultInsufficientStorage
	// FaultUnauthorized answers 401 UnauthorizedError, as for an expired token.
	FaultUnauthorized
	// FaultLocked answers 423 DiskResourceLockedError.
	FaultLocked
	// FaultReset reads part of the request body, then resets the connection without an
	// answer. Nothing is changed on the Disk.
	FaultReset
	// FaultTruncateBody handles the request, declares the full Content-Length, sends half
	// the body and closes the connection: a truncated download.
	FaultTruncateBody
	// FaultDropResponse handles the request (the change happens) and then resets the
	// connection instead of answering: the client cannot know whether it worked.
	FaultDropResponse
	// FaultSlowResponse handles the request, then waits Fault.Latency before answering —
	// the slow answer after the last byte of a big upload (§9.20).
	FaultSlowResponse
)

var faultNames = [...]string{"", "latency", "429", "500", "503", "507", "401", "423", "reset", "truncate", "drop-response", "slow-response"}

func (k FaultKind) String() string {
	if int(k) < len(faultNames) {
		return faultNames[k]
	}
	return "fault" + strconv.Itoa(int(k))
}

// Fault is what to do to one request.
type Fault struct {
	Kind       FaultKind
	Latency    time.Duration // added before handling; for FaultSlowResponse, before answering
	RetryAfter time.Duration // for 429 (and 503): whole seconds in a Retry-After header
}

func (f Fault) logSuffix() string {
	if f.Kind == FaultNone {
		return ""
	}
	return " (fault " + f.Kind.String() + ")"
}

type injection struct {
	method, prefix string
	left           int
	fault          Fault
}

type faultState struct {
	mu         sync.Mutex
	hook       func(*http.Request) Fault
	injections []*injection
	rnd        *mrand.Rand
}

// SetFault installs a hook consulted for every request before anything else; it returns
// the fault to inject or a zero Fault. nil removes it.
func (s *Server) SetFault(hook func(r *http.Request) Fault) {
	s.faults.mu.Lock()
	s.faults.hook = hook
	s.faults.mu.Unlock()
}

// InjectN makes the next n requests whose method matches (empty = any) and whose URL path
// starts with pathPrefix get fault f.
func (s *Server) InjectN(method, pathPrefix string, n int, f Fault) {
	s.faults.mu.Lock()
	s.faults.injections = append(s.faults.injections, &injection{method: method, prefix: pathPrefix, left: n, fault: f})
	s.faults.mu.Unlock()
}

// InjectOnce is InjectN with n = 1.
func (s *Server) InjectOnce(method, pathPrefix string, f Fault) { s.InjectN(method, pathPrefix, 1, f) }

// ClearFaults removes the hook and all pending injections (FaultRate stays).
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	s.faults.hook = nil
	s.faults.injections = nil
	s.faults.mu.Unlock()
}

// pickFault chooses the fault for a request: the hook, then injections, then FaultRate.
func (s *Server) pickFault(r *http.Request, rt *route) Fault {
	s.faults.mu.Lock()
	hook := s.faults.hook
	s.faults.mu.Unlock()
	// The hook runs unlocked: it may call any Server method.
	if hook != nil {
		if f := hook(r); f.Kind != FaultNone {
			return f
		}
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	for i, in := range s.faults.injections {
		if (in.method == "" || in.method == r.Method) && strings.HasPrefix(r.URL.Path, in.prefix) {
			in.left--
			if in.left <= 0 {
				s.faults.injections = append(s.faults.injections[:i], s.faults.injections[i+1:]...)
			}
			return in.fault
		}
	}
	if s.opts.FaultRate <= 0 || rt == nil || strings.HasPrefix(rt.name, "oauth") {
		return Fault{}
	}
	if s.faults.rnd.Float64() >= s.opts.FaultRate {
		return Fault{}
	}
	// Only faults that make sense for the endpoint.
	var kinds []Fault
	switch rt.name {
	case "storage.get":
		kinds = []Fault{{Kind: FaultTruncateBody}, {Kind: FaultReset}, {Kind: FaultInternal}, {Kind: FaultUnavailable}}
	case "upload.put":
		kinds = []Fault{{Kind: FaultInternal}, {Kind: FaultUnavailable}, {Kind: FaultReset}}
	case "download.get":
		kinds = []Fault{{Kind: FaultInternal}, {Kind: FaultUnavailable}, {Kind: FaultReset}}
	default:
		kinds = []Fault{{Kind: FaultTooManyRequests, RetryAfter: time.Second}, {Kind: FaultTooManyRequests},
			{Kind: FaultInternal}, {Kind: FaultUnavailable}, {Kind: FaultReset}}
		if r.Method != http.MethodGet {
			kinds = append(kinds, Fault{Kind: FaultDropResponse})
		}
	}
	return kinds[s.faults.rnd.IntN(len(kinds))]
}

// applyFaultBefore answers a fault that replaces the request. It reports whether the request
// is done.
func (s *Server) applyFaultBefore(w http.ResponseWriter, r *http.Request, rt *route, f Fault) bool {
	switch f.Kind {
	case FaultTooManyRequests, FaultInternal, FaultUnavailable, FaultInsufficientStorage,
		FaultUnauthorized, FaultLocked, FaultReset:
	default:
		return false // faults applied around the handler
	}
	html := rt.name == "storage.get" || rt.name == "download.get" || rt.name == "upload.put"
	if rt.name == "upload.put" {
		// A failed or interrupted PUT uses up its URL (§9.3): the retry needs a new one.
		s.burnUpload(strings.TrimPrefix(r.URL.Path, uploadPrefix))
	}
	send := func(e *apiError, status int) {
		if html {
			if e != nil && e.retryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
			}
			writeHTML(w, status)
			return
		}
		writeAPIError(w, e)
	}
	secs := int((f.RetryAfter + time.Second - 1) / time.Second)
	switch f.Kind {
	case FaultTooManyRequests:
		send(errTooManyRequests(secs), http.StatusTooManyRequests)
	case FaultInternal:
		send(errInternal(), http.StatusInternalServerError)
	case FaultUnavailable:
		e := errUnavailable()
		e.retryAfter = secs
		send(e, http.StatusServiceUnavailable)
	case FaultInsufficientStorage:
		send(errQuota(), http.StatusInsufficientStorage)
	case FaultUnauthorized:
		send(errUnauthorized(), http.StatusUnauthorized)
	case FaultLocked:
		send(errLocked(), http.StatusLocked)
	case FaultReset:
		if r.ContentLength != 0 {
			n := r.ContentLength / 2
			if n < 0 || n > 1<<20 {
				n = 1 << 20
			}
			_, _ = io.CopyN(io.Discard, r.Body, n)
		}
		resetConn(w)
	}
	return true
}

// resetConn closes the client connection with a TCP reset and no answer.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// serveAndDrop handles the request and then resets the connection instead of answering.
func (s *Server) serveAndDrop(w http.ResponseWriter, r *http.Request, rt *route) {
	rec := httptest.NewRecorder()
	rt.h(rec, r)
	resetConn(w)
}

// serveFaulted answers late (FaultSlowResponse) or cut in half (FaultTruncateBody).
func (s *Server) serveFaulted(w http.ResponseWriter, r *http.Request, rt *route, f Fault) {
	if f.Kind == FaultTruncateBody {
		cw := &cutWriter{ResponseWriter: w}
		rt.h(cw, r)
		_ = http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // closes the connection short of Content-Length
	}
	rec := httptest.NewRecorder()
	rt.h(rec, r)
	res := rec.Result()
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	if !sleepCtx(r.Context(), f.Latency) {
		return
	}
	w.WriteHeader(res.StatusCode)
	_, _ = io.Copy(w, res.Body)
}

// cutWriter passes the headers (with the full Content-Length) and half of the body.
type cutWriter struct {
	http.ResponseWriter
	left    int64
	started bool
}

var errCut = errors.New("emulator: body cut by an injected fault")

func (c *cutWriter) WriteHeader(code int) {
	if c.started {
		return
	}
	c.started = true
	cl, err := strconv.ParseInt(c.Header().Get("Content-Length"), 10, 64)
	if err != nil {
		cl = 0
	}
	c.left = cl / 2
	c.ResponseWriter.WriteHeader(code)
}

func (c *cutWriter) Write(b []byte) (int, error) {
	if !c.started {
		c.WriteHeader(http.StatusOK)
	}
	if int64(len(b)) <= c.left {
		n, err := c.ResponseWriter.Write(b)
		c.left -= int64(n)
		return n, err
	}
	n, _ := c.ResponseWriter.Write(b[:c.left])
	c.left -= int64(n)
	return n, errCut
}
