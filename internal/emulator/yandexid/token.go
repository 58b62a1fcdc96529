package yandexid

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"time"
)

// rfcDeviceGrant is RFC 8628's grant type, which Yandex does not document; refusing it
// makes a client that uses golang.org/x/oauth2's defaults fail in tests (§8.2).
const rfcDeviceGrant = "urn:ietf:params:oauth:grant-type:device_code"

// tokenResponse is the observed success body (fixtures/oauth-token-observed.json): no
// scope key, keys in the recorded order.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
}

func writeToken(w http.ResponseWriter, g *grant, now time.Time) {
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken:  g.access,
		ExpiresIn:    expiresIn(g, now),
		RefreshToken: g.refresh,
		TokenType:    "bearer",
	})
}

// handleToken serves POST /token (§8.1 step 3, §8.2 step 3, §8.3, §8.5).
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request, rec *Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, rec, http.MethodPost)
		return
	}
	form, bad := readForm(r)
	if bad != "" {
		writeError(w, rec, http.StatusBadRequest, errInvalidRequest, bad)
		return
	}
	rec.FormKeys = sortedKeys(form)
	rec.GrantType = form.Get("grant_type")
	if bad := checkParams(r, form); bad != "" {
		writeError(w, rec, http.StatusBadRequest, errInvalidRequest, bad)
		return
	}
	clientID, ok := s.authenticateClient(w, r, form, rec)
	if !ok {
		return
	}
	switch gt := form.Get("grant_type"); gt {
	case "authorization_code":
		s.grantAuthorizationCode(w, form, clientID, rec)
	case "refresh_token":
		s.grantRefresh(w, form, clientID, rec)
	case "device_code":
		s.grantDeviceCode(w, form, clientID, rec)
	case "":
		writeError(w, rec, http.StatusBadRequest, errInvalidRequest, "grant_type is required")
	case rfcDeviceGrant:
		writeError(w, rec, http.StatusBadRequest, errUnsupportedGrantType,
			"unsupported grant_type, the device flow uses grant_type=device_code")
	default:
		writeError(w, rec, http.StatusBadRequest, errUnsupportedGrantType, "unsupported grant_type")
	}
}

func (s *Server) grantAuthorizationCode(w http.ResponseWriter, form url.Values, clientID string, rec *Request) {
	code := form.Get("code")
	if code == "" {
		writeError(w, rec, http.StatusBadRequest, errInvalidRequest, "code is required")
		return
	}
	if !isAuthCodeShape(code) {
		writeError(w, rec, http.StatusBadRequest, errBadVerificationCode, "Code is not a 7-digit number")
		return
	}
	deviceID, deviceName := form.Get("device_id"), form.Get("device_name")
	if bad := checkDevice(deviceID, deviceName); bad != "" {
		writeError(w, rec, http.StatusBadRequest, errInvalidRequest, bad)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	c := s.codes[code]
	if c == nil || !now.Before(c.expires) || !clientOwns(c.clientID, clientID) {
		writeError(w, rec, http.StatusBadRequest, errInvalidGrant, "Invalid or expired authorization code")
		return
	}
	// The code is single use even when the exchange fails, so a wrong verifier cannot be
	// retried against the same code.
	delete(s.codes, code)
	if c.challengeMeth != "" {
		verifier := form.Get("code_verifier")
		if verifier == "" {
			writeError(w, rec, http.StatusBadRequest, errInvalidGrant, "code_verifier is required")
			return
		}
		if !verifierMatches(verifier, c.challenge, c.challengeMeth) {
			writeError(w, rec, http.StatusBadRequest, errInvalidGrant, "code_verifier does not match code_challenge")
			return
		}
	}
	spec := grantSpec{clientID: clientID, deviceID: c.deviceID, deviceName: c.deviceName, scope: c.scope}
	if deviceID != "" {
		spec.deviceID = deviceID
	}
	if deviceName != "" {
		spec.deviceName = deviceName
	}
	writeToken(w, s.issueLocked(spec, s.opts.TokenTTL), now)
}

// verifierMatches checks a PKCE verifier against its challenge (RFC 7636 §4.6).
func verifierMatches(verifier, challenge, method string) bool {
	if !isPKCEValue(verifier) {
		return false
	}
	want := verifier
	if method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

// isPKCEValue reports whether v is 43–128 unreserved characters, the syntax RFC 7636
// gives both the verifier and the challenge.
func isPKCEValue(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := range len(v) {
		c := v[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '-' || c == '.' || c == '_' || c == '~':
		default:
			return false
		}
	}
	return true
}

func (s *Server) grantRefresh(w http.ResponseWriter, form url.Values, clientID string, rec *Request) {
	refresh := form.Get("refresh_token")
	if refresh == "" {
		writeError(w, rec, http.StatusBadRequest, errInvalidRequest, "refresh_token is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	g := s.byRefresh[refresh]
	if g == nil || !g.refreshLive(now) || !clientOwns(g.clientID, clientID) {
		writeError(w, rec, http.StatusBadRequest, errInvalidGrant, "Invalid or expired refresh token")
		return
	}
	s.rotateLocked(g)
	writeToken(w, g, now)
}

func (s *Server) grantDeviceCode(w http.ResponseWriter, form url.Values, clientID string, rec *Request) {
	// Yandex names the parameter "code"; an RFC-style "device_code" field is ignored.
	code := form.Get("code")
	if code == "" {
		writeError(w, rec, http.StatusBadRequest, errInvalidRequest, "code is required")
		return
	}
	if !isDeviceCodeShape(code) {
		writeError(w, rec, http.StatusBadRequest, errBadVerificationCode, "Code has the wrong format")
		return
	}
	deviceID, deviceName := form.Get("device_id"), form.Get("device_name")
	if bad := checkDevice(deviceID, deviceName); bad != "" {
		writeError(w, rec, http.StatusBadRequest, errInvalidRequest, bad)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	d := s.devices[code]
	if d == nil || !clientOwns(d.clientID, clientID) || !now.Before(d.expires) {
		writeError(w, rec, http.StatusBadRequest, errInvalidGrant, "Invalid or expired confirmation code")
		return
	}
	switch d.state {
	case deviceDenied:
		writeError(w, rec, http.StatusBadRequest, errInvalidGrant, "The user denied access")
		return
	case deviceUsed:
		writeError(w, rec, http.StatusBadRequest, errInvalidGrant, "Invalid or expired confirmation code")
		return
	}
	interval := time.Duration(s.intervalSeconds()) * time.Second
	if s.opts.SlowDown && !d.slowDownSent && !d.lastPoll.IsZero() && now.Sub(d.lastPoll) < interval {
		d.slowDownSent = true
		d.lastPoll = now
		writeError(w, rec, http.StatusBadRequest, errSlowDown, "Polling too frequently, slow down")
		return
	}
	d.lastPoll = now
	d.polls++
	if s.opts.AutoApprove && d.state == devicePending && d.polls >= 2 {
		d.state = deviceApproved
	}
	if d.state == devicePending {
		writeError(w, rec, http.StatusBadRequest, errAuthorizationPending, "User has not yet authorized your application")
		return
	}
	d.state = deviceUsed
	spec := grantSpec{clientID: clientID, deviceID: d.deviceID, deviceName: d.deviceName, scope: d.scope}
	if spec.deviceID == "" {
		spec.deviceID, spec.deviceName = deviceID, deviceName
	}
	writeToken(w, s.issueLocked(spec, s.opts.TokenTTL), now)
}
