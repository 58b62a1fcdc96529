package yandexid

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const testVerifier = "dBjftJeZ4CVP-mJ92ZUhsL3.WXjoo~qB2XbkS7kabc_Rk" // 45 unreserved chars

func s256(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// §8.1 steps 1–3 with PKCE S256: code in the redirect, state echoed, token with the
// observed shape (no scope key).
func TestAuthCodeFlowPKCES256(t *testing.T) {
	e := newEnv(t, testOptions())
	loc := e.authorize(url.Values{
		"response_type":         {"code"},
		"redirect_uri":          {loopbackRedirect},
		"state":                 {"st&te with spaces/ü"},
		"scope":                 {"cloud_api:disk.read cloud_api:disk.write"},
		"force_confirm":         {"yes"},
		"login_hint":            {"user@yandex.ru"},
		"device_id":             {testDeviceID},
		"device_name":           {"laptop"},
		"code_challenge":        {s256(testVerifier)},
		"code_challenge_method": {"S256"},
	})
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != loopbackRedirect {
		t.Errorf("redirected to %s, want %s", got, loopbackRedirect)
	}
	if got := loc.Query().Get("state"); got != "st&te with spaces/ü" {
		t.Errorf("state = %q, not echoed unchanged", got)
	}
	code := loc.Query().Get("code")
	if !authCodeRe.MatchString(code) {
		t.Fatalf("code %q is not a 7-digit number", code)
	}

	a := e.post("/token", creds("grant_type", "authorization_code", "code", code, "code_verifier", testVerifier))
	access, _ := a.wantToken(t, "oauth-token-observed.json")
	if _, has := a.json["scope"]; has {
		t.Error("token answer has a scope key; the observed one does not")
	}
	if a.expiresIn() != 31536000 {
		t.Errorf("expires_in = %d, want 31536000", a.expiresIn())
	}
	if !e.s.Valid(access) {
		t.Error("token from the code flow is not Valid")
	}
	info, _ := e.s.Lookup(access)
	if info.DeviceID != testDeviceID || info.DeviceName != "laptop" || info.Scope != "cloud_api:disk.read cloud_api:disk.write" {
		t.Errorf("Lookup = %+v; want the device and scope of /authorize", info)
	}
}

// §8.1: PKCE with the plain method, and a challenge without a method (RFC 7636: plain).
func TestAuthCodeFlowPKCEPlain(t *testing.T) {
	e := newEnv(t, testOptions())
	for _, method := range []string{"plain", ""} {
		q := url.Values{"response_type": {"code"}, "redirect_uri": {loopbackRedirect}, "code_challenge": {testVerifier}}
		if method != "" {
			q.Set("code_challenge_method", method)
		}
		code := e.authCode(q)
		e.post("/token", creds("grant_type", "authorization_code", "code", code, "code_verifier", testVerifier)).
			wantToken(t, "oauth-token-observed.json")
	}
}

// §8.1: a wrong or missing verifier is invalid_grant, and the code is spent either way.
func TestAuthCodePKCEWrongVerifier(t *testing.T) {
	e := newEnv(t, testOptions())
	q := url.Values{"response_type": {"code"}, "redirect_uri": {loopbackRedirect},
		"code_challenge": {s256(testVerifier)}, "code_challenge_method": {"S256"}}

	code := e.authCode(q)
	e.post("/token", creds("grant_type", "authorization_code", "code", code, "code_verifier", testVerifier+"x")).
		wantError(t, http.StatusBadRequest, errInvalidGrant)
	e.post("/token", creds("grant_type", "authorization_code", "code", code, "code_verifier", testVerifier)).
		wantError(t, http.StatusBadRequest, errInvalidGrant)

	code = e.authCode(q)
	e.post("/token", creds("grant_type", "authorization_code", "code", code)).
		wantError(t, http.StatusBadRequest, errInvalidGrant)

	code = e.authCode(q) // the S256 challenge itself is not a valid plain verifier
	e.post("/token", creds("grant_type", "authorization_code", "code", code, "code_verifier", s256(testVerifier))).
		wantError(t, http.StatusBadRequest, errInvalidGrant)

	code = e.authCode(q) // malformed verifier
	e.post("/token", creds("grant_type", "authorization_code", "code", code, "code_verifier", "short")).
		wantError(t, http.StatusBadRequest, errInvalidGrant)
}

// §8.1: codes are single use, live 10 minutes, belong to their client, and have 7 digits.
func TestAuthCodeLifetime(t *testing.T) {
	e := newEnv(t, Options{}) // any client, so a foreign client can try
	q := url.Values{"response_type": {"code"}, "redirect_uri": {loopbackRedirect}}

	code := e.authCode(q)
	e.post("/token", creds("grant_type", "authorization_code", "code", code)).wantToken(t, "oauth-token-observed.json")
	e.post("/token", creds("grant_type", "authorization_code", "code", code)).wantError(t, http.StatusBadRequest, errInvalidGrant)

	code = e.authCode(q)
	e.clock.Advance(10*time.Minute - time.Second)
	late := e.authCode(q)
	e.clock.Advance(time.Second)
	e.post("/token", creds("grant_type", "authorization_code", "code", code)).wantError(t, http.StatusBadRequest, errInvalidGrant)
	e.post("/token", creds("grant_type", "authorization_code", "code", late)).wantToken(t, "oauth-token-observed.json")

	code = e.authCode(q)
	e.post("/token", url.Values{"client_id": {"another-app"}, "grant_type": {"authorization_code"}, "code": {code}}).
		wantError(t, http.StatusBadRequest, errInvalidGrant)

	e.post("/token", creds("grant_type", "authorization_code", "code", "123456")).wantError(t, http.StatusBadRequest, errBadVerificationCode)
	e.post("/token", creds("grant_type", "authorization_code", "code", "12345a7")).wantError(t, http.StatusBadRequest, errBadVerificationCode)
	e.post("/token", creds("grant_type", "authorization_code", "code", "9999999")).wantError(t, http.StatusBadRequest, errInvalidGrant)
	e.post("/token", creds("grant_type", "authorization_code")).wantError(t, http.StatusBadRequest, errInvalidRequest)
}

// §8.1 step 2: a refusal is redirected with error, error_description and state.
func TestAuthorizeDenied(t *testing.T) {
	e := newEnv(t, testOptions())
	e.s.SetDeny(true)
	loc := e.authorize(url.Values{"response_type": {"code"}, "redirect_uri": {loopbackRedirect}, "state": {"xyz"}})
	q := loc.Query()
	if q.Get("error") != errAccessDenied || q.Get("error_description") == "" || q.Get("state") != "xyz" || q.Has("code") {
		t.Errorf("denied redirect = %s", loc)
	}
	e.s.SetDeny(false)
	e.authCode(url.Values{"response_type": {"code"}, "redirect_uri": {loopbackRedirect}})
}

// §8.1: requests whose redirect target cannot be trusted answer 400 without redirecting.
func TestAuthorizeRejectedWithoutRedirect(t *testing.T) {
	opts := testOptions()
	opts.RedirectURIs = []string{"http://127.0.0.1/callback", "https://app.example/cb"}
	e := newEnv(t, opts)
	base := func(kv ...string) url.Values {
		q := url.Values{"response_type": {"code"}, "client_id": {testClientID}}
		for i := 0; i+1 < len(kv); i += 2 {
			q.Set(kv[i], kv[i+1])
		}
		return q
	}
	cases := []struct {
		name string
		q    url.Values
		code string
	}{
		{"missing client_id", url.Values{"response_type": {"code"}}, errInvalidRequest},
		{"unknown client_id", base("client_id", "other"), errInvalidClient},
		{"unregistered redirect_uri", base("redirect_uri", "https://evil.example/cb"), errInvalidRequest},
		{"registered loopback, other path", base("redirect_uri", "http://127.0.0.1:8080/other"), errInvalidRequest},
		{"registered non-loopback, other port", base("redirect_uri", "https://app.example:8443/cb"), errInvalidRequest},
		{"relative redirect_uri", base("redirect_uri", "/callback"), errInvalidRequest},
		{"redirect_uri with fragment", base("redirect_uri", "http://127.0.0.1/callback#x"), errInvalidRequest},
		{"state too long", base("state", strings.Repeat("s", 1025)), errInvalidRequest},
		{"duplicated parameter", url.Values{"response_type": {"code"}, "client_id": {testClientID, testClientID}}, errInvalidRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := e.get("/authorize?" + tc.q.Encode())
			a.wantError(t, http.StatusBadRequest, tc.code)
			if a.header.Get("Location") != "" {
				t.Errorf("redirected to %s", a.header.Get("Location"))
			}
		})
	}
	t.Run("POST", func(t *testing.T) {
		e.post("/authorize", base()).wantError(t, http.StatusMethodNotAllowed, errInvalidRequest)
	})
}

// §8.1: with the redirect target known, parameter errors are redirected to the client.
func TestAuthorizeErrorsRedirected(t *testing.T) {
	e := newEnv(t, testOptions())
	cases := []struct {
		name string
		kv   []string
		code string
	}{
		{"missing response_type", []string{"response_type", ""}, errInvalidRequest},
		{"unknown response_type", []string{"response_type", "id_token"}, errUnsupportedResponse},
		{"device_id too short", []string{"device_id", "12345"}, errInvalidRequest},
		{"device_name too long", []string{"device_name", strings.Repeat("n", 101)}, errInvalidRequest},
		{"unknown challenge method", []string{"code_challenge", testVerifier, "code_challenge_method", "S512"}, errInvalidRequest},
		{"challenge too short", []string{"code_challenge", "abc", "code_challenge_method", "S256"}, errInvalidRequest},
		{"method without challenge", []string{"code_challenge_method", "S256"}, errInvalidRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{"response_type": {"code"}, "redirect_uri": {loopbackRedirect}, "state": {"s1"}}
			for i := 0; i+1 < len(tc.kv); i += 2 {
				if tc.kv[i+1] == "" {
					q.Del(tc.kv[i])
				} else {
					q.Set(tc.kv[i], tc.kv[i+1])
				}
			}
			loc := e.authorize(q)
			got := loc.Query()
			if got.Get("error") != tc.code || got.Get("error_description") == "" || got.Get("state") != "s1" || got.Has("code") {
				t.Errorf("redirect = %s, want error=%s with state", loc, tc.code)
			}
		})
	}
}

// §8.1: redirect_uri defaults to the first registered one; a registered loopback URI
// matches on any port; with nothing registered any loopback URI works and no redirect_uri
// leads to the /verification_code page.
func TestAuthorizeRedirectURIs(t *testing.T) {
	opts := testOptions()
	opts.RedirectURIs = []string{"http://127.0.0.1/callback", "https://app.example/cb"}
	e := newEnv(t, opts)
	if loc := e.authorize(url.Values{"response_type": {"code"}}); loc.Host != "127.0.0.1" || loc.Path != "/callback" {
		t.Errorf("default redirect = %s, want the first registered", loc)
	}
	if loc := e.authorize(url.Values{"response_type": {"code"}, "redirect_uri": {"http://127.0.0.1:49152/callback"}}); loc.Host != "127.0.0.1:49152" {
		t.Errorf("loopback on another port redirected to %s", loc)
	}
	if loc := e.authorize(url.Values{"response_type": {"code"}, "redirect_uri": {"https://app.example/cb"}}); loc.Host != "app.example" {
		t.Errorf("registered redirect = %s", loc)
	}

	open := newEnv(t, testOptions())
	for _, uri := range []string{"http://localhost:1234/cb", "http://[::1]:9/cb?x=1", "http://127.0.0.1:53682/"} {
		loc := open.authorize(url.Values{"response_type": {"code"}, "redirect_uri": {uri}})
		if !authCodeRe.MatchString(loc.Query().Get("code")) || !strings.HasPrefix(loc.String(), strings.Split(uri, "?")[0]) {
			t.Errorf("loopback %s redirected to %s", uri, loc)
		}
		if strings.Contains(uri, "x=1") && loc.Query().Get("x") != "1" {
			t.Errorf("existing query of %s lost: %s", uri, loc)
		}
	}
	open.get("/authorize?"+url.Values{"response_type": {"code"}, "client_id": {testClientID}, "redirect_uri": {"https://example.com/cb"}}.Encode()).
		wantError(t, http.StatusBadRequest, errInvalidRequest)

	loc := open.authorize(url.Values{"response_type": {"code"}})
	if loc.Path != "/verification_code" {
		t.Fatalf("no redirect_uri redirected to %s, want /verification_code", loc)
	}
	code := loc.Query().Get("code")
	page := open.get(loc.String())
	if page.status != http.StatusOK || !strings.Contains(string(page.body), code) {
		t.Errorf("/verification_code = %d: %s", page.status, page.body)
	}
}

// §8.1 (response_type=token): the implicit flow puts the token in the fragment.
func TestAuthorizeImplicitFlow(t *testing.T) {
	e := newEnv(t, testOptions())
	loc := e.authorize(url.Values{"response_type": {"token"}, "redirect_uri": {loopbackRedirect}, "state": {"a b%c"}})
	if loc.RawQuery != "" {
		t.Errorf("implicit answer in the query: %s", loc)
	}
	frag, err := url.ParseQuery(loc.EscapedFragment())
	if err != nil {
		t.Fatalf("fragment %q: %v", loc.Fragment, err)
	}
	access := frag.Get("access_token")
	if !accessTokenRe.MatchString(access) || frag.Get("token_type") != "bearer" || frag.Get("expires_in") != "31536000" || frag.Get("state") != "a b%c" {
		t.Errorf("fragment = %v", frag)
	}
	if frag.Has("refresh_token") {
		t.Error("implicit flow returned a refresh token")
	}
	if !e.s.Valid(access) {
		t.Error("implicit token not Valid")
	}
}
