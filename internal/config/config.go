// Package config turns the command line, the environment and the YAML config file into
// one validated Config for the yasyncd command.
//
// Every setting has one name used three ways (contract.md, "Settings"): the YAML key
// (local_dir), the environment variable YASYNCD_ + the name upper-cased
// (YASYNCD_LOCAL_DIR) and the flag with dashes (--local-dir). Sources, strongest first:
// flags, environment, config file, built-in defaults. A stronger source replaces a weaker
// one's value; lists (exclude) are replaced too, never merged, so what a user sees in one
// place is the whole list.
//
// The access token is the exception: it comes only from YASYNCD_TOKEN. A flag would show
// it in ps(1) and a config file would be a second, unprotected token store next to
// token.json.
//
// # Formats
//
// Durations in Go syntax (30s, 5m, 1h30m); max_delete as a share (50%) or a count (200);
// full_scan as a five-field cron spec (0 */6 * * *), a descriptor (@hourly, @daily) or
// "@every 2h" — quote values starting with @ in YAML. exclude is a YAML list in the file,
// comma- or newline-separated in YASYNCD_EXCLUDE, and one pattern per --exclude flag
// (repeat it). Paths may start with ~/; relative paths are resolved against the working
// directory in flags and the environment and refused in the file, whose reader (a service
// manager) has no meaningful working directory. remote_dir accepts "Sync", "/Sync" and
// "disk:/Sync" alike. The config file is --config, else $YASYNCD_CONFIG, else
// $XDG_CONFIG_HOME/yasyncd/config.yaml (~/.config/yasyncd/config.yaml); only the last may
// be missing. Unknown or repeated keys in it are errors: a misspelt safety setting must
// not silently fall back to its default.
//
// Only this package and the command's main read the process environment; it is passed in
// as a getenv function so tests are hermetic. Every error a user can cause is a
// *UsageError whose text is one line naming the setting, the value, where it came from
// and the fix.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Built-in defaults.
const (
	DefaultAPIURL       = "https://cloud-api.yandex.net"
	DefaultOAuthURL     = "https://oauth.yandex.ru"
	DefaultRemoteDir    = "disk:/Sync"
	DefaultTransfers    = 4
	DefaultPollInterval = 30 * time.Second
	DefaultFullScan     = "@hourly"
	DefaultSettle       = 2 * time.Second
	DefaultConflict     = "keep-both"
	DefaultMode         = "two-way"
	DefaultTrashDays    = 30
	DefaultLogLevel     = "info"
	DefaultLogFormat    = "auto"
)

// Limits of the numeric settings. Transfers beyond 64 only earn 429s from the Disk; a poll
// faster than a second is a busy loop against someone else's server.
const (
	MaxTransfers    = 64
	MinPollInterval = time.Second
	MaxPollInterval = 24 * time.Hour
	MaxSettle       = 10 * time.Minute
	MaxTrashDays    = 3650
	// MinFullScanPeriod is the shortest time allowed between full scans.
	MinFullScanPeriod = time.Minute
)

// Allowed values of the enumerated settings.
var (
	ConflictPolicies = []string{"keep-both", "newer", "local", "remote"}
	Modes            = []string{"two-way", "upload-only", "download-only"}
	LogLevels        = []string{"debug", "info", "warn", "error"}
	LogFormats       = []string{"auto", "console", "json"}
)

// Config is every setting of yasyncd after all sources were combined.
type Config struct {
	// LocalDir is the synced folder, absolute and clean. Empty until set: there is no
	// default because syncing a folder the user did not name is a surprise.
	LocalDir string
	// RemoteDir is the Disk folder in the API's spelling, "disk:/Sync" (or "app:/..."),
	// without a trailing slash; "disk:/" is the whole Disk.
	RemoteDir string
	// StateDir holds the state database, token.json and the status socket; default
	// $XDG_STATE_HOME/yasyncd, or ~/.local/state/yasyncd.
	StateDir string

	// APIURL and OAuthURL are origins (scheme://host[:port], no path). Plain http is
	// accepted only for loopback hosts (the emulator).
	APIURL   string
	OAuthURL string

	ClientID     string
	ClientSecret string
	// RedirectURI is the browser login's loopback callback; empty means the auth
	// package's default.
	RedirectURI string
	// Token is YASYNCD_TOKEN: an access token used as is and never stored.
	Token string

	// Transfers is how many transfers run at once.
	Transfers int
	// PollInterval is how often the daemon asks the Disk whether anything changed
	// (a cheap revision probe).
	PollInterval time.Duration
	// FullScan is a cron spec or descriptor: when a full listing of both sides runs even
	// if nothing seemed to change.
	FullScan string
	// Settle is how long a local file must be quiet after its last change event before
	// the daemon uploads it.
	Settle time.Duration
	// Conflict is the conflict policy: keep-both, newer, local or remote.
	Conflict string
	// Mode is two-way, upload-only or download-only.
	Mode string
	// MaxDelete is the mass-delete guard's limit.
	MaxDelete MaxDelete
	// Exclude holds gitignore-style patterns.
	Exclude []string
	// TrashDays is how long files removed or replaced by sync stay in .yasyncd/trash/.
	TrashDays int
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// LogFormat is auto (console on a terminal, JSON otherwise), console or json.
	LogFormat string

	// ConfigFile is the file the settings were read from; empty when none was read.
	ConfigFile string

	// src records, per setting name, where its value came from ("env YASYNCD_MODE"...),
	// so an error can send the user to the right place.
	src map[string]string
}

// MaxDelete is the mass-delete guard's limit: a share of the tracked files ("50%") or a
// number of files ("200"). Exactly one of the two is set (above zero); the guard never
// trips for 10 deletes or fewer on a side.
type MaxDelete struct {
	Percent float64
	Count   int
}

// String gives the limit back in the setting's own syntax.
func (m MaxDelete) String() string {
	if m.Count == 0 && m.Percent > 0 {
		return trimFloat(m.Percent) + "%"
	}
	return fmt.Sprint(m.Count)
}

// UsageError is a mistake of the user: a bad flag, setting or config file. The command
// exits with code 2 on it. Its text is one line saying what is wrong and how to fix it.
type UsageError struct {
	// Setting is the setting's name when the error is about one, else "".
	Setting string
	Msg     string
}

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a *UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// IsUsage reports whether err is (or wraps) a *UsageError.
func IsUsage(err error) bool {
	var ue *UsageError
	return errors.As(err, &ue)
}

// Defaults returns the built-in settings. getenv supplies HOME and the XDG variables, from
// which StateDir is derived.
func Defaults(getenv func(string) string) *Config {
	c := &Config{
		RemoteDir:    DefaultRemoteDir,
		APIURL:       DefaultAPIURL,
		OAuthURL:     DefaultOAuthURL,
		Transfers:    DefaultTransfers,
		PollInterval: DefaultPollInterval,
		FullScan:     DefaultFullScan,
		Settle:       DefaultSettle,
		Conflict:     DefaultConflict,
		Mode:         DefaultMode,
		MaxDelete:    MaxDelete{Percent: 50},
		TrashDays:    DefaultTrashDays,
		LogLevel:     DefaultLogLevel,
		LogFormat:    DefaultLogFormat,
		src:          map[string]string{},
	}
	c.StateDir = defaultStateDir(getenv)
	return c
}

// defaultStateDir follows the XDG base directory spec; a relative XDG_STATE_HOME is
// ignored as the spec demands. It is "" when not even HOME is known (Validate says so).
func defaultStateDir(getenv func(string) string) string {
	if d := getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "yasyncd")
	}
	if h := getenv("HOME"); filepath.IsAbs(h) {
		return filepath.Join(h, ".local", "state", "yasyncd")
	}
	return ""
}

// DefaultConfigFile is $XDG_CONFIG_HOME/yasyncd/config.yaml, or
// ~/.config/yasyncd/config.yaml; "" when neither variable is usable.
func DefaultConfigFile(getenv func(string) string) string {
	if d := getenv("XDG_CONFIG_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "yasyncd", "config.yaml")
	}
	if h := getenv("HOME"); filepath.IsAbs(h) {
		return filepath.Join(h, ".config", "yasyncd", "config.yaml")
	}
	return ""
}

// Source says where a setting's value came from: "flag --mode", "env YASYNCD_MODE",
// "<file> line 3" or "default".
func (c *Config) Source(name string) string {
	if s := c.src[name]; s != "" {
		return s
	}
	return "default"
}

// Validate checks every setting and puts the paths and origins into their canonical form
// (remote_dir as "disk:/...", origins without a trailing slash, local paths clean). It does
// not require local_dir, which only the sync commands need (see RequireLocalDir). The
// first problem found is returned as a one-line *UsageError.
func (c *Config) Validate() error {
	for _, s := range settings {
		if s.check == nil {
			continue
		}
		if p := s.check(c); p != nil {
			return c.fail(s, p)
		}
	}
	if c.LocalDir != "" && c.StateDir != "" && within(c.StateDir, c.LocalDir) {
		return &UsageError{Setting: "state_dir", Msg: fmt.Sprintf(
			"state_dir %q is inside local_dir %q: the state would be synced with the files; choose a state_dir outside the synced folder",
			c.StateDir, c.LocalDir)}
	}
	return nil
}

// RequireLocalDir returns a *UsageError when local_dir is not set.
func (c *Config) RequireLocalDir() error {
	if c.LocalDir != "" {
		return nil
	}
	s := byName["local_dir"]
	return &UsageError{Setting: s.name, Msg: fmt.Sprintf(
		"local_dir is not set: name the folder to sync with %s", s.places())}
}

// FullScanPeriod is the time between the full-scan schedule's next two activations after
// now: how old a remote listing may get before it is redone even when the Disk revision
// did not move. Zero if the schedule does not parse (Validate rejects it).
func (c *Config) FullScanPeriod(now time.Time) time.Duration {
	sched, err := ParseFullScan(c.FullScan)
	if err != nil {
		return 0
	}
	first := sched.Next(now)
	if first.IsZero() {
		return 0
	}
	second := sched.Next(first)
	if second.IsZero() {
		return 0
	}
	return second.Sub(first)
}

// ParseFullScan parses a full_scan value: a five-field cron spec ("0 */6 * * *"), a
// descriptor ("@hourly", "@daily"...) or "@every <duration>", optionally prefixed with
// "TZ=<zone> ".
func ParseFullScan(spec string) (sched cron.Schedule, err error) {
	// The cron parser has panicked on malformed input in the past; a typo in a config
	// file must not crash the daemon.
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("malformed schedule")
		}
	}()
	return cron.ParseStandard(spec)
}

// problem is what is wrong with a value and how to fix it; fail turns it into a message.
type problem struct {
	value string // shown quoted; "" hides the value (secrets)
	what  string // "not a whole number"
	fix   string // "set a number from 1 to 64"
}

func (c *Config) fail(s *setting, p *problem) error {
	return failAt(s, p, c.src[s.name])
}

// failAt builds the one-line message: `name "value" (source): what; fix`. Without a known
// source it lists every place the setting can be given instead.
func failAt(s *setting, p *problem, source string) error {
	var b strings.Builder
	b.WriteString(s.name)
	switch {
	case s.secret:
		b.WriteString(" (value hidden)")
	case p.value != "":
		fmt.Fprintf(&b, " %q", p.value)
	}
	if source != "" && source != "default" {
		fmt.Fprintf(&b, " (%s)", source)
	}
	fmt.Fprintf(&b, ": %s; %s", p.what, p.fix)
	if source == "" || source == "default" {
		fmt.Fprintf(&b, " (%s)", s.places())
	}
	return &UsageError{Setting: s.name, Msg: oneLine(b.String())}
}

// oneLine keeps a message on one line even when a value carried a newline.
func oneLine(s string) string {
	return strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(s)
}

// within reports whether path is dir or below it (both absolute and clean).
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// checkOrigin validates an api_url/oauth_url value and returns its canonical form.
func checkOrigin(raw, example string) (string, *problem) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", &problem{raw, "not an http(s) origin", "write it like " + example}
	}
	if u.User != nil {
		return "", &problem{raw, "contains user information", "write only the scheme and host, like " + example}
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", &problem{raw, "not an origin (it has a path, query or fragment); yasyncd appends the API paths itself",
			"write only the scheme and host, like " + example}
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return "", &problem{raw, "plain http is allowed only for loopback hosts", "use https://" + u.Host}
	}
	return u.Scheme + "://" + u.Host, nil
}

// isLoopback reports whether host names this machine without DNS: "localhost", 127/8, ::1.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// NormalizeRemoteDir accepts "/Sync", "Sync", "disk:/Sync", "disk:Sync" and "app:/x" and
// returns the API's form ("disk:/Sync"): one slash after the scheme, no empty, "." or ".."
// elements, no trailing slash.
func NormalizeRemoteDir(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", errors.New("empty")
	}
	scheme := "disk"
	if i := strings.Index(s, ":"); i >= 0 {
		scheme, s = s[:i], s[i+1:]
		if scheme != "disk" && scheme != "app" {
			return "", fmt.Errorf("unknown prefix %q: only disk: and app: folders can be synced", scheme+":")
		}
	}
	var parts []string
	for _, el := range strings.Split(s, "/") {
		switch el {
		case "":
			continue
		case ".", "..":
			return "", fmt.Errorf("contains %q", el)
		}
		for _, r := range el {
			if r < 0x20 || r == 0x7f {
				return "", errors.New("contains a control character")
			}
		}
		parts = append(parts, el)
	}
	return scheme + ":/" + strings.Join(parts, "/"), nil
}

func containsStr(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
