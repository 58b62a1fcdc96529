package yandexid

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func basic(id, secret string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret)) }
}

func header(v string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", v) }
}

// §8.1 step 3, §8.5: client credentials in the body or in HTTP Basic; the header wins.
func TestTokenClientAuthentication(t *testing.T) {
	e := newEnv(t, testOptions())
	refreshWith := func(form url.Values, mods ...func(*http.Request)) answer {
		_, refresh := e.s.IssueToken(0)
		form.Set("grant_type", "refresh_token")
		form.Set("refresh_token", refresh)
		return e.post("/token", form, mods...)
	}

	refreshWith(creds()).wantToken(t, "oauth-token-refreshed.json")
	refreshWith(url.Values{}, basic(testClientID, testSecret)).wantToken(t, "oauth-token-refreshed.json")
	// With the header present the body's (wrong) values are ignored…
	refreshWith(url.Values{"client_id": {"x"}, "client_secret": {"wrong"}}, basic(testClientID, testSecret)).
		wantToken(t, "oauth-token-refreshed.json")
	// …and the body's right values do not rescue a wrong header.
	refreshWith(creds(), basic(testClientID, "wrong")).wantError(t, http.StatusBadRequest, errInvalidClient)

	cases := []struct {
		name string
		form url.Values
		mod  func(*http.Request)
		code string
	}{
		{"wrong secret", url.Values{"client_id": {testClientID}, "client_secret": {"wrong"}}, nil, errInvalidClient},
		{"missing secret", url.Values{"client_id": {testClientID}}, nil, errInvalidClient},
		{"unknown client", url.Values{"client_id": {"other"}, "client_secret": {testSecret}}, nil, errInvalidClient},
		{"missing client_id", url.Values{"client_secret": {testSecret}}, nil, errInvalidRequest},
		{"Bearer header", creds(), header("Bearer abc"), errBasicAuthRequired},
		{"OAuth header", creds(), header("OAuth y0_abc"), errBasicAuthRequired},
		{"bad base64", creds(), header("Basic !!!notbase64"), errMalformedAuthorization},
		{"no colon", creds(), header("Basic " + base64.StdEncoding.EncodeToString([]byte(testClientID))), errMalformedAuthorization},
		{"Basic wrong client", url.Values{}, basic("other", testSecret), errInvalidClient},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var mods []func(*http.Request)
			if tc.mod != nil {
				mods = append(mods, tc.mod)
			}
			refreshWith(tc.form, mods...).wantError(t, http.StatusBadRequest, tc.code)
		})
	}
}

// Empty ClientID and ClientSecret accept any client and any (or no) secret.
func TestTokenPermissiveClient(t *testing.T) {
	e := newEnv(t, Options{})
	_, refresh := e.s.IssueToken(0)
	e.post("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {"whatever"}}).
		wantToken(t, "oauth-token-refreshed.json")
}

// §8.1, §8.5: parameters only in a form body, each once; grant_type required and known.
func TestTokenRequestFormat(t *testing.T) {
	e := newEnv(t, testOptions())
	_, refresh := e.s.IssueToken(0)
	form := creds("grant_type", "refresh_token", "refresh_token", refresh)

	e.post("/token?"+form.Encode(), url.Values{}).wantError(t, http.StatusBadRequest, errInvalidRequest)
	e.post("/token?grant_type=refresh_token", form).wantError(t, http.StatusBadRequest, errInvalidRequest)
	e.post("/token", form, func(r *http.Request) { r.Header.Set("Content-Type", "application/json") }).
		wantError(t, http.StatusBadRequest, errInvalidRequest)
	dup := creds("grant_type", "refresh_token", "refresh_token", refresh)
	dup.Add("grant_type", "refresh_token")
	e.post("/token", dup).wantError(t, http.StatusBadRequest, errInvalidRequest)
	e.post("/token", creds()).wantError(t, http.StatusBadRequest, errInvalidRequest)
	e.post("/token", creds("grant_type", "password")).wantError(t, http.StatusBadRequest, errUnsupportedGrantType)
	e.post("/token", creds("grant_type", "client_credentials")).wantError(t, http.StatusBadRequest, errUnsupportedGrantType)
	e.post("/token", creds("grant_type", "refresh_token")).wantError(t, http.StatusBadRequest, errInvalidRequest)
	a := e.get("/token")
	a.wantError(t, http.StatusMethodNotAllowed, errInvalidRequest)

	// The refresh token was never spent by the failures above; without a Content-Type
	// the body is still read as a form.
	e.post("/token", form, func(r *http.Request) { r.Header.Del("Content-Type") }).
		wantToken(t, "oauth-token-refreshed.json")
}

// §8.3: every refresh rotates the refresh token, the old one is refused, and by default
// the access token is replaced and the old one dies.
func TestRefreshRotation(t *testing.T) {
	e := newEnv(t, testOptions())
	access0, refresh0 := e.s.IssueToken(0)
	e.clock.Advance(24 * time.Hour)

	a := e.post("/token", creds("grant_type", "refresh_token", "refresh_token", refresh0))
	access1, refresh1 := a.wantToken(t, "oauth-token-refreshed.json")
	if refresh1 == refresh0 || access1 == access0 {
		t.Fatalf("refresh did not rotate: access %v, refresh %v", access1 != access0, refresh1 != refresh0)
	}
	if a.expiresIn() != 31536000 {
		t.Errorf("expires_in = %d, want a full 31536000", a.expiresIn())
	}
	if e.s.Valid(access0) || !e.s.Valid(access1) {
		t.Errorf("Valid(old) = %v, Valid(new) = %v; want false, true", e.s.Valid(access0), e.s.Valid(access1))
	}
	e.post("/token", creds("grant_type", "refresh_token", "refresh_token", refresh0)).
		wantError(t, http.StatusBadRequest, errInvalidGrant)

	_, refresh2 := e.post("/token", creds("grant_type", "refresh_token", "refresh_token", refresh1)).
		wantToken(t, "oauth-token-refreshed.json")
	if refresh2 == refresh1 {
		t.Error("second refresh kept the refresh token")
	}
	e.post("/token", creds("grant_type", "refresh_token", "refresh_token", refresh1)).
		wantError(t, http.StatusBadRequest, errInvalidGrant)
}

// §8.3, §9.17 with RefreshKeepsAccessToken: the same access token with a renewed lifetime
// and a new refresh token, as recorded; an expired access token is replaced.
func TestRefreshKeepsAccessToken(t *testing.T) {
	opts := testOptions()
	opts.RefreshKeepsAccessToken = true
	e := newEnv(t, opts)
	access0, refresh0 := e.s.IssueToken(0)
	e.clock.Advance(30 * 24 * time.Hour)

	a := e.post("/token", creds("grant_type", "refresh_token", "refresh_token", refresh0))
	access1, refresh1 := a.wantToken(t, "oauth-token-refreshed.json")
	if access1 != access0 || refresh1 == refresh0 {
		t.Fatalf("same access = %v, new refresh = %v; want true, true", access1 == access0, refresh1 != refresh0)
	}
	if a.expiresIn() != 31536000 {
		t.Errorf("expires_in = %d, want the renewed 31536000", a.expiresIn())
	}
	e.clock.Advance(364 * 24 * time.Hour) // past the first lifetime, inside the renewed one
	if !e.s.Valid(access0) {
		t.Error("kept access token lost its renewed lifetime")
	}

	e.s.Expire(access0)
	access2, _ := e.post("/token", creds("grant_type", "refresh_token", "refresh_token", refresh1)).
		wantToken(t, "oauth-token-refreshed.json")
	if access2 == access0 || !e.s.Valid(access2) || e.s.Valid(access0) {
		t.Errorf("refresh after Expire: new token %v, valid %v, old valid %v", access2 != access0, e.s.Valid(access2), e.s.Valid(access0))
	}
}

// §8.3: an expired, unknown or foreign refresh token is invalid_grant.
func TestRefreshInvalid(t *testing.T) {
	e := newEnv(t, Options{TokenTTL: time.Hour})
	_, refresh := e.s.IssueToken(0)
	e.clock.Advance(time.Hour)
	e.post("/token", creds("grant_type", "refresh_token", "refresh_token", refresh)).wantError(t, http.StatusBadRequest, errInvalidGrant)
	e.post("/token", creds("grant_type", "refresh_token", "refresh_token", "1:nope")).wantError(t, http.StatusBadRequest, errInvalidGrant)

	// A token issued to one app cannot be refreshed by another.
	code := e.authCode(url.Values{"response_type": {"code"}, "redirect_uri": {loopbackRedirect}})
	a := e.post("/token", creds("grant_type", "authorization_code", "code", code))
	access, mine := a.wantToken(t, "oauth-token-observed.json")
	if a.expiresIn() != 3600 {
		t.Errorf("expires_in = %d, want TokenTTL 3600", a.expiresIn())
	}
	e.post("/token", url.Values{"client_id": {"another-app"}, "grant_type": {"refresh_token"}, "refresh_token": {mine}}).
		wantError(t, http.StatusBadRequest, errInvalidGrant)
	if !e.s.Valid(access) {
		t.Error("a foreign client's failed refresh killed the token")
	}
}

// Valid and expiry through the Options.Now clock; Expire; the static token.
func TestValidAndExpiry(t *testing.T) {
	opts := testOptions()
	opts.StaticToken = "static-test-token"
	e := newEnv(t, opts)

	access, refresh := e.s.IssueToken(time.Hour)
	if !accessTokenRe.MatchString(access) || !refreshTokenRe.MatchString(refresh) {
		t.Errorf("IssueToken shapes: %q, %q", access, refresh)
	}
	if !e.s.Valid(access) {
		t.Fatal("fresh token not Valid")
	}
	e.clock.Advance(time.Hour - time.Nanosecond)
	if !e.s.Valid(access) {
		t.Error("token invalid before its expiry")
	}
	e.clock.Advance(time.Nanosecond)
	if e.s.Valid(access) {
		t.Error("token Valid at its expiry")
	}

	other, _ := e.s.IssueToken(0)
	e.s.Expire(other)
	if e.s.Valid(other) {
		t.Error("Expire did not expire")
	}

	if e.s.Valid("") || e.s.Valid("y0_unknown") {
		t.Error("unknown token Valid")
	}
	if !e.s.Valid("static-test-token") {
		t.Fatal("static token not Valid")
	}
	e.clock.Advance(100 * 365 * 24 * time.Hour)
	if !e.s.Valid("static-test-token") {
		t.Error("static token expired")
	}
	if info, ok := e.s.Lookup("static-test-token"); !ok || !info.Expiry.IsZero() || info.DeviceID != "" {
		t.Errorf("Lookup(static) = %+v, %v", info, ok)
	}
	e.s.Revoke("static-test-token")
	if e.s.Valid("static-test-token") {
		t.Error("Revoke did not kill the static token")
	}
}

// Interval is reported rounded up to whole seconds; the slow_down check uses that value.
func TestIntervalSeconds(t *testing.T) {
	for in, want := range map[time.Duration]int64{
		time.Nanosecond: 1, time.Second: 1, time.Second + 1: 2, 5 * time.Second: 5,
	} {
		if got := New(Options{Interval: in}).intervalSeconds(); got != want {
			t.Errorf("intervalSeconds(%v) = %d, want %d", in, got, want)
		}
	}
}

// Requests records names, never values: no secret or token reaches a test log.
func TestRequestsRecordNamesOnly(t *testing.T) {
	e := newEnv(t, testOptions())
	_, refresh := e.s.IssueToken(0)
	a := e.post("/token", creds("grant_type", "refresh_token", "refresh_token", refresh))
	access, newRefresh := a.wantToken(t, "oauth-token-refreshed.json")
	e.post("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {newRefresh}}, basic(testClientID, "wrong"))

	reqs := e.s.Requests()
	if len(reqs) != 2 {
		t.Fatalf("Requests = %d, want 2", len(reqs))
	}
	r0, r1 := reqs[0], reqs[1]
	if r0.Method != http.MethodPost || r0.Path != "/token" || r0.GrantType != "refresh_token" || r0.Status != 200 || r0.Error != "" || r0.BasicAuth {
		t.Errorf("first request = %+v", r0)
	}
	if strings.Join(r0.FormKeys, ",") != "client_id,client_secret,grant_type,refresh_token" {
		t.Errorf("FormKeys = %v", r0.FormKeys)
	}
	if r1.Status != 400 || r1.Error != errInvalidClient || !r1.BasicAuth {
		t.Errorf("second request = %+v", r1)
	}
	dump := fmt.Sprintf("%+v", reqs)
	for _, secret := range []string{testSecret, refresh, newRefresh, access} {
		if strings.Contains(dump, secret) {
			t.Errorf("a recorded request contains a secret value")
		}
	}
	reqs[0].FormKeys[0] = "mutated"
	if e.s.Requests()[0].FormKeys[0] != "client_id" {
		t.Error("Requests returned shared slices")
	}
}
