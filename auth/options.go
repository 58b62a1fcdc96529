package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"strings"
	"time"

	"go.uber.org/zap"
	"golang.org/x/oauth2"
)

const (
	// DefaultOAuthURL is the origin of Yandex ID's OAuth server.
	DefaultOAuthURL = "https://oauth.yandex.ru"
	// DefaultRedirectURI is where the browser flow receives the code. Yandex only redirects
	// to a URI registered for the app, so the README tells users to register exactly this
	// one; the port is fixed for that reason and chosen away from other tools' defaults.
	DefaultRedirectURI = "http://127.0.0.1:53741/callback"
	// DefaultRefreshMargin: refresh at the latest this long before the token expires.
	DefaultRefreshMargin = 24 * time.Hour
	// DefaultRefreshFraction: refresh once less than this fraction of the lifetime is left.
	DefaultRefreshFraction = 0.75
	// DefaultLoginTimeout bounds the browser flow when nobody answers.
	DefaultLoginTimeout = 5 * time.Minute

	// refreshTimeout bounds one refresh including the wait for the file lock; it is detached
	// from the request that triggered it because concurrent requests share the refresh.
	refreshTimeout = time.Minute
	// retryRefreshAfter spaces out refresh attempts that failed for a transient reason while
	// the current token is still valid, so an outage does not add a POST to every request.
	retryRefreshAfter = time.Minute
)

// Options configure the OAuth layer. The zero value of each field means its default.
type Options struct {
	// OAuthURL is the OAuth server's origin (default DefaultOAuthURL); /authorize, /token,
	// /device/code and /revoke_token are appended. Plain http:// is accepted only for a
	// loopback host.
	OAuthURL string
	// ClientID and ClientSecret identify the registered app. The secret is sent in the
	// request body of every token request (Yandex accepts body or Basic; one style is pinned
	// so no request is wasted on probing).
	ClientID, ClientSecret string
	// RedirectURI is the browser flow's loopback callback (default DefaultRedirectURI).
	// Port 0 picks a free port (tests only: Yandex requires the registered URI).
	RedirectURI string
	// StateDir holds token.json (directory mode 0700, file 0600).
	StateDir string
	// DeviceID and DeviceName are sent on login; Yandex can revoke only tokens bound to a
	// device. Defaults: an ID derived stably from the machine and user, and "yasyncd on
	// <host>".
	DeviceID, DeviceName string
	// RefreshMargin and RefreshFraction decide when a token is refreshed (package doc,
	// "Refresh policy"). Defaults DefaultRefreshMargin and DefaultRefreshFraction.
	RefreshMargin   time.Duration
	RefreshFraction float64
	// LoginTimeout bounds the browser flow (default DefaultLoginTimeout).
	LoginTimeout time.Duration
	// HTTPClient talks to the OAuth server. Its transport must not be a Transport of this
	// package. Default: a client with a one-minute timeout over the base transport.
	HTTPClient *http.Client
	// Logger receives events without secrets (default: none).
	Logger *zap.Logger
	// Now is the clock (default time.Now); token expiries are computed with it.
	Now func() time.Time
	// Sleep waits between device-code polls and returns ctx.Err() when ctx ends first
	// (default: a real timer). Tests inject one that does not sleep.
	Sleep func(ctx context.Context, d time.Duration) error
}

// withDefaults fills in defaults and validates the origin. base is the transport a default
// HTTPClient uses (nil: http.DefaultTransport).
func (o Options) withDefaults(base http.RoundTripper) (Options, error) {
	if o.OAuthURL == "" {
		o.OAuthURL = DefaultOAuthURL
	}
	origin, err := CheckOrigin("oauth_url", o.OAuthURL)
	if err != nil {
		return o, err
	}
	o.OAuthURL = origin
	if o.RedirectURI == "" {
		o.RedirectURI = DefaultRedirectURI
	}
	if o.DeviceID == "" {
		o.DeviceID = defaultDeviceID()
	}
	if o.DeviceName == "" {
		o.DeviceName = defaultDeviceName()
	}
	if o.RefreshMargin <= 0 {
		o.RefreshMargin = DefaultRefreshMargin
	}
	if o.RefreshFraction <= 0 || o.RefreshFraction >= 1 {
		o.RefreshFraction = DefaultRefreshFraction
	}
	if o.LoginTimeout <= 0 {
		o.LoginTimeout = DefaultLoginTimeout
	}
	if o.HTTPClient == nil {
		if base == nil {
			base = http.DefaultTransport
		}
		o.HTTPClient = &http.Client{Transport: base, Timeout: time.Minute}
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	return o, nil
}

// requireClient reports a missing client ID before any request is made.
func (o Options) requireClient() error {
	if o.ClientID == "" {
		return ErrNoClientID
	}
	return nil
}

// oauthConfig is the x/oauth2 view of Yandex's endpoints with the client credentials pinned
// in the body (§8.6).
func (o Options) oauthConfig(redirectURI string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     o.ClientID,
		ClientSecret: o.ClientSecret,
		RedirectURL:  redirectURI,
		Endpoint: oauth2.Endpoint{
			AuthURL:       o.OAuthURL + "/authorize",
			TokenURL:      o.OAuthURL + "/token",
			DeviceAuthURL: o.OAuthURL + "/device/code",
			AuthStyle:     oauth2.AuthStyleInParams,
		},
	}
}

// httpContext makes x/oauth2 use the configured client.
func (o Options) httpContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, o.HTTPClient)
}

// stamp fixes a token obtained just now: the expiry comes from expires_in at the moment the
// answer arrived, on our clock (x/oauth2 uses the wall clock), and the type is the scheme
// the Disk API wants.
func (o Options) stamp(tok *oauth2.Token) *oauth2.Token {
	if tok.ExpiresIn > 0 {
		tok.Expiry = o.Now().Add(time.Duration(tok.ExpiresIn) * time.Second)
	}
	tok.TokenType = tokenType
	return tok
}

// CheckOrigin validates an origin setting (oauth_url, api_url) and returns it without a
// trailing slash. Plain http:// is refused unless the host is loopback, because the token
// would travel in clear text.
func CheckOrigin(setting, origin string) (string, error) {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", &settingError{msg: fmt.Sprintf("%s %q: want an origin such as https://host", setting, origin)}
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", &settingError{msg: fmt.Sprintf("%s %q: want an origin (scheme and host only), such as https://host", setting, origin)}
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return "", &settingError{insecure: true, msg: fmt.Sprintf("%s %q: insecure origin: plain http:// is allowed only for a loopback host (127.0.0.1, ::1, localhost); use https://", setting, origin)}
	}
	return u.Scheme + "://" + u.Host, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// defaultDeviceID is stable for one user on one machine, so logging in again replaces this
// machine's token instead of using up another of the 30 device slots Yandex allows (§8.4).
// It reveals nothing: a hash of the machine ID, host name and user name.
func defaultDeviceID() string {
	h := sha256.New()
	for _, f := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		if b, err := os.ReadFile(f); err == nil {
			h.Write(b)
			break
		}
	}
	host, _ := os.Hostname()
	h.Write([]byte("\x00" + host + "\x00"))
	if u, err := user.Current(); err == nil {
		h.Write([]byte(u.Username))
	}
	return "yasyncd-" + hex.EncodeToString(h.Sum(nil)[:12])
}

func defaultDeviceName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown host"
	}
	name := "yasyncd on " + host
	if len(name) > 100 { // Yandex's limit for device_name
		name = name[:100]
	}
	return name
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
