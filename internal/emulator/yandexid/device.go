package yandexid

import (
	"errors"
	"html/template"
	"net/http"
)

// deviceCodeResponse is the observed /device/code body (fixtures/oauth-device-code.json):
// verification_url, not RFC 8628's verification_uri, and no verification_uri_complete.
type deviceCodeResponse struct {
	DeviceCode      string `json:"device_code"`
	ExpiresIn       int64  `json:"expires_in"`
	Interval        int64  `json:"interval"`
	UserCode        string `json:"user_code"`
	VerificationURL string `json:"verification_url"`
}

// handleDeviceCode serves POST /device/code (§8.2 step 1). Only client_id identifies the
// app here; a client_secret, if sent, is not checked.
func (s *Server) handleDeviceCode(w http.ResponseWriter, r *http.Request, rec *Request) {
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
	if bad := checkParams(r, form); bad != "" {
		writeError(w, rec, http.StatusBadRequest, errInvalidRequest, bad)
		return
	}
	clientID, _, code, desc := clientCredentials(r, form, rec)
	switch {
	case code != "":
		writeError(w, rec, http.StatusBadRequest, code, desc)
		return
	case clientID == "":
		writeError(w, rec, http.StatusBadRequest, errInvalidRequest, "client_id is required")
		return
	case !s.knownClient(clientID):
		writeError(w, rec, http.StatusBadRequest, errInvalidClient, "Client not found")
		return
	}
	deviceID, deviceName := form.Get("device_id"), form.Get("device_name")
	if bad := checkDevice(deviceID, deviceName); bad != "" {
		writeError(w, rec, http.StatusBadRequest, errInvalidRequest, bad)
		return
	}
	verification := s.opts.VerificationURL
	if verification == "" {
		verification = origin(r) + "/device"
	}

	s.mu.Lock()
	now := s.opts.Now()
	d := &deviceCode{
		clientID:   clientID,
		deviceID:   deviceID,
		deviceName: deviceName,
		scope:      form.Get("scope"),
		created:    now,
		expires:    now.Add(s.opts.DeviceCodeTTL),
	}
	d.code, d.userCode = s.newDeviceCodeLocked()
	s.devices[d.code] = d
	s.userCodes[d.userCode] = d
	interval := s.intervalSeconds()
	s.mu.Unlock()

	writeJSON(w, http.StatusOK, deviceCodeResponse{
		DeviceCode:      d.code,
		ExpiresIn:       int64(s.opts.DeviceCodeTTL.Seconds()),
		Interval:        interval,
		UserCode:        d.userCode,
		VerificationURL: verification,
	})
}

// origin is this server's scheme://host as the client reached it.
func origin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

var devicePage = template.Must(template.New("device").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Yandex ID emulator: connect a device</title></head>
<body>
{{if .Message}}<p id="message">{{.Message}}</p>{{end}}
<form method="post" action="/device">
<label>Code from the device: <input name="user_code" value="{{.UserCode}}" autofocus></label>
<button name="action" value="approve">Allow</button>
<button name="action" value="deny">Deny</button>
</form>
</body></html>
`))

// handleDevicePage is the human side of the device flow (the page at verification_url):
// GET shows a form, POST with user_code and action=approve|deny decides the code. It lets
// a person drive the emulator by hand; tests use ApproveDevice.
func (s *Server) handleDevicePage(w http.ResponseWriter, r *http.Request, rec *Request) {
	data := struct{ Message, UserCode string }{}
	status := http.StatusOK
	switch r.Method {
	case http.MethodGet:
		data.UserCode = r.URL.Query().Get("user_code")
	case http.MethodPost:
		form, bad := readForm(r)
		if bad != "" {
			status, data.Message = http.StatusBadRequest, bad
			break
		}
		rec.FormKeys = sortedKeys(form)
		userCode := form.Get("user_code")
		var err error
		if form.Get("action") == "deny" {
			err = s.DenyDevice(userCode)
			data.Message = "Access denied. You can close this page."
		} else {
			err = s.ApproveDevice(userCode)
			data.Message = "Access allowed. Return to your device."
		}
		switch {
		case errors.Is(err, ErrUnknownUserCode):
			status, data.Message, data.UserCode = http.StatusBadRequest, "Unknown code. Check it and try again.", userCode
		case errors.Is(err, ErrDeviceCodeExpired):
			status, data.Message = http.StatusBadRequest, "The code has expired. Request a new one on the device."
		case errors.Is(err, ErrDeviceCodeDecided):
			status, data.Message = http.StatusBadRequest, "The code has already been used."
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		status, data.Message = http.StatusMethodNotAllowed, "Method not allowed."
	}
	w.Header().Set("Content-Type", contentTypeHTML)
	w.WriteHeader(status)
	_ = devicePage.Execute(w, data)
}

// handleRevoke serves POST /revoke_token (§8.4). Only device-bound tokens can be revoked;
// revoking kills the access token and its refresh token.
//
// An unknown, expired or already revoked token answers {"status": "ok"}, as RFC 7009 §2.2
// asks, so logging out twice succeeds; Yandex's answer for that case is not recorded.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request, rec *Request) {
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
	if bad := checkParams(r, form); bad != "" {
		writeError(w, rec, http.StatusBadRequest, errInvalidRequest, bad)
		return
	}
	clientID, ok := s.authenticateClient(w, r, form, rec)
	if !ok {
		return
	}
	token := form.Get("access_token")
	if token == "" {
		writeError(w, rec, http.StatusBadRequest, errInvalidRequest, "access_token is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.byAccess[token]; g != nil {
		switch {
		case !clientOwns(g.clientID, clientID):
			writeError(w, rec, http.StatusBadRequest, errInvalidGrant, "The token was issued to another application")
			return
		case g.deviceID == "":
			writeError(w, rec, http.StatusBadRequest, errUnsupportedTokenType,
				"Only tokens issued with a device_id can be revoked")
			return
		}
		s.revokeLocked(g)
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
