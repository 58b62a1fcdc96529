package yandexid

import (
	"net/http"
	"net/url"
	"reflect"
	"testing"
)

// §8.4: a device-bound token is revoked with {"status": "ok"}; it and its refresh token die.
func TestRevokeDeviceBoundToken(t *testing.T) {
	e := newEnv(t, testOptions())
	dc, uc := e.requestDeviceCode()
	if err := e.s.ApproveDevice(uc); err != nil {
		t.Fatal(err)
	}
	access, refresh := e.pollDevice(dc).wantToken(t, "oauth-token-device.json")

	a := e.post("/revoke_token", creds("access_token", access))
	a.wantOK(t)
	if want := readFixture(t, "oauth-revoke.json"); !reflect.DeepEqual(a.json, want) {
		t.Errorf("revoke body = %s, want %v", a.body, want)
	}
	if e.s.Valid(access) {
		t.Error("revoked token still Valid")
	}
	e.post("/token", creds("grant_type", "refresh_token", "refresh_token", refresh)).
		wantError(t, http.StatusBadRequest, errInvalidGrant)
	// Revoking again is harmless (RFC 7009 §2.2; Yandex's answer is not recorded).
	e.post("/revoke_token", creds("access_token", access)).wantOK(t)
}

// §8.4: client credentials may come as HTTP Basic here too.
func TestRevokeBasicAuth(t *testing.T) {
	e := newEnv(t, testOptions())
	access, _ := e.s.IssueToken(0)
	e.post("/revoke_token", url.Values{"access_token": {access}}, basic(testClientID, testSecret)).wantOK(t)
	if e.s.Valid(access) {
		t.Error("token revoked with Basic credentials still Valid")
	}
}

// §8.4: tokens issued without a device_id cannot be revoked this way.
func TestRevokeRefusesUnboundTokens(t *testing.T) {
	opts := testOptions()
	opts.StaticToken = "static-test-token"
	e := newEnv(t, opts)
	code := e.authCode(url.Values{"response_type": {"code"}, "redirect_uri": {loopbackRedirect}})
	access, _ := e.post("/token", creds("grant_type", "authorization_code", "code", code)).wantToken(t, "oauth-token-observed.json")

	for _, tok := range []string{access, "static-test-token"} {
		e.post("/revoke_token", creds("access_token", tok)).wantError(t, http.StatusBadRequest, errUnsupportedTokenType)
		if !e.s.Valid(tok) {
			t.Error("a refused revocation killed the token")
		}
	}
	// The Go-side Revoke models the user revoking access, which works on any token.
	e.s.Revoke(access)
	if e.s.Valid(access) {
		t.Error("Revoke did not kill an unbound token")
	}
}

// §8.4, §8.5: errors of /revoke_token.
func TestRevokeErrors(t *testing.T) {
	e := newEnv(t, Options{ClientSecret: testSecret})
	dc, uc := e.requestDeviceCode()
	if err := e.s.ApproveDevice(uc); err != nil {
		t.Fatal(err)
	}
	access, _ := e.pollDevice(dc).wantToken(t, "oauth-token-device.json")

	e.post("/revoke_token", creds()).wantError(t, http.StatusBadRequest, errInvalidRequest)
	e.post("/revoke_token", url.Values{"client_id": {testClientID}, "client_secret": {"wrong"}, "access_token": {access}}).
		wantError(t, http.StatusBadRequest, errInvalidClient)
	e.post("/revoke_token", url.Values{"client_id": {"another-app"}, "client_secret": {testSecret}, "access_token": {access}}).
		wantError(t, http.StatusBadRequest, errInvalidGrant)
	e.post("/revoke_token?access_token="+access, creds()).wantError(t, http.StatusBadRequest, errInvalidRequest)
	e.post("/revoke_token", creds("access_token", access), header("Bearer x")).wantError(t, http.StatusBadRequest, errBasicAuthRequired)
	e.get("/revoke_token").wantError(t, http.StatusMethodNotAllowed, errInvalidRequest)
	if !e.s.Valid(access) {
		t.Fatal("a failed revocation killed the token")
	}
	e.post("/revoke_token", creds("access_token", "y0_never-issued")).wantOK(t)
}

// §8.4: an app holds at most 30 device-bound tokens; the 31st kills the oldest.
func TestDeviceBoundTokenLimit(t *testing.T) {
	s := New(Options{})
	var tokens []string
	for range maxDeviceTokens + 1 {
		a, _ := s.IssueToken(0)
		tokens = append(tokens, a)
	}
	if s.Valid(tokens[0]) {
		t.Error("oldest device-bound token survived the 31st")
	}
	for i, tok := range tokens[1:] {
		if !s.Valid(tok) {
			t.Fatalf("token %d of the newest 30 is not Valid", i+1)
		}
	}
	// A revoked token frees its slot.
	s.Revoke(tokens[1])
	a, _ := s.IssueToken(0)
	if !s.Valid(tokens[2]) || !s.Valid(a) {
		t.Error("issuing into a freed slot killed a live token")
	}
}
