package yandexid

import (
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

const maxStateLen = 1024 // §8.1, as enforced by yadisk

// handleAuthorize serves GET /authorize (§8.1 steps 1–2). There is no user to ask: the
// request is validated and consent is given at once (or refused under SetDeny).
//
// Errors that make the redirect target untrustworthy (unknown client, bad redirect_uri,
// repeated parameters, an oversized state) answer 400 JSON here, as RFC 6749 §4.1.2.1
// requires; every later error is redirected to the client with error, error_description
// and state.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request, rec *Request) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, rec, http.MethodGet)
		return
	}
	q := r.URL.Query()
	for k, v := range q {
		if len(v) > 1 {
			writeError(w, rec, http.StatusBadRequest, errInvalidRequest, "parameter "+k+" is duplicated")
			return
		}
	}
	clientID := q.Get("client_id")
	if clientID == "" {
		writeError(w, rec, http.StatusBadRequest, errInvalidRequest, "client_id is required")
		return
	}
	if !s.knownClient(clientID) {
		writeError(w, rec, http.StatusBadRequest, errInvalidClient, "Client not found")
		return
	}
	target, bad := s.resolveRedirect(q.Get("redirect_uri"))
	if bad != "" {
		writeError(w, rec, http.StatusBadRequest, errInvalidRequest, bad)
		return
	}
	state := q.Get("state")
	if len(state) > maxStateLen {
		writeError(w, rec, http.StatusBadRequest, errInvalidRequest, "state is longer than 1024 characters")
		return
	}
	fail := func(code, desc string) {
		rec.Error = code
		redirect(w, target, url.Values{"error": {code}, "error_description": {desc}}, state, false)
	}

	responseType := q.Get("response_type")
	switch responseType {
	case "code", "token":
	case "":
		fail(errInvalidRequest, "response_type is required")
		return
	default:
		fail(errUnsupportedResponse, "response_type must be code or token")
		return
	}
	deviceID, deviceName := q.Get("device_id"), q.Get("device_name")
	if bad := checkDevice(deviceID, deviceName); bad != "" {
		fail(errInvalidRequest, bad)
		return
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	switch {
	case challenge == "" && method != "":
		fail(errInvalidRequest, "code_challenge_method without code_challenge")
		return
	case challenge == "":
	case method == "":
		method = "plain" // RFC 7636 §4.3 default
	case method != "S256" && method != "plain":
		fail(errInvalidRequest, "code_challenge_method must be S256 or plain")
		return
	}
	if challenge != "" && !isPKCEValue(challenge) {
		fail(errInvalidRequest, "code_challenge must be 43 to 128 unreserved characters")
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deny {
		fail(errAccessDenied, "The user denied access to the application")
		return
	}
	now := s.opts.Now()
	if responseType == "token" {
		// Implicit flow: the token goes in the URL fragment and there is no refresh token.
		g := s.issueLocked(grantSpec{clientID: clientID, deviceID: deviceID, deviceName: deviceName, scope: q.Get("scope")}, s.opts.TokenTTL)
		delete(s.byRefresh, g.refresh)
		g.refresh = ""
		redirect(w, target, url.Values{
			"access_token": {g.access},
			"token_type":   {"bearer"},
			"expires_in":   {strconv.FormatInt(expiresIn(g, now), 10)},
		}, state, true)
		return
	}
	c := &authCode{
		code:       s.newAuthCodeLocked(),
		clientID:   clientID,
		deviceID:   deviceID,
		deviceName: deviceName,
		scope:      q.Get("scope"),
		expires:    now.Add(authCodeTTL),
	}
	if challenge != "" {
		c.challenge, c.challengeMeth = challenge, method
	}
	s.codes[c.code] = c
	redirect(w, target, url.Values{"code": {c.code}}, state, false)
}

// redirect answers 302 to target with params (and state when set) added to its query, or
// to its fragment for the implicit flow.
func redirect(w http.ResponseWriter, target *url.URL, params url.Values, state string, fragment bool) {
	u := *target
	if state != "" {
		params.Set("state", state)
	}
	var loc string
	if fragment {
		// Built by hand: url.URL would escape the '%' of the encoded values again.
		u.Fragment, u.RawFragment = "", ""
		loc = u.String() + "#" + params.Encode()
	} else {
		q := u.Query()
		for k, v := range params {
			q[k] = v
		}
		u.RawQuery = q.Encode()
		loc = u.String()
	}
	w.Header().Set("Location", loc)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusFound)
}

// resolveRedirect picks the redirect target: the given URI when it is acceptable, the
// first registered one when none is given, or this server's /verification_code page (as
// Yandex shows the code to the user) when nothing is registered either.
func (s *Server) resolveRedirect(raw string) (*url.URL, string) {
	if raw == "" {
		if len(s.opts.RedirectURIs) > 0 {
			u, err := url.Parse(s.opts.RedirectURIs[0])
			if err != nil {
				return nil, "the registered redirect_uri is malformed"
			}
			return u, ""
		}
		return &url.URL{Path: "/verification_code"}, ""
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, "redirect_uri must be an absolute http(s) URL"
	}
	if u.Fragment != "" {
		return nil, "redirect_uri must not have a fragment"
	}
	if len(s.opts.RedirectURIs) == 0 {
		if !isLoopback(u.Hostname()) {
			return nil, "redirect_uri must be a loopback address"
		}
		return u, ""
	}
	for _, reg := range s.opts.RedirectURIs {
		if redirectMatches(reg, u) {
			return u, ""
		}
	}
	return nil, "redirect_uri does not match a registered one"
}

// redirectMatches compares a request's redirect URI with a registered one: exactly, except
// that a loopback URI matches on any port (RFC 8252 §7.3), because a desktop client
// listens on whatever port is free.
func redirectMatches(registered string, u *url.URL) bool {
	if registered == u.String() {
		return true
	}
	reg, err := url.Parse(registered)
	if err != nil || !isLoopback(reg.Hostname()) {
		return false
	}
	return reg.Scheme == u.Scheme && reg.Hostname() == u.Hostname() &&
		reg.EscapedPath() == u.EscapedPath() && reg.RawQuery == u.RawQuery
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var verificationCodePage = template.Must(template.New("code").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Yandex ID emulator: confirmation code</title></head>
<body>{{if .Code}}<p>Your confirmation code:</p><p id="code">{{.Code}}</p>
{{else}}<p id="error">{{.Error}}: {{.Description}}</p>{{end}}</body></html>
`))

// handleVerificationCode shows the code to the user when the app has no redirect URI, like
// https://oauth.yandex.ru/verification_code (§1.1).
func (s *Server) handleVerificationCode(w http.ResponseWriter, r *http.Request, rec *Request) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, rec, http.MethodGet)
		return
	}
	q := r.URL.Query()
	w.Header().Set("Content-Type", contentTypeHTML)
	_ = verificationCodePage.Execute(w, map[string]string{
		"Code":        q.Get("code"),
		"Error":       q.Get("error"),
		"Description": q.Get("error_description"),
	})
}
