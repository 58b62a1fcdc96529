package config

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// setting describes one setting: its name (YAML key; env and flag names derive from it),
// how a raw string becomes the typed field, and how the typed field is checked.
type setting struct {
	name string
	help string
	// secret values are never echoed in errors or help.
	secret bool
	// envOnly settings have no flag and no config file key (the token).
	envOnly bool
	// list settings take several values (exclude).
	list bool

	parse     func(c *Config, raw string, in *input) *problem
	parseList func(c *Config, vals []string) *problem
	check     func(c *Config) *problem
	show      func(c *Config) string
}

// input is what parsing needs to know about where a value came from.
type input struct {
	home     string // $HOME, for ~ expansion
	fromFile bool   // relative paths are refused in the file: the daemon's cwd is arbitrary
}

// Env returns the setting's environment variable name.
func (s *setting) env() string { return "YASYNCD_" + strings.ToUpper(s.name) }

// flag returns the setting's flag name without dashes.
func (s *setting) flag() string { return strings.ReplaceAll(s.name, "_", "-") }

// places lists where the setting can be given, for messages without a known source.
func (s *setting) places() string {
	if s.envOnly {
		return "env " + s.env()
	}
	return fmt.Sprintf("flag --%s, env %s or %s: in the config file", s.flag(), s.env(), s.name)
}

// settings is every setting in the order of the documentation.
var settings = []*setting{
	{
		name: "local_dir", help: "the local folder to sync (created on the first --once run)",
		parse: func(c *Config, raw string, in *input) *problem {
			p, prob := localPath(raw, in, "local_dir")
			c.LocalDir = p
			return prob
		},
		check: func(c *Config) *problem {
			if c.LocalDir == "" {
				return nil
			}
			if !filepath.IsAbs(c.LocalDir) {
				return &problem{c.LocalDir, "not an absolute path", "write an absolute path or one starting with ~/"}
			}
			c.LocalDir = filepath.Clean(c.LocalDir)
			if filepath.Dir(c.LocalDir) == c.LocalDir {
				return &problem{c.LocalDir, "the root of the file system cannot be synced", "name a folder, like ~/YandexDisk"}
			}
			return nil
		},
		show: func(c *Config) string { return c.LocalDir },
	},
	{
		name: "remote_dir", help: "the Disk folder to sync, like disk:/Sync",
		parse: func(c *Config, raw string, _ *input) *problem {
			c.RemoteDir = strings.TrimSpace(raw)
			return nil
		},
		check: func(c *Config) *problem {
			n, err := NormalizeRemoteDir(c.RemoteDir)
			if err != nil {
				return &problem{c.RemoteDir, err.Error(), "name a Disk folder, like disk:/Sync or /Sync"}
			}
			c.RemoteDir = n
			return nil
		},
		show: func(c *Config) string { return c.RemoteDir },
	},
	{
		name: "state_dir", help: "where the state database, token.json and status.sock live",
		parse: func(c *Config, raw string, in *input) *problem {
			p, prob := localPath(raw, in, "state_dir")
			c.StateDir = p
			return prob
		},
		check: func(c *Config) *problem {
			if c.StateDir == "" {
				return &problem{"", "not set, and HOME is not set either", "set HOME or state_dir"}
			}
			if !filepath.IsAbs(c.StateDir) {
				return &problem{c.StateDir, "not an absolute path", "write an absolute path or one starting with ~/"}
			}
			c.StateDir = filepath.Clean(c.StateDir)
			return nil
		},
		show: func(c *Config) string { return c.StateDir },
	},
	{
		name: "api_url", help: "origin of the Disk API (http only for loopback hosts)",
		parse: setString(func(c *Config) *string { return &c.APIURL }),
		check: func(c *Config) *problem {
			o, p := checkOrigin(c.APIURL, DefaultAPIURL)
			if p == nil {
				c.APIURL = o
			}
			return p
		},
		show: func(c *Config) string { return c.APIURL },
	},
	{
		name: "oauth_url", help: "origin of Yandex OAuth (http only for loopback hosts)",
		parse: setString(func(c *Config) *string { return &c.OAuthURL }),
		check: func(c *Config) *problem {
			o, p := checkOrigin(c.OAuthURL, DefaultOAuthURL)
			if p == nil {
				c.OAuthURL = o
			}
			return p
		},
		show: func(c *Config) string { return c.OAuthURL },
	},
	{
		name: "client_id", help: "the OAuth application's client id",
		parse: setString(func(c *Config) *string { return &c.ClientID }),
		check: func(c *Config) *problem { return checkToken(c.ClientID, false, "client id") },
		show:  func(c *Config) string { return c.ClientID },
	},
	{
		name: "client_secret", help: "the OAuth application's client secret", secret: true,
		parse: setString(func(c *Config) *string { return &c.ClientSecret }),
		check: func(c *Config) *problem { return checkToken(c.ClientSecret, true, "client secret") },
		show:  func(c *Config) string { return c.ClientSecret },
	},
	{
		name: "redirect_uri", help: "the browser login's loopback callback URL (default: the auth package's)",
		parse: setString(func(c *Config) *string { return &c.RedirectURI }),
		check: func(c *Config) *problem {
			if c.RedirectURI == "" {
				return nil
			}
			u, err := url.Parse(c.RedirectURI)
			if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
				return &problem{c.RedirectURI, "not an absolute http(s) URL",
					"write the callback URL registered for the client id, like http://127.0.0.1:53682/callback"}
			}
			return nil
		},
		show: func(c *Config) string { return c.RedirectURI },
	},
	{
		name: "token", help: "an access token used as is, never stored (environment only)", secret: true, envOnly: true,
		parse: setString(func(c *Config) *string { return &c.Token }),
		check: func(c *Config) *problem { return checkToken(c.Token, true, "token") },
		show:  func(c *Config) string { return c.Token },
	},
	{
		name: "transfers", help: "how many transfers run at once",
		parse: func(c *Config, raw string, _ *input) *problem {
			n, p := wholeNumber(raw, fmt.Sprintf("set a number from 1 to %d", MaxTransfers))
			c.Transfers = n
			return p
		},
		check: func(c *Config) *problem {
			if c.Transfers < 1 || c.Transfers > MaxTransfers {
				return &problem{strconv.Itoa(c.Transfers), "out of range", fmt.Sprintf("set a number from 1 to %d", MaxTransfers)}
			}
			return nil
		},
		show: func(c *Config) string { return strconv.Itoa(c.Transfers) },
	},
	{
		name: "poll_interval", help: "how often the daemon asks the Disk for changes",
		parse: func(c *Config, raw string, _ *input) *problem {
			d, p := duration(raw)
			c.PollInterval = d
			return p
		},
		check: func(c *Config) *problem {
			if c.PollInterval < MinPollInterval || c.PollInterval > MaxPollInterval {
				return &problem{c.PollInterval.String(), "out of range", "set a duration from 1s to 24h, like 30s"}
			}
			return nil
		},
		show: func(c *Config) string { return c.PollInterval.String() },
	},
	{
		name: "full_scan", help: "when both sides are listed in full: a cron spec or descriptor",
		parse: func(c *Config, raw string, _ *input) *problem {
			c.FullScan = strings.TrimSpace(raw)
			return nil
		},
		check: func(c *Config) *problem {
			fix := `write a cron spec like "0 */6 * * *" or a descriptor like @hourly, @daily or "@every 2h"`
			sched, err := ParseFullScan(c.FullScan)
			if err != nil {
				return &problem{c.FullScan, "not a schedule (" + err.Error() + ")", fix}
			}
			// A spec like "0 0 30 2 *" parses but never fires: the full scan would never
			// back up the watcher, which silently weakens change detection.
			if sched.Next(time.Now()).IsZero() {
				return &problem{c.FullScan, "never fires", fix}
			}
			// More often than once a minute, full listings would never end on a big
			// Disk and would spend the API quota.
			if c.FullScanPeriod(time.Now()) < MinFullScanPeriod {
				return &problem{c.FullScan, "fires more often than once a minute", fix}
			}
			return nil
		},
		show: func(c *Config) string { return c.FullScan },
	},
	{
		name: "settle", help: "how long a changed local file must be quiet before it is uploaded",
		parse: func(c *Config, raw string, _ *input) *problem {
			d, p := duration(raw)
			c.Settle = d
			return p
		},
		check: func(c *Config) *problem {
			if c.Settle < 0 || c.Settle > MaxSettle {
				return &problem{c.Settle.String(), "out of range", "set a duration from 0s to 10m, like 2s"}
			}
			return nil
		},
		show: func(c *Config) string { return c.Settle.String() },
	},
	{
		name: "conflict", help: "conflict policy: " + strings.Join(ConflictPolicies, ", "),
		parse: setWord(func(c *Config) *string { return &c.Conflict }),
		check: func(c *Config) *problem { return oneOf(c.Conflict, ConflictPolicies) },
		show:  func(c *Config) string { return c.Conflict },
	},
	{
		name: "mode", help: "sync direction: " + strings.Join(Modes, ", "),
		parse: setWord(func(c *Config) *string { return &c.Mode }),
		check: func(c *Config) *problem { return oneOf(c.Mode, Modes) },
		show:  func(c *Config) string { return c.Mode },
	},
	{
		name: "max_delete", help: `mass-delete guard: a share ("50%") or a count ("200") of the tracked files`,
		parse: func(c *Config, raw string, _ *input) *problem {
			m, p := parseMaxDelete(raw)
			c.MaxDelete = m
			return p
		},
		check: func(c *Config) *problem {
			m := c.MaxDelete
			if m.Percent < 0 || m.Percent > 100 || m.Count < 0 || (m.Percent > 0) == (m.Count > 0) {
				return &problem{fmt.Sprintf("%v%% and %d", m.Percent, m.Count), "out of range: set either a share or a count", maxDeleteFix}
			}
			return nil
		},
		show: func(c *Config) string { return c.MaxDelete.String() },
	},
	{
		name: "exclude", help: "gitignore-style patterns never synced (env: comma or newline separated; flag: repeat it)",
		list: true,
		parseList: func(c *Config, vals []string) *problem {
			c.Exclude = nil
			for _, v := range vals {
				if v = strings.TrimSpace(v); v != "" {
					c.Exclude = append(c.Exclude, v)
				}
			}
			return nil
		},
		show: func(c *Config) string { return strings.Join(c.Exclude, ",") },
	},
	{
		name: "trash_days", help: "days files removed or replaced by sync stay in .yasyncd/trash/",
		parse: func(c *Config, raw string, _ *input) *problem {
			n, p := wholeNumber(raw, fmt.Sprintf("set a number of days from 1 to %d", MaxTrashDays))
			c.TrashDays = n
			return p
		},
		check: func(c *Config) *problem {
			// 0 would empty the trash at the next pass: sync must never destroy a file.
			if c.TrashDays < 1 || c.TrashDays > MaxTrashDays {
				return &problem{strconv.Itoa(c.TrashDays), "out of range", fmt.Sprintf("set a number of days from 1 to %d", MaxTrashDays)}
			}
			return nil
		},
		show: func(c *Config) string { return strconv.Itoa(c.TrashDays) },
	},
	{
		name: "log_level", help: "log level: " + strings.Join(LogLevels, ", "),
		parse: setWord(func(c *Config) *string { return &c.LogLevel }),
		check: func(c *Config) *problem { return oneOf(c.LogLevel, LogLevels) },
		show:  func(c *Config) string { return c.LogLevel },
	},
	{
		name: "log_format", help: "log format: auto (console on a terminal, JSON otherwise), console, json",
		parse: setWord(func(c *Config) *string { return &c.LogFormat }),
		check: func(c *Config) *problem { return oneOf(c.LogFormat, LogFormats) },
		show:  func(c *Config) string { return c.LogFormat },
	},
}

// byName indexes settings.
var byName = func() map[string]*setting {
	m := make(map[string]*setting, len(settings))
	for _, s := range settings {
		m[s.name] = s
	}
	return m
}()

const maxDeleteFix = `write a share like 50% or a number of files like 200`

func setString(field func(*Config) *string) func(*Config, string, *input) *problem {
	return func(c *Config, raw string, _ *input) *problem {
		*field(c) = strings.TrimSpace(raw)
		return nil
	}
}

// setWord is setString for enumerations: case does not matter to the user.
func setWord(field func(*Config) *string) func(*Config, string, *input) *problem {
	return func(c *Config, raw string, _ *input) *problem {
		*field(c) = strings.ToLower(strings.TrimSpace(raw))
		return nil
	}
}

func oneOf(v string, allowed []string) *problem {
	if containsStr(allowed, v) {
		return nil
	}
	return &problem{v, "not a known value", "use one of " + strings.Join(allowed, ", ")}
}

// checkToken refuses whitespace and control characters, which are always a copy-paste
// accident in ids and secrets and would corrupt an HTTP header or form.
func checkToken(v string, secret bool, what string) *problem {
	for _, r := range v {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			shown := v
			if secret {
				shown = ""
			}
			return &problem{shown, "contains spaces or control characters", "paste the " + what + " again without them"}
		}
	}
	return nil
}

func wholeNumber(raw, fix string) (int, *problem) {
	s := strings.TrimSpace(raw)
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, &problem{raw, "not a whole number", fix}
	}
	return n, nil
}

func duration(raw string) (time.Duration, *problem) {
	s := strings.TrimSpace(raw)
	d, err := time.ParseDuration(s)
	if err == nil {
		return d, nil
	}
	if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
		return 0, &problem{raw, "a duration needs a unit", "write it like " + s + "s or 5m"}
	}
	return 0, &problem{raw, "not a duration", "write it in Go syntax, like 30s, 5m or 1h30m"}
}

func parseMaxDelete(raw string) (MaxDelete, *problem) {
	s := strings.TrimSpace(raw)
	if num, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || f != f { // f != f: NaN
			return MaxDelete{}, &problem{raw, "not a percentage", maxDeleteFix}
		}
		if f <= 0 || f > 100 {
			return MaxDelete{}, &problem{raw, "a share must be above 0% and at most 100%", maxDeleteFix}
		}
		return MaxDelete{Percent: f}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return MaxDelete{}, &problem{raw, "neither a share nor a whole number", maxDeleteFix}
	}
	// 0 is refused rather than given a meaning: the engine reads a zero limit as "the
	// default", and the guard never trips for 10 deletes or fewer anyway.
	if n < 1 {
		return MaxDelete{}, &problem{raw, "a count must be at least 1", maxDeleteFix}
	}
	return MaxDelete{Count: n}, nil
}

// localPath expands ~ and makes the path absolute. Relative paths are resolved against
// the working directory for flags and env (what a shell user means), but refused in the
// config file: a daemon's working directory is wherever the service manager put it.
func localPath(raw string, in *input, name string) (string, *problem) {
	p := strings.TrimSpace(raw)
	if p == "" {
		return "", nil
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		if in.home == "" || !filepath.IsAbs(in.home) {
			return "", &problem{raw, "HOME is not set, so ~ cannot be expanded", "write an absolute path"}
		}
		p = filepath.Join(in.home, p[1:])
	} else if strings.HasPrefix(p, "~") {
		return "", &problem{raw, "~user paths are not supported", "write an absolute path or one starting with ~/"}
	}
	if !filepath.IsAbs(p) {
		if in.fromFile {
			return "", &problem{raw, "a relative path in the config file", "write an absolute path or one starting with ~/"}
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", &problem{raw, "cannot be made absolute: " + err.Error(), "write an absolute path"}
		}
		p = abs
	}
	return filepath.Clean(p), nil
}

func trimFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
