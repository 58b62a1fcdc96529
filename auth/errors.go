package auth

import (
	"errors"
	"fmt"
	"net/http"

	"golang.org/x/oauth2"
)

// Errors callers branch on with errors.Is. None of them, and no error this package returns,
// carries a token, a code or the client secret.
var (
	// ErrLoginRequired: there is no token, or the server refused to refresh it
	// (invalid_grant: revoked, expired, password changed). Only `yasyncd auth login` helps.
	ErrLoginRequired = errors.New("login required: run `yasyncd auth login`")
	// ErrLoginRefused: a login did not complete because the user refused access, or the code
	// expired or was rejected. Running the login again is the fix.
	ErrLoginRefused = errors.New("the authorization was refused or the code expired; run `yasyncd auth login` again")
	// ErrLoginTimeout: nobody completed the browser login in time.
	ErrLoginTimeout = errors.New("nobody completed the login in the browser in time; run `yasyncd auth login` again (or use --device)")
	// ErrInvalidClient: the OAuth server does not know the client_id/client_secret pair, or
	// the app is blocked or awaiting moderation (invalid_client, unauthorized_client).
	ErrInvalidClient = errors.New("the OAuth server rejected the app credentials: check client_id and client_secret (YASYNCD_CLIENT_ID, YASYNCD_CLIENT_SECRET)")
	// ErrNoClientID: no client_id is configured.
	ErrNoClientID = errors.New("client_id is not set: set client_id in the config file or YASYNCD_CLIENT_ID")
	// ErrInsecureTokenFile: token.json can be read or written by other users. The error's
	// text names the file and the chmod that fixes it.
	ErrInsecureTokenFile = errors.New("token file is accessible by other users")
	// ErrInvalidSetting: oauth_url, api_url or redirect_uri has a value that cannot work;
	// the error's text names the setting, the value and the fix.
	ErrInvalidSetting = errors.New("invalid setting")
	// ErrInsecureOrigin: a plain http:// origin whose host is not loopback (it also
	// matches ErrInvalidSetting).
	ErrInsecureOrigin = errors.New("insecure origin")
	// ErrRevokeUnsupported: the server cannot revoke this token (unsupported_token_type: it
	// was issued without a device_id); deleting it locally is all that can be done.
	ErrRevokeUnsupported = errors.New("the server cannot revoke this token (it was issued without a device ID)")
)

// errNoStateDir is a programming error: Options or NewStore without a state directory.
var errNoStateDir = errors.New("auth: StateDir is not set")

// Error is a refusal from one of the OAuth server's endpoints (§8.5). It keeps the status,
// the OAuth error code and its description, never the response body.
type Error struct {
	// Op is the request: "token", "refresh", "device code", "device poll", "revoke".
	Op string
	// Status is the HTTP status (0 when unknown).
	Status int
	// Code is the OAuth `error` value (invalid_grant...), empty for non-OAuth answers.
	Code string
	// Description is the server's `error_description`, shortened.
	Description string
	// sentinel is the package error this refusal means, if any.
	sentinel error
}

func (e *Error) Error() string {
	s := "oauth " + e.Op + ": "
	switch {
	case e.Code != "" && e.Description != "":
		s += fmt.Sprintf("%s (%s)", e.Code, e.Description)
	case e.Code != "":
		s += e.Code
	default:
		s += fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
	}
	if e.sentinel != nil {
		s += ": " + e.sentinel.Error()
	}
	return s
}

// Unwrap exposes the sentinel (ErrLoginRequired, ErrLoginRefused, ErrInvalidClient...).
func (e *Error) Unwrap() error { return e.sentinel }

// Temporary reports whether trying again later may succeed (5xx, 429).
func (e *Error) Temporary() bool {
	return e.Code == "" && (e.Status >= 500 || e.Status == http.StatusTooManyRequests)
}

// oauthError turns an x/oauth2 error into *Error, dropping the response body that
// RetrieveError would print. Other errors (network) pass through: they name only the URL,
// which carries no secret because every parameter travels in the body.
func oauthError(op string, err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return fmt.Errorf("oauth %s: %w", op, err)
	}
	e := &Error{Op: op, Code: re.ErrorCode, Description: shorten(re.ErrorDescription)}
	if re.Response != nil {
		e.Status = re.Response.StatusCode
	}
	switch e.Code {
	case "invalid_client", "unauthorized_client":
		e.sentinel = ErrInvalidClient
	case "invalid_grant", "expired_token", "access_denied":
		if op == "refresh" {
			e.sentinel = ErrLoginRequired
		} else {
			e.sentinel = ErrLoginRefused
		}
	case "unsupported_token_type":
		e.sentinel = ErrRevokeUnsupported
	}
	return e
}

func shorten(s string) string {
	const limit = 200
	r := []rune(s)
	if len(r) > limit {
		return string(r[:limit]) + "…"
	}
	return s
}

// settingError is an unusable option value.
type settingError struct {
	msg      string
	insecure bool
}

func (e *settingError) Error() string { return e.msg }

func (e *settingError) Is(target error) bool {
	return target == ErrInvalidSetting || (e.insecure && target == ErrInsecureOrigin)
}
