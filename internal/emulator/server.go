package emulator

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yasyncd/yasyncd/internal/emulator/yandexid"
)

// Options configure a Server. The zero value is a fast, fault-free emulator of a free
// account with an empty Disk.
type Options struct {
	// Token is an access token that is always accepted, besides those issued through OAuth.
	// NewServer generates one when empty (see Server.Token).
	Token string
	// ClientID and ClientSecret are the OAuth app credentials; an empty ClientID accepts any.
	ClientID     string
	ClientSecret string
	// AutoApprove approves device codes at the second poll (§8.2).
	AutoApprove bool

	// Latency is added to every request before it is handled.
	Latency time.Duration
	// FaultRate is the probability (0..1) that a request gets a random injected fault: 429
	// with or without Retry-After, 500, 503, a reset connection, or a truncated download.
	// OAuth endpoints are never faulted at random.
	FaultRate float64
	// Seed seeds the random faults, so a failing run can be repeated.
	Seed int64

	// DataDir keeps file contents on disk there instead of in memory, for large files.
	DataDir string

	// OperationDelay is how long asynchronous copies, moves, deletes and restores stay
	// in-progress (§5.5). Their effect appears on the Disk when they complete; until then
	// their source and destination are locked (423). Zero completes them before the next
	// request is handled.
	OperationDelay time.Duration
	// FinalizeWindow switches on quirk §9.1: for this long after an upload, PATCH on the file
	// alternately answers 500 and silently drops the properties it reports as set.
	FinalizeWindow time.Duration
	// NotFoundAfterUpload switches on quirk §9.2: for this long after an upload, GET
	// /resources and /resources/download on the file answer 404.
	NotFoundAfterUpload time.Duration
	// UploadAccepted makes the upload PUT answer 202 instead of 201 (§3.2); the upload
	// operation then stays in-progress for OperationDelay.
	UploadAccepted bool

	// MaxFileSize is the largest file accepted (default 1 GiB, a free account, §3.4).
	MaxFileSize int64
	// TotalSpace is the Disk size (default 10 GiB); writes beyond it answer 507.
	TotalSpace int64
	// AppFolder is the folder `app:/` points to (default "disk:/Приложения/yasyncd", §5.7).
	AppFolder string

	// Now replaces the clock (default time.Now).
	Now func() time.Time
	// Logf receives internal problems, and with LogRequests one line per request (default:
	// none; NewServer uses t.Logf). Tokens, Authorization headers and signed URLs never
	// reach it.
	Logf func(format string, args ...any)
	// LogRequests logs every request through Logf.
	LogRequests bool
}

// Server is a running Yandex Disk emulator. Its exported methods are safe for concurrent use.
type Server struct {
	// URL is the origin the emulator serves, e.g. http://127.0.0.1:41234. The Disk API is
	// under /v1/disk, OAuth at /authorize, /token, /device/code, /revoke_token. Links in
	// answers are on the origin each request came to, which is URL for requests sent to it.
	URL string
	// OAuth is the Yandex ID emulator mounted on the same origin.
	OAuth *yandexid.Server

	opts   Options
	t      testing.TB
	appDir []string
	addr   string // host:port of the listener, the host of links for requests without Host

	mu         sync.Mutex // guards the Disk state below
	disk       *node
	trash      *node
	rev        int64
	usedBytes  int64
	trashBytes int64
	quota      int64
	blobs      map[string]*blob
	locks      []*lock
	ops        map[string]*operation
	pending    []*operation
	uploads    map[string]*uploadTarget
	uploadSeq  int64
	regTime    time.Time
	filesCache struct {
		rev int64
		ns  []*node
		ps  []rpath
	}
	signKey []byte

	faults   faultState
	reqlog   requestLog
	inflight inflight

	mux      *http.ServeMux
	httpSrv  *http.Server
	client   *http.Client
	serveErr chan error
	closed   sync.Once
}

// New builds a Server that is not yet listening; call Start. It is what cmd/yandexemu uses:
// without a testing.TB an unmodelled endpoint answers 501 and is logged.
func New(opts Options) (*Server, error) {
	if opts.FaultRate < 0 || opts.FaultRate > 1 {
		return nil, fmt.Errorf("emulator: fault rate %v outside 0..1", opts.FaultRate)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = 1 << 30
	}
	if opts.TotalSpace <= 0 {
		opts.TotalSpace = 10 << 30
	}
	if opts.AppFolder == "" {
		opts.AppFolder = "disk:/Приложения/yasyncd"
	}
	if opts.Token == "" {
		opts.Token = "y0_emulator_" + randomHex(20)
	}
	app, err := parsePath(opts.AppFolder, areaDisk, nil)
	if err != nil {
		return nil, fmt.Errorf("emulator: app folder %q: %w", opts.AppFolder, err)
	}
	s := &Server{
		opts:    opts,
		appDir:  app.segs,
		blobs:   map[string]*blob{},
		ops:     map[string]*operation{},
		uploads: map[string]*uploadTarget{},
		signKey: make([]byte, 32),
		mux:     http.NewServeMux(),
	}
	_, _ = rand.Read(s.signKey)
	s.faults.rnd = mrand.New(mrand.NewPCG(uint64(opts.Seed), uint64(opts.Seed)^0x9e3779b97f4a7c15))
	now := s.now()
	s.regTime = now.Add(-365 * 24 * time.Hour).Truncate(time.Second)
	s.rev = now.UnixMicro()
	s.quota = opts.TotalSpace
	s.disk = s.newDir("disk")
	s.disk.created, s.disk.modified = s.regTime, s.regTime
	s.trash = s.newDir("trash")
	s.trash.created, s.trash.modified = s.regTime, s.regTime
	return s, nil
}

// NewServer starts an emulator on 127.0.0.1 for a test and closes it when the test ends.
// A request to an endpoint the emulator does not model fails the test.
func NewServer(t testing.TB, opts ...Options) *Server {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Logf == nil {
		o.Logf = t.Logf
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	s.t = t
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("emulator: listen: %v", err)
	}
	s.Start(ln)
	t.Cleanup(s.Close)
	return s
}

// Start serves on ln in the background until Close or Shutdown. It sets URL and OAuth.
func (s *Server) Start(ln net.Listener) {
	s.addr = ln.Addr().String()
	s.URL = "http://" + s.addr
	s.OAuth = yandexid.New(yandexid.Options{
		ClientID:     s.opts.ClientID,
		ClientSecret: s.opts.ClientSecret,
		StaticToken:  s.opts.Token,
		AutoApprove:  s.opts.AutoApprove,
		Now:          s.opts.Now,
	})
	s.OAuth.Register(s.mux)
	s.httpSrv = &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	s.client = &http.Client{Transport: &http.Transport{Proxy: nil, DisableCompression: true}}
	s.serveErr = make(chan error, 1)
	go func() {
		err := s.httpSrv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.serveErr <- err
	}()
}

// Client returns an HTTP client for the emulator. It does not add Authorization.
func (s *Server) Client() *http.Client { return s.client }

// Token returns the access token that is always accepted.
func (s *Server) Token() string { return s.opts.Token }

// Shutdown stops accepting requests and waits for running ones until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.httpSrv == nil {
		return nil
	}
	err := s.httpSrv.Shutdown(ctx)
	if err != nil {
		_ = s.httpSrv.Close()
	}
	s.inflight.closeAndWait()
	if serr := <-s.serveErr; serr != nil && err == nil {
		err = serr
	}
	s.serveErr <- nil // later calls must not block
	return err
}

// Close stops the server at once, closing open connections.
func (s *Server) Close() {
	s.closed.Do(func() {
		if s.httpSrv == nil {
			return
		}
		_ = s.httpSrv.Close()
		<-s.serveErr
		s.serveErr <- nil
		// Handlers may still run on connections that were just closed; wait for them so
		// none logs to a finished test.
		s.inflight.closeAndWait()
		if t, ok := s.client.Transport.(*http.Transport); ok {
			t.CloseIdleConnections()
		}
	})
}

func (s *Server) now() time.Time { return s.opts.Now() }

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// lockTree takes the tree mutex and completes operations that are due, so every request and
// every inspection sees them (§5.5).
func (s *Server) lockTree() {
	s.mu.Lock()
	s.settle()
}

// route is one modelled endpoint.
type route struct {
	name string
	auth bool // needs Authorization: OAuth <token>
	h    func(w http.ResponseWriter, r *http.Request)
}

// resolve maps a request to its endpoint, or nil when the emulator does not model it.
func (s *Server) resolve(r *http.Request) *route {
	p := r.URL.Path
	api := func(name string, h func(http.ResponseWriter, *http.Request)) *route {
		return &route{name: name, auth: true, h: h}
	}
	if p == "/v1/disk" || strings.HasPrefix(p, "/v1/disk/") {
		rest := strings.TrimSuffix(strings.TrimPrefix(p, "/v1/disk"), "/")
		switch m := r.Method; {
		case rest == "" && m == http.MethodGet: // §2.1, also with a trailing slash (§9.21)
			return api("disk", s.handleDisk)
		case rest == "/resources" && m == http.MethodGet:
			return api("resources.get", s.handleGetResource)
		case rest == "/resources" && m == http.MethodPut:
			return api("resources.mkdir", s.handleMkdir)
		case rest == "/resources" && m == http.MethodDelete:
			return api("resources.delete", s.handleDelete)
		case rest == "/resources" && m == http.MethodPatch:
			return api("resources.patch", s.handlePatch)
		case rest == "/resources/files" && m == http.MethodGet:
			return api("resources.files", s.handleFiles)
		case rest == "/resources/last-uploaded" && m == http.MethodGet:
			return api("resources.last-uploaded", s.handleLastUploaded)
		case rest == "/resources/upload" && m == http.MethodGet:
			return api("resources.upload", s.handleUploadLink)
		case rest == "/resources/upload" && m == http.MethodPost:
			return api("resources.upload-url", s.handleUploadFromURL)
		case rest == "/resources/download" && m == http.MethodGet:
			return api("resources.download", s.handleDownloadLink)
		case rest == "/resources/copy" && m == http.MethodPost:
			return api("resources.copy", s.handleCopy)
		case rest == "/resources/move" && m == http.MethodPost:
			return api("resources.move", s.handleMove)
		case rest == "/trash/resources" && m == http.MethodGet:
			return api("trash.get", s.handleTrashGet)
		case rest == "/trash/resources" && m == http.MethodDelete:
			return api("trash.delete", s.handleTrashDelete)
		case rest == "/trash/resources/restore" && m == http.MethodPut:
			return api("trash.restore", s.handleRestore)
		case rest == "/operations" && m == http.MethodGet: // ?id= form (§5.5)
			return api("operations", s.handleOperation)
		case strings.HasPrefix(rest, "/operations/") && m == http.MethodGet:
			return api("operations", s.handleOperation)
		}
		return nil
	}
	switch {
	case strings.HasPrefix(p, uploadPrefix) && r.Method == http.MethodPut:
		return &route{name: "upload.put", h: s.handleUploadPut}
	case strings.HasPrefix(p, downloadPrefix) && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		return &route{name: "download.get", h: s.handleDownloadRedirect}
	case strings.HasPrefix(p, storagePrefix) && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		return &route{name: "storage.get", h: s.handleStorage}
	}
	if h, pattern := s.mux.Handler(r); pattern != "" {
		return &route{name: "oauth" + r.URL.Path, h: h.ServeHTTP}
	}
	return nil
}

// ServeHTTP implements http.Handler: request log, latency, faults, auth, then the endpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.inflight.enter() {
		// Closing: answer without touching the test's log, which may be finished.
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	defer s.inflight.leave()
	start := s.now()
	rw := &statusWriter{ResponseWriter: w}
	rt := s.resolve(r)
	fault := s.pickFault(r, rt)
	defer func() {
		s.reqlog.add(RecordedRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(),
			Status: rw.status, Fault: fault.Kind.String(), Time: start})
		if s.opts.LogRequests {
			s.logf("emulator: %s %s -> %d%s", r.Method, redactPath(r.URL.Path), rw.status, fault.logSuffix())
		}
	}()
	if d := s.opts.Latency + fault.Latency; d > 0 {
		if !sleepCtx(r.Context(), d) {
			return
		}
	}
	if rt == nil {
		writeAPIError(rw, errNotImplemented(r.Method, r.URL.Path))
		if s.t != nil {
			s.t.Errorf("emulator: request to an endpoint it does not model: %s %s", r.Method, r.URL.Path)
		}
		return
	}
	if fault.Kind != FaultNone && fault.Kind != FaultLatency && s.applyFaultBefore(rw, r, rt, fault) {
		return
	}
	if rt.auth && !s.authorized(r) {
		writeAPIError(rw, errUnauthorized())
		return
	}
	if fault.Kind == FaultDropResponse {
		s.serveAndDrop(rw, r, rt)
		return
	}
	if fault.Kind == FaultTruncateBody || fault.Kind == FaultSlowResponse {
		s.serveFaulted(rw, r, rt, fault)
		return
	}
	rt.h(rw, r)
}

// authorized implements §1.2/§1.4: only `Authorization: OAuth <token>` with a live token.
func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "OAuth ")
	if !ok {
		return false
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return false
	}
	if tok == s.opts.Token {
		return true
	}
	return s.OAuth != nil && s.OAuth.Valid(tok)
}

// redactPath keeps signed segments of upload and download URLs out of logs.
func redactPath(p string) string {
	for _, pre := range []string{uploadPrefix, downloadPrefix, storagePrefix} {
		if strings.HasPrefix(p, pre) {
			return pre + "…"
		}
	}
	return p
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// statusWriter remembers the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// inflight counts running handlers so Close can wait for them.
type inflight struct {
	mu     sync.Mutex
	n      int
	closed bool
	zero   *sync.Cond
}

func (f *inflight) enter() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.n++
	return true
}

func (f *inflight) leave() {
	f.mu.Lock()
	f.n--
	if f.n == 0 && f.zero != nil {
		f.zero.Broadcast()
	}
	f.mu.Unlock()
}

func (f *inflight) closeAndWait() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	if f.zero == nil {
		f.zero = sync.NewCond(&f.mu)
	}
	for f.n > 0 {
		f.zero.Wait()
	}
}
