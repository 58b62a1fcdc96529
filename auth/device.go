package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"
	"golang.org/x/oauth2"
)

const (
	// defaultPollInterval is RFC 8628's default when the server names none.
	defaultPollInterval = 5 * time.Second
	// slowDownStep is RFC 8628's increase after slow_down.
	slowDownStep = 5 * time.Second
	// maxPollFailures ends the device flow after this many network or server failures in a
	// row; isolated ones are ridden out because the user may take minutes to confirm.
	maxPollFailures = 5
)

// DeviceLogin runs the device-code flow (§8.2): it asks for a code, prints the verification
// URL and the user code to out (the user types the code on any device; nothing is read from
// the keyboard), and polls the token endpoint at the server's interval until the user
// allows or refuses access, the code expires, or ctx ends (Ctrl-C).
//
// Refusal and expiry return an error wrapping ErrLoginRefused; bad app credentials
// ErrInvalidClient. The token is returned, not stored.
func DeviceLogin(ctx context.Context, opts Options, out io.Writer) (*oauth2.Token, error) {
	o, err := opts.withDefaults(nil)
	if err != nil {
		return nil, err
	}
	if err := o.requireClient(); err != nil {
		return nil, err
	}
	conf := o.oauthConfig("")
	hctx := o.httpContext(ctx)
	da, err := conf.DeviceAuth(hctx,
		oauth2.SetAuthURLParam("device_id", o.DeviceID),
		oauth2.SetAuthURLParam("device_name", o.DeviceName))
	if err != nil {
		return nil, oauthError("device code", err)
	}
	if da.DeviceCode == "" || da.UserCode == "" || da.VerificationURI == "" {
		return nil, errors.New("oauth device code: the answer lacks device_code, user_code or verification_url")
	}
	// x/oauth2 turned expires_in into a wall-clock expiry; carry it over to our clock.
	lifetime := 10 * time.Minute // the documented lifetime, should the server omit it
	if !da.Expiry.IsZero() {
		lifetime = time.Until(da.Expiry)
	}
	deadline := o.Now().Add(lifetime)
	interval := time.Duration(da.Interval) * time.Second
	if interval <= 0 {
		interval = defaultPollInterval
	}

	fmt.Fprintf(out, "To let yasyncd use your Yandex Disk, open\n\n    %s\n\non any device and enter the code\n\n    %s\n\nThe code is valid for %s. Waiting for confirmation (Ctrl-C to cancel)…\n",
		da.VerificationURI, da.UserCode, humanDuration(lifetime))
	o.Logger.Info("device login started; waiting for the user", zap.String("op", "device_login"), zap.Duration("wait", interval))

	poll := []oauth2.AuthCodeOption{
		// Yandex's spelling (§8.2, §8.6): grant_type=device_code and code=<device_code>.
		// Exchange puts the code into `code`; these options override its grant type.
		oauth2.SetAuthURLParam("grant_type", "device_code"),
		oauth2.SetAuthURLParam("device_id", o.DeviceID),
		oauth2.SetAuthURLParam("device_name", o.DeviceName),
	}
	failures := 0
	for attempt := 1; ; attempt++ {
		if err := o.Sleep(ctx, interval); err != nil {
			return nil, fmt.Errorf("device login: %w", err)
		}
		if !o.Now().Before(deadline) {
			return nil, fmt.Errorf("device login: the code expired before it was confirmed: %w", ErrLoginRefused)
		}
		tok, err := conf.Exchange(hctx, da.DeviceCode, poll...)
		if err == nil {
			o.Logger.Info("device login confirmed", zap.String("op", "device_login"), zap.Int("attempt", attempt))
			return o.stamp(tok), nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("device login: %w", ctx.Err())
		}
		err = oauthError("device poll", err)
		var oe *Error
		switch {
		case errors.As(err, &oe) && oe.Code == "authorization_pending":
			failures = 0
		case errors.As(err, &oe) && oe.Code == "slow_down":
			failures = 0
			interval += slowDownStep
			o.Logger.Info("device login: server asked to poll slower", zap.String("op", "device_login"), zap.Duration("wait", interval))
		case errors.Is(err, ErrLoginRefused), errors.Is(err, ErrInvalidClient):
			return nil, err
		case errors.As(err, &oe) && !oe.Temporary():
			return nil, err // bad_verification_code and the like: a bug, not the user's doing
		default:
			failures++
			o.Logger.Warn("device login: poll failed", zap.String("op", "device_login"), zap.Int("attempt", attempt), zap.Error(err))
			if failures >= maxPollFailures {
				return nil, err
			}
		}
	}
}

// humanDuration renders a code's lifetime for people: "5 minutes", "40 seconds".
func humanDuration(d time.Duration) string {
	if d >= 90*time.Second {
		return fmt.Sprintf("%d minutes", int(d.Round(time.Minute)/time.Minute))
	}
	return fmt.Sprintf("%d seconds", int(d.Round(time.Second)/time.Second))
}
