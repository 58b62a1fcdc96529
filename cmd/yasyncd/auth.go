package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/pkg/browser"
	"go.uber.org/zap"
	"golang.org/x/oauth2"

	"github.com/yasyncd/yasyncd/auth"
	"github.com/yasyncd/yasyncd/internal/config"
)

// Seams for tests of the auth commands; the real command never changes them.
var (
	// openBrowser opens the authorization page. The opener's own chatter is discarded so
	// stdout stays clean.
	openBrowser = func(url string) error {
		browser.Stdout, browser.Stderr = io.Discard, io.Discard
		return browser.OpenURL(url)
	}
	// authSleep replaces the wait between device-code polls (nil: a real timer).
	authSleep func(ctx context.Context, d time.Duration) error
	// hasDisplay says whether a browser can be opened here.
	hasDisplay = func() bool {
		switch runtime.GOOS {
		case "darwin", "windows":
			return true
		}
		return os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != ""
	}
)

// runAuth implements `yasyncd auth login|status|logout`; returns the process exit code
// (contract.md). Instructions and errors go to stderr, the status report to stdout. It never
// reads stdin.
func runAuth(ctx context.Context, cfg *config.Config, log *zap.Logger, args []string, stdout, stderr io.Writer) int {
	c := &authCmd{cfg: cfg, log: log.Named("auth"), stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		return c.usage(`missing subcommand: use "yasyncd auth login", "yasyncd auth status" or "yasyncd auth logout"`)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "login", "status", "logout":
	case "-h", "-help", "--help", "help":
		writeUsage(stdout, "auth", os.Getenv)
		return exitOK
	default:
		return c.usage(fmt.Sprintf(`unknown auth subcommand %q: use login, status or logout`, sub))
	}
	fs := flag.NewFlagSet("auth "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var device, browserFlow, noBrowser bool
	if sub == "login" {
		fs.BoolVar(&device, "device", false, "device-code flow: enter a code on any device")
		fs.BoolVar(&browserFlow, "browser", false, "browser flow with a redirect to this machine")
		fs.BoolVar(&noBrowser, "no-browser", false, "print the browser flow's URL instead of opening it")
	}
	switch err := fs.Parse(rest); {
	case errors.Is(err, flag.ErrHelp):
		writeUsage(stdout, "auth", os.Getenv)
		return exitOK
	case err != nil:
		return c.usage(fmt.Sprintf(`auth %s: %v; run "yasyncd auth --help"`, sub, err))
	case fs.NArg() > 0:
		return c.usage(fmt.Sprintf(`auth %s: unexpected argument %q; run "yasyncd auth --help"`, sub, fs.Arg(0)))
	}

	switch sub {
	case "login":
		if device && browserFlow {
			return c.usage("auth login: choose one of --device and --browser")
		}
		useBrowser := browserFlow || (!device && hasDisplay())
		return c.login(ctx, useBrowser, noBrowser)
	case "status":
		return c.status(ctx)
	default: // "logout", checked above
		return c.logout(ctx)
	}
}

type authCmd struct {
	cfg            *config.Config
	log            *zap.Logger
	stdout, stderr io.Writer
}

func (c *authCmd) options() auth.Options {
	return auth.Options{
		OAuthURL:     c.cfg.OAuthURL,
		ClientID:     c.cfg.ClientID,
		ClientSecret: c.cfg.ClientSecret,
		RedirectURI:  c.cfg.RedirectURI,
		StateDir:     c.cfg.StateDir,
		Logger:       c.log,
		Sleep:        authSleep,
	}
}

func (c *authCmd) login(ctx context.Context, useBrowser, noBrowser bool) int {
	switch {
	case c.cfg.ClientID == "":
		return c.usage("client_id is not set: register an app at https://oauth.yandex.ru/client/new and set client_id in the config file or YASYNCD_CLIENT_ID")
	case c.cfg.ClientSecret == "":
		return c.usage("client_secret is not set: set client_secret in the config file or YASYNCD_CLIENT_SECRET (the app's page at https://oauth.yandex.ru shows it)")
	}
	// Fail before the user spends minutes on the login if the token could not be saved.
	if err := os.MkdirAll(c.cfg.StateDir, 0o700); err != nil {
		return c.usage(fmt.Sprintf("state_dir %s: %v; set state_dir (YASYNCD_STATE_DIR) to a directory you can write", c.cfg.StateDir, err))
	}
	if c.cfg.Token != "" {
		fmt.Fprintln(c.stderr, "yasyncd: note: YASYNCD_TOKEN is set and is used instead of the stored token; unset it to use this login")
	}

	opts := c.options()
	var (
		tok *oauth2.Token
		err error
	)
	if useBrowser {
		var open func(string) error
		if !noBrowser {
			open = openBrowser
		}
		tok, err = auth.BrowserLogin(ctx, opts, open, c.stderr)
	} else {
		tok, err = auth.DeviceLogin(ctx, opts, c.stderr)
	}
	if err != nil {
		return c.fail(err)
	}

	// Replace the stored token only now that the new one is in hand, under the lock a
	// running daemon takes to refresh, so neither overwrites the other half-way.
	store := auth.NewStore(c.cfg.StateDir)
	unlock, err := store.Lock(ctx)
	if err != nil {
		return c.fail(err)
	}
	err = store.Save(tok)
	unlock()
	if err != nil {
		return c.fail(err)
	}
	fmt.Fprintf(c.stderr, "Logged in. The token is saved in %s and is valid until %s; yasyncd renews it by itself.\n",
		store.Path(), formatExpiry(tok.Expiry))
	return exitOK
}

func (c *authCmd) status(ctx context.Context) int {
	info, err := auth.Describe(ctx, c.options(), c.cfg.APIURL, c.cfg.Token)
	if err != nil && info == nil {
		return c.fail(err)
	}
	w := c.stdout
	switch info.Source {
	case auth.SourceEnv:
		fmt.Fprintln(w, "token:          YASYNCD_TOKEN (from the environment; not stored, not renewed)")
		if _, err := os.Stat(auth.NewStore(c.cfg.StateDir).Path()); err == nil {
			fmt.Fprintf(w, "                %s exists but is not used while YASYNCD_TOKEN is set\n", auth.NewStore(c.cfg.StateDir).Path())
		}
	default:
		fmt.Fprintf(w, "token:          %s\n", info.Path)
	}
	if err != nil {
		// No usable stored token: say why on stderr, with the fix.
		return c.fail(err)
	}
	if info.Source == auth.SourceFile {
		fmt.Fprintf(w, "expires:        %s\n", formatExpiry(info.Expiry))
		refresh := "no (a new login is needed when it expires)"
		if info.HasRefreshToken {
			refresh = "yes (renewed automatically)"
		}
		fmt.Fprintf(w, "refresh token:  %s\n", refresh)
	}
	if info.CheckErr != nil {
		fmt.Fprintln(w, "account:        unknown")
		return c.fail(info.CheckErr)
	}
	fmt.Fprintf(w, "account:        %s\n", info.Login)
	return exitOK
}

func (c *authCmd) logout(ctx context.Context) int {
	if c.cfg.Token != "" {
		fmt.Fprintln(c.stderr, "yasyncd: note: YASYNCD_TOKEN is set; it is not stored, so logout neither revokes nor removes it: unset it yourself")
	}
	store := auth.NewStore(c.cfg.StateDir)
	unlock, err := store.Lock(ctx)
	if err != nil {
		return c.fail(err)
	}
	defer unlock()
	tok, err := store.Load()
	switch {
	case errors.Is(err, auth.ErrLoginRequired):
		if _, statErr := os.Stat(store.Path()); errors.Is(statErr, os.ErrNotExist) {
			fmt.Fprintln(c.stderr, "Not logged in: there is no stored token.")
			return exitOK
		}
		fmt.Fprintln(c.stderr, "yasyncd: the stored token is unreadable; deleting it without revoking it on the server")
	case errors.Is(err, auth.ErrInsecureTokenFile):
		fmt.Fprintf(c.stderr, "yasyncd: %v\nyasyncd: deleting it without revoking it; revoke yasyncd's access in your Yandex ID account settings, since others could read the file\n", err)
	case err != nil:
		return c.fail(err)
	case c.cfg.ClientID == "":
		fmt.Fprintln(c.stderr, "yasyncd: client_id is not set, so the token cannot be revoked on the server; it is deleted locally only")
	default:
		switch err := auth.Revoke(ctx, c.options(), tok); {
		case err == nil:
			fmt.Fprintln(c.stderr, "Access revoked on the server.")
		case errors.Is(err, auth.ErrRevokeUnsupported):
			fmt.Fprintln(c.stderr, "The server cannot revoke this token (it was issued without a device ID); it is deleted locally only.")
		case ctx.Err() != nil:
			return c.fail(ctx.Err())
		default:
			fmt.Fprintf(c.stderr, "yasyncd: could not revoke the token on the server (%v); it is deleted locally only — revoke yasyncd's access in your Yandex ID account settings if needed\n", err)
		}
	}
	if err := store.Delete(); err != nil {
		return c.fail(err)
	}
	fmt.Fprintf(c.stderr, "Logged out: %s deleted.\n", store.Path())
	return exitOK
}

// usage reports bad usage or configuration.
func (c *authCmd) usage(msg string) int {
	fmt.Fprintln(c.stderr, "yasyncd: "+msg)
	return exitUsage
}

// fail prints err's one line with what to do and returns its exit code.
func (c *authCmd) fail(err error) int {
	code, msg := authExit(err)
	fmt.Fprintln(c.stderr, "yasyncd: "+msg)
	return code
}

// authExit maps an error of the auth commands to the exit code and the line for the user.
func authExit(err error) (int, string) {
	var netErr interface{ Timeout() bool }
	switch {
	case errors.Is(err, context.Canceled):
		return exitInterrupted, "interrupted"
	case errors.Is(err, auth.ErrNoClientID), errors.Is(err, auth.ErrInvalidSetting):
		return exitUsage, err.Error()
	case errors.Is(err, auth.ErrInvalidClient):
		return exitUsage, err.Error()
	case errors.Is(err, auth.ErrInsecureTokenFile):
		return exitNeedsUser, err.Error()
	case errors.Is(err, auth.ErrLoginRefused), errors.Is(err, auth.ErrLoginTimeout):
		return exitNeedsUser, err.Error()
	case errors.Is(err, auth.ErrLoginRequired):
		msg := err.Error()
		if !strings.Contains(msg, "yasyncd auth login") {
			msg += `: run "yasyncd auth login"`
		}
		return exitNeedsUser, msg
	case errors.As(err, &netErr):
		return exitRetry, err.Error() + "; check the network and try again"
	}
	var oe *auth.Error
	if errors.As(err, &oe) && !oe.Temporary() {
		// An OAuth refusal this command cannot explain better: most likely the settings.
		return exitUsage, err.Error() + "; check client_id, client_secret and oauth_url"
	}
	return exitRetry, err.Error() + "; try again later"
}

func formatExpiry(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	left := time.Until(t).Round(time.Hour)
	switch {
	case left <= 0:
		return t.UTC().Format(time.RFC3339) + " (expired)"
	case left >= 48*time.Hour:
		return fmt.Sprintf("%s (in %d days)", t.UTC().Format(time.RFC3339), int(left.Hours()/24))
	default:
		return fmt.Sprintf("%s (in %s)", t.UTC().Format(time.RFC3339), left)
	}
}
