package yandexid

import (
	"errors"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Defaults for the zero values of Options, as observed on oauth.yandex.ru (API document §8).
const (
	DefaultTokenTTL      = 31536000 * time.Second // expires_in of a Disk app's tokens [obs]
	DefaultDeviceCodeTTL = 300 * time.Second      // expires_in of /device/code [obs]
	DefaultInterval      = 5 * time.Second        // interval of /device/code [obs]

	// authCodeTTL is the documented life of an authorization code (§8.1).
	authCodeTTL = 10 * time.Minute
	// maxDeviceTokens is how many device-bound tokens one app may hold for the user; a
	// new one kills the oldest (§8.4).
	maxDeviceTokens = 30
)

// Options configure a Server. The zero value is a permissive server: any client_id and
// secret, any loopback redirect URI, Yandex's default lifetimes.
type Options struct {
	// ClientID is the only client_id accepted; empty accepts any.
	ClientID string
	// ClientSecret is the only client_secret accepted; empty accepts any, including none.
	ClientSecret string
	// StaticToken, when set, is an access token valid from the start that never expires.
	// It is not device-bound, so /revoke_token refuses it; Revoke and Expire still work.
	StaticToken string
	// AutoApprove approves every device code at its second poll: the first poll answers
	// authorization_pending, the second one the token.
	AutoApprove bool
	// Now is the clock for every expiry; default time.Now.
	Now func() time.Time
	// TokenTTL is the lifetime of access and refresh tokens; default DefaultTokenTTL.
	TokenTTL time.Duration
	// DeviceCodeTTL is the lifetime of device and user codes; default DefaultDeviceCodeTTL.
	DeviceCodeTTL time.Duration
	// Interval is the device poll interval. The wire carries whole seconds, so it is
	// reported rounded up and at least 1 (a 0 would make golang.org/x/oauth2 fall back to
	// 5 s); default DefaultInterval.
	Interval time.Duration
	// RefreshKeepsAccessToken makes a refresh answer the same, still live, access token
	// (with its lifetime renewed) and a new refresh token, as recorded (§8.3, §9.17).
	// When false, or when the old access token is expired, a refresh issues a new access
	// token and the old one dies.
	RefreshKeepsAccessToken bool
	// SlowDown answers slow_down once per device code when it is polled sooner than the
	// reported interval after its previous poll (RFC 8628 §3.5; undocumented for Yandex).
	SlowDown bool
	// VerificationURL is the verification_url of /device/code; default this server's own
	// /device page, built from the request's Host.
	VerificationURL string
	// RedirectURIs are the app's registered redirect URIs. Empty accepts any loopback
	// http(s) URI. A registered loopback URI matches with any port (RFC 8252 §7.3).
	RedirectURIs []string
}

// Request is one request the server answered, recorded for assertions. It holds parameter
// names, never their values, so no secret or token ends up in a test log.
type Request struct {
	Method    string
	Path      string
	QueryKeys []string // sorted names of URL query parameters
	FormKeys  []string // sorted names of form body parameters (POST only)
	GrantType string   // /token only
	BasicAuth bool     // client credentials came in an Authorization: Basic header
	Status    int
	Error     string // the OAuth "error" code of a failed answer, or "" on success
}

// Errors of the Go-side device methods.
var (
	ErrUnknownUserCode   = errors.New("yandexid: unknown user code")
	ErrDeviceCodeExpired = errors.New("yandexid: device code expired")
	ErrDeviceCodeDecided = errors.New("yandexid: device code already approved, denied or used")
)

// TokenInfo describes an issued access token, for assertions.
type TokenInfo struct {
	ClientID   string // "" for tokens seeded by IssueToken or StaticToken
	DeviceID   string // "" when the token is not device-bound (then it cannot be revoked)
	DeviceName string
	Scope      string
	Expiry     time.Time // zero for the static token
}

// Server is an in-memory Yandex OAuth server. All state is guarded by one mutex, so every
// method and handler is safe for concurrent use.
type Server struct {
	opts Options

	mu        sync.Mutex
	deny      bool
	codes     map[string]*authCode   // authorization codes by code
	devices   map[string]*deviceCode // device codes by device_code
	userCodes map[string]*deviceCode // the same device codes by user_code
	byAccess  map[string]*grant
	byRefresh map[string]*grant
	// bound lists each client's device-bound grants, oldest first, to enforce the
	// 30-token limit of §8.4.
	bound    map[string][]*grant
	requests []Request
}

// grant is one token pair. Refresh rotates its refresh token and may replace its access
// token; revocation kills both.
type grant struct {
	clientID      string
	deviceID      string
	deviceName    string
	scope         string
	access        string
	accessExpiry  time.Time // zero: never expires (the static token)
	refresh       string    // "" when the grant cannot be refreshed
	refreshExpiry time.Time
	revoked       bool
}

func (g *grant) accessLive(now time.Time) bool {
	return !g.revoked && (g.accessExpiry.IsZero() || now.Before(g.accessExpiry))
}

func (g *grant) refreshLive(now time.Time) bool {
	return !g.revoked && g.refresh != "" && now.Before(g.refreshExpiry)
}

type authCode struct {
	code          string
	clientID      string
	deviceID      string
	deviceName    string
	scope         string
	challenge     string
	challengeMeth string // "S256" or "plain"; "" when no PKCE
	expires       time.Time
}

type deviceState int

const (
	devicePending deviceState = iota
	deviceApproved
	deviceDenied
	deviceUsed
)

type deviceCode struct {
	code         string
	userCode     string
	clientID     string
	deviceID     string
	deviceName   string
	scope        string
	created      time.Time
	expires      time.Time
	state        deviceState
	polls        int
	lastPoll     time.Time
	slowDownSent bool
}

// New returns a Server with opts; it starts no goroutine and listens nowhere. Mount it
// with Register or serve Handler.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	if opts.DeviceCodeTTL <= 0 {
		opts.DeviceCodeTTL = DefaultDeviceCodeTTL
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	opts.RedirectURIs = slices.Clone(opts.RedirectURIs)
	s := &Server{
		opts:      opts,
		codes:     make(map[string]*authCode),
		devices:   make(map[string]*deviceCode),
		userCodes: make(map[string]*deviceCode),
		byAccess:  make(map[string]*grant),
		byRefresh: make(map[string]*grant),
		bound:     make(map[string][]*grant),
	}
	if opts.StaticToken != "" {
		s.byAccess[opts.StaticToken] = &grant{access: opts.StaticToken}
	}
	return s
}

// Register mounts the OAuth endpoints on mux: /authorize, /token, /device/code,
// /revoke_token, and two human pages, /device (enter and approve a user code) and
// /verification_code (shows a code when no redirect URI is known).
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("/authorize", s.record(s.handleAuthorize))
	mux.HandleFunc("/token", s.record(s.handleToken))
	mux.HandleFunc("/device/code", s.record(s.handleDeviceCode))
	mux.HandleFunc("/revoke_token", s.record(s.handleRevoke))
	mux.HandleFunc("/device", s.record(s.handleDevicePage))
	mux.HandleFunc("/verification_code", s.record(s.handleVerificationCode))
}

// Handler returns a handler serving only the OAuth endpoints, for tests that need no Disk
// API. Unknown paths answer 404.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.Register(mux)
	return mux
}

// Valid reports whether accessToken is issued (or the static token), not expired and not
// revoked. The Disk API emulator answers 401 when it is false.
func (s *Server) Valid(accessToken string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.byAccess[accessToken]
	return g != nil && g.accessLive(s.opts.Now())
}

// Lookup describes a live or expired (but not revoked or replaced) access token.
func (s *Server) Lookup(accessToken string) (TokenInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.byAccess[accessToken]
	if g == nil {
		return TokenInfo{}, false
	}
	return TokenInfo{
		ClientID:   g.clientID,
		DeviceID:   g.deviceID,
		DeviceName: g.deviceName,
		Scope:      g.scope,
		Expiry:     g.accessExpiry,
	}, true
}

// ApproveDevice approves the device code whose user code is userCode, as the user would on
// the verification page. Spaces, dashes and case in userCode are ignored.
func (s *Server) ApproveDevice(userCode string) error {
	return s.decideDevice(userCode, deviceApproved)
}

// DenyDevice refuses the device code whose user code is userCode; its next poll answers
// invalid_grant.
func (s *Server) DenyDevice(userCode string) error {
	return s.decideDevice(userCode, deviceDenied)
}

func (s *Server) decideDevice(userCode string, to deviceState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.userCodes[normalizeUserCode(userCode)]
	if d == nil {
		return ErrUnknownUserCode
	}
	if !s.opts.Now().Before(d.expires) {
		return ErrDeviceCodeExpired
	}
	if d.state != devicePending {
		return ErrDeviceCodeDecided
	}
	d.state = to
	return nil
}

// normalizeUserCode accepts a user code the way a person may type it.
func normalizeUserCode(c string) string {
	c = strings.ToLower(c)
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, c)
}

// PendingUserCodes lists the user codes of device codes still waiting for the user, oldest
// first.
func (s *Server) PendingUserCodes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	var pending []*deviceCode
	for _, d := range s.devices {
		if d.state == devicePending && now.Before(d.expires) {
			pending = append(pending, d)
		}
	}
	sort.Slice(pending, func(i, j int) bool {
		if !pending[i].created.Equal(pending[j].created) {
			return pending[i].created.Before(pending[j].created)
		}
		return pending[i].userCode < pending[j].userCode
	})
	out := make([]string, len(pending))
	for i, d := range pending {
		out[i] = d.userCode
	}
	return out
}

// IssueToken seeds a device-bound token pair that any client may refresh or revoke, as if
// a login had happened earlier. ttl <= 0 means Options.TokenTTL.
func (s *Server) IssueToken(ttl time.Duration) (access, refresh string) {
	if ttl <= 0 {
		ttl = s.opts.TokenTTL
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.issueLocked(grantSpec{deviceID: "emulator-seed", deviceName: "yandexid emulator"}, ttl)
	return g.access, g.refresh
}

// Revoke kills accessToken and its refresh token, as when the user revokes the app's
// access or changes the password (§8.4). It works on any token, device-bound or not.
func (s *Server) Revoke(accessToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.byAccess[accessToken]; g != nil {
		s.revokeLocked(g)
	}
}

// Expire makes accessToken expired from now on; its refresh token keeps working, so a
// client can recover by refreshing.
func (s *Server) Expire(accessToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.byAccess[accessToken]; g != nil {
		g.accessExpiry = s.opts.Now()
	}
}

// SetDeny makes /authorize answer as if the user refused: a redirect with
// error=access_denied.
func (s *Server) SetDeny(deny bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deny = deny
}

// Requests returns a copy of every request answered so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.QueryKeys = slices.Clone(r.QueryKeys)
		r.FormKeys = slices.Clone(r.FormKeys)
		out[i] = r
	}
	return out
}

// intervalSeconds is the poll interval as the wire carries it.
func (s *Server) intervalSeconds() int64 {
	sec := int64((s.opts.Interval + time.Second - 1) / time.Second)
	return max(sec, 1)
}

type grantSpec struct {
	clientID, deviceID, deviceName, scope string
}

// issueLocked creates a fresh token pair. A device-bound grant beyond the app's limit
// kills the client's oldest device-bound grant.
func (s *Server) issueLocked(spec grantSpec, ttl time.Duration) *grant {
	now := s.opts.Now()
	g := &grant{
		clientID:      spec.clientID,
		deviceID:      spec.deviceID,
		deviceName:    spec.deviceName,
		scope:         spec.scope,
		access:        s.newAccessTokenLocked(),
		accessExpiry:  now.Add(ttl),
		refresh:       s.newRefreshTokenLocked(),
		refreshExpiry: now.Add(ttl),
	}
	s.byAccess[g.access] = g
	s.byRefresh[g.refresh] = g
	if g.deviceID != "" {
		list := slices.DeleteFunc(s.bound[g.clientID], func(o *grant) bool { return o.revoked })
		list = append(list, g)
		for len(list) > maxDeviceTokens {
			s.revokeLocked(list[0])
			list = list[1:]
		}
		s.bound[g.clientID] = list
	}
	return g
}

func (s *Server) revokeLocked(g *grant) {
	g.revoked = true
	delete(s.byAccess, g.access)
	if g.refresh != "" {
		delete(s.byRefresh, g.refresh)
	}
}

// rotateLocked answers a refresh: always a new refresh token (the old one dies), and the
// same or a new access token per Options.RefreshKeepsAccessToken.
func (s *Server) rotateLocked(g *grant) {
	now := s.opts.Now()
	ttl := s.opts.TokenTTL
	delete(s.byRefresh, g.refresh)
	g.refresh = s.newRefreshTokenLocked()
	g.refreshExpiry = now.Add(ttl)
	s.byRefresh[g.refresh] = g
	if s.opts.RefreshKeepsAccessToken && g.accessLive(now) {
		if !g.accessExpiry.IsZero() {
			g.accessExpiry = now.Add(ttl)
		}
		return
	}
	delete(s.byAccess, g.access)
	g.access = s.newAccessTokenLocked()
	g.accessExpiry = now.Add(ttl)
	s.byAccess[g.access] = g
}

// expiresIn is the remaining life of g's access token in whole seconds.
func expiresIn(g *grant, now time.Time) int64 {
	if g.accessExpiry.IsZero() {
		return int64(DefaultTokenTTL / time.Second)
	}
	return max(int64(g.accessExpiry.Sub(now)/time.Second), 0)
}
