package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Revoke revokes tok's access token on the server (§8.4), which also kills its refresh
// token. A token issued without a device_id cannot be revoked: that is ErrRevokeUnsupported.
func Revoke(ctx context.Context, opts Options, tok *oauth2.Token) error {
	o, err := opts.withDefaults(nil)
	if err != nil {
		return err
	}
	if err := o.requireClient(); err != nil {
		return err
	}
	if tok == nil || tok.AccessToken == "" {
		return errors.New("revoke: no token")
	}
	form := url.Values{"access_token": {tok.AccessToken}, "client_id": {o.ClientID}}
	if o.ClientSecret != "" {
		form.Set("client_secret", o.ClientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.OAuthURL+"/revoke_token", strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("oauth revoke: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := o.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("oauth revoke: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var answer struct {
		Status      string `json:"status"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	json.Unmarshal(body, &answer) // a non-JSON body leaves the fields empty; the status decides
	if resp.StatusCode/100 == 2 && answer.Error == "" {
		return nil
	}
	e := &Error{Op: "revoke", Status: resp.StatusCode, Code: answer.Error, Description: shorten(answer.Description)}
	switch answer.Error {
	case "unsupported_token_type":
		e.sentinel = ErrRevokeUnsupported
	case "invalid_client", "unauthorized_client":
		e.sentinel = ErrInvalidClient
	}
	return e
}

// Source says where the token in use comes from.
type Source string

const (
	// SourceEnv: YASYNCD_TOKEN, used as is.
	SourceEnv Source = "YASYNCD_TOKEN"
	// SourceFile: token.json in the state directory.
	SourceFile Source = "token.json"
)

// Info describes the token in use for `yasyncd auth status`. It never holds the token.
type Info struct {
	Source Source
	// Path is token.json's path (SourceFile).
	Path string
	// Expiry is when the access token expires; zero when unknown (YASYNCD_TOKEN).
	Expiry time.Time
	// HasRefreshToken says whether the token can be renewed without the user.
	HasRefreshToken bool
	// Login is the Yandex account the token belongs to; empty when the check failed.
	Login string
	// CheckErr is why Login is empty: the API refused the token (wrapping
	// ErrLoginRequired) or could not be reached.
	CheckErr error
}

// Describe reports the token that requests would use: envToken (YASYNCD_TOKEN) when set,
// else token.json, and asks the Disk API at apiURL (an origin) whose account it is
// (GET /v1/disk?fields=user). A stored token is used through a Transport, so a token that is
// due is refreshed (and saved) exactly as the daemon would. The returned error is about the
// token itself (none stored: ErrLoginRequired; ErrInsecureTokenFile); the account check's
// failure is in Info.CheckErr.
func Describe(ctx context.Context, opts Options, apiURL, envToken string) (*Info, error) {
	origin, err := CheckOrigin("api_url", apiURL)
	if err != nil {
		return nil, err
	}
	base := http.DefaultTransport
	if opts.HTTPClient != nil && opts.HTTPClient.Transport != nil {
		base = opts.HTTPClient.Transport
	}
	info := &Info{}
	var rt http.RoundTripper
	var tr *Transport
	if envToken != "" {
		info.Source = SourceEnv
		rt = StaticTransport(envToken, base)
	} else {
		tr, err = NewTransport(opts, base)
		if err != nil {
			return nil, err
		}
		info.Source, info.Path = SourceFile, tr.store.Path()
		if _, err := tr.token(ctx); err != nil {
			return info, err
		}
		rt = tr
	}
	info.Login, info.CheckErr = accountLogin(ctx, &http.Client{Transport: rt, Timeout: time.Minute}, origin)
	if tr != nil {
		tr.mu.Lock()
		if tr.tok != nil {
			info.Expiry, info.HasRefreshToken = tr.tok.Expiry, tr.tok.RefreshToken != ""
		}
		tr.mu.Unlock()
	}
	return info, nil
}

// accountLogin asks the Disk API for the account's login.
func accountLogin(ctx context.Context, c *http.Client, origin string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, origin+"/v1/disk?fields=user", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("ask the Disk API for the account: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return "", fmt.Errorf("the Disk API refused the token (401): %w", ErrLoginRequired)
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("ask the Disk API for the account: HTTP %d", resp.StatusCode)
	}
	var disk struct {
		User struct {
			Login       string `json:"login"`
			DisplayName string `json:"display_name"`
		} `json:"user"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&disk); err != nil {
		return "", fmt.Errorf("ask the Disk API for the account: malformed answer")
	}
	if disk.User.Login == "" {
		return disk.User.DisplayName, nil
	}
	return disk.User.Login, nil
}
