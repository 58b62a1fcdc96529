package yandexid

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// Content types of oauth.yandex.ru answers (API document §1.5, fixtures/README.md).
const (
	contentTypeSuccess = "application/json; charset=utf-8"
	contentTypeError   = "application/json"
	contentTypeHTML    = "text/html; charset=utf-8"

	maxBodyBytes = 1 << 20
)

// OAuth error codes as Yandex spells them (§8.5). The two header errors are names with
// spaces: the documentation lists them in the same "error" column as the others.
const (
	errAuthorizationPending   = "authorization_pending"
	errBadVerificationCode    = "bad_verification_code"
	errInvalidClient          = "invalid_client"
	errInvalidGrant           = "invalid_grant"
	errInvalidRequest         = "invalid_request"
	errUnsupportedGrantType   = "unsupported_grant_type"
	errSlowDown               = "slow_down"
	errUnsupportedTokenType   = "unsupported_token_type"
	errAccessDenied           = "access_denied"
	errUnsupportedResponse    = "unsupported_response_type"
	errBasicAuthRequired      = "Basic auth required"
	errMalformedAuthorization = "Malformed Authorization header"
)

// exchange carries one request's record through its handler so the handler can add what
// only it knows (form keys, grant type, the error code it answered).
type exchange struct {
	rec    *Request
	status int
}

type recordingWriter struct {
	http.ResponseWriter
	ex *exchange
}

func (w *recordingWriter) WriteHeader(code int) {
	if w.ex.status == 0 {
		w.ex.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	if w.ex.status == 0 {
		w.ex.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// record wraps a handler so every answered request lands in Requests.
func (s *Server) record(h func(http.ResponseWriter, *http.Request, *Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec := &Request{Method: r.Method, Path: r.URL.Path, QueryKeys: sortedKeys(r.URL.Query())}
		ex := &exchange{rec: rec}
		h(&recordingWriter{ResponseWriter: w, ex: ex}, r, rec)
		rec.Status = ex.status
		if rec.Status == 0 {
			rec.Status = http.StatusOK
		}
		s.mu.Lock()
		s.requests = append(s.requests, *rec)
		s.mu.Unlock()
	}
}

func sortedKeys(v url.Values) []string {
	if len(v) == 0 {
		return nil
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	data, err := json.Marshal(body)
	if err != nil {
		// Only fixed structs are marshalled here; failing is a bug in the emulator.
		panic(fmt.Sprintf("yandexid: marshal answer: %v", err))
	}
	w.Header().Set("Content-Type", contentTypeSuccess)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// oauthError is the token endpoint's error body (§8.5), keys in the recorded order.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func writeError(w http.ResponseWriter, rec *Request, status int, code, description string) {
	rec.Error = code
	data, _ := json.Marshal(oauthError{Error: code, Description: description})
	w.Header().Set("Content-Type", contentTypeError)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

func methodNotAllowed(w http.ResponseWriter, rec *Request, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, rec, http.StatusMethodNotAllowed, errInvalidRequest, "method not allowed, use "+allow)
}

// readForm parses a POST body of a form endpoint. Yandex takes parameters only from the
// body (§8.1), so any URL query is an invalid_request, as is a repeated parameter (§8.5).
// A missing Content-Type is tolerated; a different one is not.
func readForm(r *http.Request) (url.Values, string) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return nil, "the body must be application/x-www-form-urlencoded"
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, "cannot read the request body"
	}
	if len(body) > maxBodyBytes {
		return nil, "request body too large"
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, "malformed form body"
	}
	return form, ""
}

// checkParams rejects URL query parameters and repeated body parameters.
func checkParams(r *http.Request, form url.Values) string {
	if r.URL.RawQuery != "" {
		return "parameters must be sent in the request body, not in the URL"
	}
	for k, v := range form {
		if len(v) > 1 {
			return "parameter " + k + " is duplicated"
		}
	}
	return ""
}

// clientCredentials returns the client's id and secret from an Authorization: Basic
// header when present (the body values are then ignored, §8.1) or else from the body. A
// non-empty errCode means the header was unusable.
func clientCredentials(r *http.Request, form url.Values, rec *Request) (id, secret, errCode, desc string) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return form.Get("client_id"), form.Get("client_secret"), "", ""
	}
	rec.BasicAuth = true
	scheme, value, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return "", "", errBasicAuthRequired, "the Authorization header must use the Basic scheme"
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value))
	if err != nil {
		return "", "", errMalformedAuthorization, "the Basic credentials are not valid base64"
	}
	id, secret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", errMalformedAuthorization, "the Basic credentials are not client_id:client_secret"
	}
	// RFC 6749 §2.3.1 form-encodes both halves before base64; golang.org/x/oauth2 does.
	if u, err := url.QueryUnescape(id); err == nil {
		id = u
	}
	if u, err := url.QueryUnescape(secret); err == nil {
		secret = u
	}
	return id, secret, "", ""
}

// authenticateClient checks a client at the token and revocation endpoints and answers
// the error itself when it fails.
func (s *Server) authenticateClient(w http.ResponseWriter, r *http.Request, form url.Values, rec *Request) (string, bool) {
	id, secret, code, desc := clientCredentials(r, form, rec)
	if code != "" {
		writeError(w, rec, http.StatusBadRequest, code, desc)
		return "", false
	}
	if id == "" {
		writeError(w, rec, http.StatusBadRequest, errInvalidRequest, "client_id is required")
		return "", false
	}
	if !s.knownClient(id) {
		writeError(w, rec, http.StatusBadRequest, errInvalidClient, "Client not found")
		return "", false
	}
	if s.opts.ClientSecret != "" && secret != s.opts.ClientSecret {
		writeError(w, rec, http.StatusBadRequest, errInvalidClient, "Wrong client secret")
		return "", false
	}
	return id, true
}

func (s *Server) knownClient(id string) bool {
	return s.opts.ClientID == "" || id == s.opts.ClientID
}

// checkDevice validates device_id (6–50 printable ASCII) and device_name (≤ 100
// characters) as documented for /authorize, /device/code and /token (§8.1, §8.2).
func checkDevice(deviceID, deviceName string) string {
	if deviceID != "" {
		if n := len(deviceID); n < 6 || n > 50 {
			return "device_id must be 6 to 50 characters long"
		}
		for i := range len(deviceID) {
			if c := deviceID[i]; c < 0x20 || c > 0x7e {
				return "device_id must be printable ASCII"
			}
		}
	}
	if utf8.RuneCountInString(deviceName) > 100 {
		return "device_name must be at most 100 characters long"
	}
	return ""
}

// clientOwns reports whether a grant, code or device code bound to owner may be used by
// client; "" (seeded tokens) belongs to every client.
func clientOwns(owner, client string) bool {
	return owner == "" || owner == client
}
