package yandexid

import (
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// §8.2 step 1: the answer has the recorded key set (verification_url, not _uri) and shapes.
func TestDeviceCodeAnswerShape(t *testing.T) {
	e := newEnv(t, testOptions())
	a := e.post("/device/code", url.Values{"client_id": {testClientID}, "device_id": {testDeviceID}, "device_name": {"laptop"}, "scope": {"cloud_api:disk.read"}})
	a.wantOK(t)
	if got, want := sortedMapKeys(a.json), fixtureKeys(t, "oauth-device-code.json"); !slices.Equal(got, want) {
		t.Fatalf("keys = %v, want %v", got, want)
	}
	if dc, _ := a.json["device_code"].(string); !deviceCodeRe.MatchString(dc) {
		t.Errorf("device_code %q is not 32 hex", dc)
	}
	if uc, _ := a.json["user_code"].(string); !userCodeRe.MatchString(uc) {
		t.Errorf("user_code %q is not 8 lowercase letters/digits", uc)
	}
	if got := a.json["verification_url"]; got != e.srv.URL+"/device" {
		t.Errorf("verification_url = %v, want this server's /device page %s", got, e.srv.URL+"/device")
	}
	if a.json["interval"] != float64(1) || a.json["expires_in"] != float64(300) {
		t.Errorf("interval, expires_in = %v, %v; want 1, 300", a.json["interval"], a.json["expires_in"])
	}
}

// §8.2: verification_url is settable, and interval is whole seconds rounded up, at least 1.
func TestDeviceCodeIntervalAndVerificationURL(t *testing.T) {
	for _, tc := range []struct {
		interval time.Duration
		want     float64
	}{{0, 5}, {100 * time.Millisecond, 1}, {1500 * time.Millisecond, 2}, {7 * time.Second, 7}} {
		e := newEnv(t, Options{Interval: tc.interval, VerificationURL: "https://ya.ru/device", DeviceCodeTTL: 10 * time.Minute})
		a := e.post("/device/code", url.Values{"client_id": {"any-client"}})
		a.wantOK(t)
		if a.json["interval"] != tc.want {
			t.Errorf("Interval %v reported as %v, want %v", tc.interval, a.json["interval"], tc.want)
		}
		if a.json["verification_url"] != "https://ya.ru/device" || a.json["expires_in"] != float64(600) {
			t.Errorf("verification_url, expires_in = %v, %v", a.json["verification_url"], a.json["expires_in"])
		}
	}
}

// §8.2 step 1: errors of /device/code.
func TestDeviceCodeErrors(t *testing.T) {
	e := newEnv(t, testOptions())
	cases := []struct {
		name string
		form url.Values
		code string
	}{
		{"missing client_id", url.Values{"device_id": {testDeviceID}}, errInvalidRequest},
		{"unknown client_id", url.Values{"client_id": {"someone-else"}}, errInvalidClient},
		{"device_id too short", url.Values{"client_id": {testClientID}, "device_id": {"abcde"}}, errInvalidRequest},
		{"device_id too long", url.Values{"client_id": {testClientID}, "device_id": {strings.Repeat("d", 51)}}, errInvalidRequest},
		{"device_id not printable", url.Values{"client_id": {testClientID}, "device_id": {"abc\tdef"}}, errInvalidRequest},
		{"device_id not ASCII", url.Values{"client_id": {testClientID}, "device_id": {"устройство"}}, errInvalidRequest},
		{"device_name too long", url.Values{"client_id": {testClientID}, "device_name": {strings.Repeat("я", 101)}}, errInvalidRequest},
		{"duplicated parameter", url.Values{"client_id": {testClientID, testClientID}}, errInvalidRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.post("/device/code", tc.form).wantError(t, http.StatusBadRequest, tc.code)
		})
	}
	t.Run("limits are inclusive", func(t *testing.T) {
		e.post("/device/code", url.Values{"client_id": {testClientID}, "device_id": {"abcdef"}, "device_name": {strings.Repeat("я", 100)}}).wantOK(t)
		e.post("/device/code", url.Values{"client_id": {testClientID}, "device_id": {strings.Repeat("d", 50)}}).wantOK(t)
	})
	t.Run("query parameters", func(t *testing.T) {
		e.post("/device/code?client_id="+testClientID, url.Values{}).wantError(t, http.StatusBadRequest, errInvalidRequest)
	})
	t.Run("GET", func(t *testing.T) {
		a := e.get("/device/code?client_id=" + testClientID)
		a.wantError(t, http.StatusMethodNotAllowed, errInvalidRequest)
		if a.header.Get("Allow") != http.MethodPost {
			t.Errorf("Allow = %q", a.header.Get("Allow"))
		}
	})
}

// §8.2 end to end: pending (the recorded body), approve, token, then the code is used up.
func TestDeviceFlowEndToEnd(t *testing.T) {
	e := newEnv(t, testOptions())
	dc, uc := e.requestDeviceCode()
	if got := e.s.PendingUserCodes(); !slices.Equal(got, []string{uc}) {
		t.Fatalf("PendingUserCodes = %v, want [%s]", got, uc)
	}

	pending := e.pollDevice(dc)
	pending.wantError(t, http.StatusBadRequest, errAuthorizationPending)
	if want := readFixture(t, "oauth-error-pending.json"); !reflect.DeepEqual(pending.json, want) {
		t.Errorf("pending body = %s, want %v", pending.body, want)
	}

	if err := e.s.ApproveDevice(uc); err != nil {
		t.Fatalf("ApproveDevice: %v", err)
	}
	if got := e.s.PendingUserCodes(); len(got) != 0 {
		t.Errorf("PendingUserCodes after approval = %v", got)
	}
	e.clock.Advance(time.Second)
	a := e.pollDevice(dc)
	access, _ := a.wantToken(t, "oauth-token-device.json")
	if a.expiresIn() != 31536000 {
		t.Errorf("expires_in = %d, want 31536000", a.expiresIn())
	}
	if !e.s.Valid(access) {
		t.Fatal("issued token is not Valid")
	}
	info, ok := e.s.Lookup(access)
	if !ok || info.DeviceID != testDeviceID || info.ClientID != testClientID {
		t.Errorf("Lookup = %+v, %v; want device-bound to %q for %q", info, ok, testDeviceID, testClientID)
	}

	e.pollDevice(dc).wantError(t, http.StatusBadRequest, errInvalidGrant)
	if err := e.s.ApproveDevice(uc); !errors.Is(err, ErrDeviceCodeDecided) {
		t.Errorf("ApproveDevice of a used code = %v, want ErrDeviceCodeDecided", err)
	}
}

// §8.2 step 3: Yandex's parameter names only; RFC 8628's spelling fails loudly.
func TestDevicePollParameterNames(t *testing.T) {
	e := newEnv(t, testOptions())
	dc, _ := e.requestDeviceCode()

	e.post("/token", creds("grant_type", rfcDeviceGrant, "device_code", dc)).
		wantError(t, http.StatusBadRequest, errUnsupportedGrantType)
	e.post("/token", creds("grant_type", rfcDeviceGrant, "code", dc)).
		wantError(t, http.StatusBadRequest, errUnsupportedGrantType)
	e.post("/token", creds("grant_type", "device_code", "device_code", dc)).
		wantError(t, http.StatusBadRequest, errInvalidRequest)
	// An RFC-style device_code next to code does no harm.
	e.post("/token", creds("grant_type", "device_code", "code", dc, "device_code", dc)).
		wantError(t, http.StatusBadRequest, errAuthorizationPending)
}

// §8.2, §8.5: malformed, unknown and foreign device codes.
func TestDevicePollBadCodes(t *testing.T) {
	e := newEnv(t, Options{Interval: time.Second}) // any client, so a foreign one can poll
	dc, _ := e.requestDeviceCode()

	e.pollDevice("not-hex").wantError(t, http.StatusBadRequest, errBadVerificationCode)
	e.pollDevice(dc[:31]).wantError(t, http.StatusBadRequest, errBadVerificationCode)
	e.pollDevice(dc[:31]+"g").wantError(t, http.StatusBadRequest, errBadVerificationCode)
	e.pollDevice(strings.Repeat("0", 32)).wantError(t, http.StatusBadRequest, errInvalidGrant)
	e.post("/token", url.Values{"client_id": {"other-app"}, "grant_type": {"device_code"}, "code": {dc}}).
		wantError(t, http.StatusBadRequest, errInvalidGrant)
	e.pollDevice(dc).wantError(t, http.StatusBadRequest, errAuthorizationPending)
}

// §8.2: a denied code answers invalid_grant and cannot be approved afterwards.
func TestDeviceDeny(t *testing.T) {
	e := newEnv(t, testOptions())
	dc, uc := e.requestDeviceCode()
	if err := e.s.DenyDevice(strings.ToUpper(uc)); err != nil {
		t.Fatalf("DenyDevice: %v", err)
	}
	e.pollDevice(dc).wantError(t, http.StatusBadRequest, errInvalidGrant)
	if err := e.s.ApproveDevice(uc); !errors.Is(err, ErrDeviceCodeDecided) {
		t.Errorf("ApproveDevice after deny = %v, want ErrDeviceCodeDecided", err)
	}
	if err := e.s.ApproveDevice("zzzzzzzz"); !errors.Is(err, ErrUnknownUserCode) {
		t.Errorf("ApproveDevice(unknown) = %v, want ErrUnknownUserCode", err)
	}
	if err := e.s.DenyDevice("zzzzzzzz"); !errors.Is(err, ErrUnknownUserCode) {
		t.Errorf("DenyDevice(unknown) = %v, want ErrUnknownUserCode", err)
	}
}

// §8.2: after expires_in the code answers invalid_grant, also once approved.
func TestDeviceCodeExpiry(t *testing.T) {
	e := newEnv(t, testOptions())
	dc, uc := e.requestDeviceCode()
	dc2, uc2 := e.requestDeviceCode()
	if err := e.s.ApproveDevice(uc2); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(299 * time.Second)
	e.pollDevice(dc).wantError(t, http.StatusBadRequest, errAuthorizationPending)
	e.clock.Advance(time.Second)
	e.pollDevice(dc).wantError(t, http.StatusBadRequest, errInvalidGrant)
	e.pollDevice(dc2).wantError(t, http.StatusBadRequest, errInvalidGrant)
	if err := e.s.ApproveDevice(uc); !errors.Is(err, ErrDeviceCodeExpired) {
		t.Errorf("ApproveDevice after expiry = %v, want ErrDeviceCodeExpired", err)
	}
	if got := e.s.PendingUserCodes(); len(got) != 0 {
		t.Errorf("PendingUserCodes after expiry = %v", got)
	}
}

// Options.AutoApprove (contract: "approved at the second poll").
func TestDeviceAutoApprove(t *testing.T) {
	opts := testOptions()
	opts.AutoApprove = true
	e := newEnv(t, opts)
	dc, _ := e.requestDeviceCode()
	e.pollDevice(dc).wantError(t, http.StatusBadRequest, errAuthorizationPending)
	e.clock.Advance(time.Second)
	e.pollDevice(dc).wantToken(t, "oauth-token-device.json")
}

// Options.SlowDown (§8.2 poll table, RFC 8628 §3.5): once per code, only when too fast.
func TestDeviceSlowDown(t *testing.T) {
	opts := testOptions()
	opts.SlowDown = true
	opts.Interval = 2 * time.Second
	e := newEnv(t, opts)
	dc, uc := e.requestDeviceCode()

	e.pollDevice(dc).wantError(t, http.StatusBadRequest, errAuthorizationPending)
	e.clock.Advance(2 * time.Second)
	e.pollDevice(dc).wantError(t, http.StatusBadRequest, errAuthorizationPending) // on time
	e.clock.Advance(time.Second)
	e.pollDevice(dc).wantError(t, http.StatusBadRequest, errSlowDown) // too soon
	e.pollDevice(dc).wantError(t, http.StatusBadRequest, errAuthorizationPending)
	if err := e.s.ApproveDevice(uc); err != nil {
		t.Fatal(err)
	}
	e.pollDevice(dc).wantToken(t, "oauth-token-device.json")
}

// §8.2 step 2: the human page approves and denies by user code, typed loosely.
func TestDevicePage(t *testing.T) {
	e := newEnv(t, testOptions())
	dc, uc := e.requestDeviceCode()
	dc2, uc2 := e.requestDeviceCode()

	page := e.get("/device?user_code=" + uc)
	if page.status != http.StatusOK || !strings.Contains(string(page.body), `value="`+uc+`"`) ||
		!strings.HasPrefix(page.header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /device = %d %q: %s", page.status, page.header.Get("Content-Type"), page.body)
	}

	typed := strings.ToUpper(uc[:4] + "-" + uc[4:])
	if a := e.post("/device", url.Values{"user_code": {typed}, "action": {"approve"}}); a.status != http.StatusOK {
		t.Fatalf("approve via page = %d: %s", a.status, a.body)
	}
	e.pollDevice(dc).wantToken(t, "oauth-token-device.json")

	if a := e.post("/device", url.Values{"user_code": {uc2}, "action": {"deny"}}); a.status != http.StatusOK {
		t.Fatalf("deny via page = %d: %s", a.status, a.body)
	}
	e.pollDevice(dc2).wantError(t, http.StatusBadRequest, errInvalidGrant)

	if a := e.post("/device", url.Values{"user_code": {"nosuchco"}, "action": {"approve"}}); a.status != http.StatusBadRequest {
		t.Errorf("unknown code via page = %d, want 400", a.status)
	}
	if a := e.post("/device", url.Values{"user_code": {uc}, "action": {"approve"}}); a.status != http.StatusBadRequest {
		t.Errorf("used code via page = %d, want 400", a.status)
	}
}

// §8.2: a device-flow token is bound to the device_id of /device/code, or else to the one
// sent with the poll, so it can be revoked (§8.4).
func TestDeviceTokenBinding(t *testing.T) {
	e := newEnv(t, testOptions())
	a := e.post("/device/code", url.Values{"client_id": {testClientID}})
	a.wantOK(t)
	dc, _ := a.json["device_code"].(string)
	uc, _ := a.json["user_code"].(string)
	if err := e.s.ApproveDevice(uc); err != nil {
		t.Fatal(err)
	}
	access, _ := e.post("/token", creds("grant_type", "device_code", "code", dc, "device_id", "poll-device", "device_name", "NAS")).
		wantToken(t, "oauth-token-device.json")
	if info, _ := e.s.Lookup(access); info.DeviceID != "poll-device" || info.DeviceName != "NAS" {
		t.Errorf("Lookup = %+v, want device poll-device/NAS", info)
	}
}
