package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// env is a fake environment for getenv.
type env map[string]string

func (e env) get(k string) string { return e[k] }

// testEnv is a hermetic environment whose HOME and XDG dirs are inside t.TempDir().
func testEnv(t *testing.T) (env, string) {
	t.Helper()
	home := t.TempDir()
	return env{"HOME": home}, home
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func parseFlags(t *testing.T, args ...string) *Flags {
	t.Helper()
	f := NewFlags()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	f.Register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return f
}

func TestDefaults(t *testing.T) {
	e, home := testEnv(t)
	c, err := Load(e.get, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		RemoteDir:    "disk:/Sync",
		StateDir:     filepath.Join(home, ".local", "state", "yasyncd"),
		APIURL:       "https://cloud-api.yandex.net",
		OAuthURL:     "https://oauth.yandex.ru",
		Transfers:    4,
		PollInterval: 30 * time.Second,
		FullScan:     "@hourly",
		Settle:       2 * time.Second,
		Conflict:     "keep-both",
		Mode:         "two-way",
		MaxDelete:    MaxDelete{Percent: 50},
		TrashDays:    30,
		LogLevel:     "info",
		LogFormat:    "auto",
		src:          map[string]string{},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", c, want)
	}
	if err := c.RequireLocalDir(); err == nil || !strings.Contains(err.Error(), "--local-dir") {
		t.Errorf("RequireLocalDir without local_dir: %v", err)
	}
	if c.Source("mode") != "default" {
		t.Errorf("source of mode = %q", c.Source("mode"))
	}
}

func TestXDGDirs(t *testing.T) {
	e, _ := testEnv(t)
	xs, xc := t.TempDir(), t.TempDir()
	e["XDG_STATE_HOME"], e["XDG_CONFIG_HOME"] = xs, xc
	if err := os.MkdirAll(filepath.Join(xc, "yasyncd"), 0o700); err != nil {
		t.Fatal(err)
	}
	cf := filepath.Join(xc, "yasyncd", "config.yaml")
	if err := os.WriteFile(cf, []byte("transfers: 7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(e.get, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.StateDir != filepath.Join(xs, "yasyncd") || c.ConfigFile != cf || c.Transfers != 7 {
		t.Errorf("state %q config %q transfers %d", c.StateDir, c.ConfigFile, c.Transfers)
	}
	// A relative XDG variable is invalid by the spec and ignored.
	e["XDG_STATE_HOME"] = "rel"
	if c, err = Load(e.get, nil); err != nil || c.StateDir != filepath.Join(e["HOME"], ".local/state/yasyncd") {
		t.Errorf("relative XDG_STATE_HOME: %v %q", err, c.StateDir)
	}
}

// precedenceCase gives three different valid values of one setting, for the file, the
// environment and the flag, and how to read the field back as a string.
type precedenceCase struct {
	name             string
	file, env, flag  string
	fileW, envW, flW string // expected value read back (when it differs from the input)
	get              func(*Config) string
}

func TestPrecedenceEverySetting(t *testing.T) {
	home := t.TempDir()
	cases := []precedenceCase{
		{name: "local_dir", file: "/f/dir", env: "/e/dir", flag: "~/fl", flW: filepath.Join(home, "fl"),
			get: func(c *Config) string { return c.LocalDir }},
		{name: "remote_dir", file: "/F", env: "E", flag: "disk:/L", fileW: "disk:/F", envW: "disk:/E",
			get: func(c *Config) string { return c.RemoteDir }},
		{name: "state_dir", file: "/f/state", env: "/e/state", flag: "/l/state",
			get: func(c *Config) string { return c.StateDir }},
		{name: "api_url", file: "https://f.example", env: "http://127.0.0.1:8080", flag: "http://localhost:9/",
			flW: "http://localhost:9", get: func(c *Config) string { return c.APIURL }},
		{name: "oauth_url", file: "https://f.example", env: "https://e.example", flag: "http://[::1]:1",
			get: func(c *Config) string { return c.OAuthURL }},
		{name: "client_id", file: "fid", env: "eid", flag: "lid", get: func(c *Config) string { return c.ClientID }},
		{name: "client_secret", file: "fs", env: "es", flag: "ls", get: func(c *Config) string { return c.ClientSecret }},
		{name: "redirect_uri", file: "http://127.0.0.1:1/cb", env: "http://127.0.0.1:2/cb", flag: "http://127.0.0.1:3/cb",
			get: func(c *Config) string { return c.RedirectURI }},
		{name: "transfers", file: "2", env: "3", flag: "5", get: func(c *Config) string { return itoa(c.Transfers) }},
		{name: "poll_interval", file: "10s", env: "1m", flag: "90s", envW: "1m0s", flW: "1m30s",
			get: func(c *Config) string { return c.PollInterval.String() }},
		{name: "full_scan", file: `"@daily"`, fileW: "@daily", env: "0 */6 * * *", flag: "@every 2h",
			get: func(c *Config) string { return c.FullScan }},
		{name: "settle", file: "0s", env: "5s", flag: "1m", flW: "1m0s",
			get: func(c *Config) string { return c.Settle.String() }},
		{name: "conflict", file: "newer", env: "local", flag: "Remote", flW: "remote",
			get: func(c *Config) string { return c.Conflict }},
		{name: "mode", file: "upload-only", env: "download-only", flag: "two-way",
			get: func(c *Config) string { return c.Mode }},
		{name: "max_delete", file: "10%", env: "200", flag: "12.5%",
			get: func(c *Config) string { return c.MaxDelete.String() }},
		{name: "exclude", file: "[a, b]", env: "c,d\ne", flag: "f", fileW: "a,b", envW: "c,d,e",
			get: func(c *Config) string { return strings.Join(c.Exclude, ",") }},
		{name: "trash_days", file: "1", env: "7", flag: "365", get: func(c *Config) string { return itoa(c.TrashDays) }},
		{name: "log_level", file: "debug", env: "warn", flag: "error", get: func(c *Config) string { return c.LogLevel }},
		{name: "log_format", file: "json", env: "console", flag: "auto", get: func(c *Config) string { return c.LogFormat }},
	}
	covered := map[string]bool{"token": true} // env only: TestTokenEnvOnly
	for _, tc := range cases {
		covered[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			s := byName[tc.name]
			fileW, envW, flW := or(tc.fileW, tc.file), or(tc.envW, tc.env), or(tc.flW, tc.flag)
			def := s.get(Defaults(env{"HOME": home}.get))
			cfgPath := writeConfig(t, tc.name+": "+tc.file+"\n")
			envName := "YASYNCD_" + strings.ToUpper(tc.name)

			steps := []struct {
				what   string
				file   bool
				env    bool
				flag   bool
				want   string
				source string
			}{
				{"default", false, false, false, def, "default"},
				{"file", true, false, false, fileW, cfgPath + " line 1"},
				{"env over file", true, true, false, envW, "env " + envName},
				{"flag over env and file", true, true, true, flW, "flag --" + s.flag()},
				{"flag over file", true, false, true, flW, "flag --" + s.flag()},
				{"env over default", false, true, false, envW, "env " + envName},
			}
			for _, st := range steps {
				e := env{"HOME": home}
				var args []string
				if st.file {
					args = append(args, "--config", cfgPath)
				}
				if st.env {
					e[envName] = tc.env
				}
				if st.flag {
					args = append(args, "--"+s.flag(), tc.flag)
				}
				c, err := Load(e.get, parseFlags(t, args...))
				if err != nil {
					t.Fatalf("%s: %v", st.what, err)
				}
				if got := tc.get(c); got != st.want {
					t.Errorf("%s: got %q, want %q", st.what, got, st.want)
				}
				if got := c.Source(tc.name); got != st.source {
					t.Errorf("%s: source %q, want %q", st.what, got, st.source)
				}
			}
		})
	}
	for _, s := range settings {
		if !covered[s.name] {
			t.Errorf("setting %s has no precedence case", s.name)
		}
	}
}

func (s *setting) get(c *Config) string { return s.show(c) }

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestTokenEnvOnly(t *testing.T) {
	e, _ := testEnv(t)
	e["YASYNCD_TOKEN"] = "y0_secret"
	c, err := Load(e.get, nil)
	if err != nil || c.Token != "y0_secret" {
		t.Fatalf("token from env: %v %q", err, c.Token)
	}
	// No flag.
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	NewFlags().Register(fs)
	if err := fs.Parse([]string{"--token", "x"}); err == nil {
		t.Error("--token accepted as a flag")
	}
	// Not in the file, with a hint.
	p := writeConfig(t, "token: abc\n")
	_, err = Load(e.get, parseFlags(t, "--config", p))
	if err == nil || !strings.Contains(err.Error(), "YASYNCD_TOKEN") || strings.Contains(err.Error(), "abc") {
		t.Errorf("token in file: %v", err)
	}
	// A token with a newline is refused without being echoed.
	e["YASYNCD_TOKEN"] = "y0_sec ret"
	_, err = Load(e.get, nil)
	if err == nil || strings.Contains(err.Error(), "sec") {
		t.Errorf("bad token: %v", err)
	}
}

func TestBadValues(t *testing.T) {
	home := t.TempDir()
	cases := []struct {
		name, value string
		want        string // the whole message for a value given in the environment
	}{
		{"transfers", "abc", `transfers "abc" (env YASYNCD_TRANSFERS): not a whole number; set a number from 1 to 64`},
		{"transfers", "0", `transfers "0" (env YASYNCD_TRANSFERS): out of range; set a number from 1 to 64`},
		{"transfers", "65", `transfers "65" (env YASYNCD_TRANSFERS): out of range; set a number from 1 to 64`},
		{"poll_interval", "30", `poll_interval "30" (env YASYNCD_POLL_INTERVAL): a duration needs a unit; write it like 30s or 5m`},
		{"poll_interval", "soon", `poll_interval "soon" (env YASYNCD_POLL_INTERVAL): not a duration; write it in Go syntax, like 30s, 5m or 1h30m`},
		{"poll_interval", "500ms", `poll_interval "500ms" (env YASYNCD_POLL_INTERVAL): out of range; set a duration from 1s to 24h, like 30s`},
		{"poll_interval", "25h", `poll_interval "25h0m0s" (env YASYNCD_POLL_INTERVAL): out of range; set a duration from 1s to 24h, like 30s`},
		{"settle", "-1s", `settle "-1s" (env YASYNCD_SETTLE): out of range; set a duration from 0s to 10m, like 2s`},
		{"settle", "11m", `settle "11m0s" (env YASYNCD_SETTLE): out of range; set a duration from 0s to 10m, like 2s`},
		{"full_scan", "hourly", `full_scan "hourly" (env YASYNCD_FULL_SCAN): not a schedule (expected exactly 5 fields, found 1: [hourly]); write a cron spec like "0 */6 * * *" or a descriptor like @hourly, @daily or "@every 2h"`},
		{"full_scan", "@sometimes", ``},
		{"full_scan", "61 * * * *", ``},
		{"full_scan", "0 0 30 2 *", `full_scan "0 0 30 2 *" (env YASYNCD_FULL_SCAN): never fires; write a cron spec like "0 */6 * * *" or a descriptor like @hourly, @daily or "@every 2h"`},
		{"conflict", "mine", `conflict "mine" (env YASYNCD_CONFLICT): not a known value; use one of keep-both, newer, local, remote`},
		{"mode", "mirror", `mode "mirror" (env YASYNCD_MODE): not a known value; use one of two-way, upload-only, download-only`},
		{"max_delete", "half", `max_delete "half" (env YASYNCD_MAX_DELETE): neither a share nor a whole number; write a share like 50% or a number of files like 200`},
		{"max_delete", "x%", `max_delete "x%" (env YASYNCD_MAX_DELETE): not a percentage; write a share like 50% or a number of files like 200`},
		{"max_delete", "150%", `max_delete "150%" (env YASYNCD_MAX_DELETE): a share must be above 0% and at most 100%; write a share like 50% or a number of files like 200`},
		{"max_delete", "0%", ``},
		{"max_delete", "NaN%", ``},
		{"max_delete", "-3", `max_delete "-3" (env YASYNCD_MAX_DELETE): a count must be at least 1; write a share like 50% or a number of files like 200`},
		{"trash_days", "0", `trash_days "0" (env YASYNCD_TRASH_DAYS): out of range; set a number of days from 1 to 3650`},
		{"trash_days", "1.5", `trash_days "1.5" (env YASYNCD_TRASH_DAYS): not a whole number; set a number of days from 1 to 3650`},
		{"log_level", "verbose", `log_level "verbose" (env YASYNCD_LOG_LEVEL): not a known value; use one of debug, info, warn, error`},
		{"log_format", "xml", `log_format "xml" (env YASYNCD_LOG_FORMAT): not a known value; use one of auto, console, json`},
		{"api_url", "http://example.com", `api_url "http://example.com" (env YASYNCD_API_URL): plain http is allowed only for loopback hosts; use https://example.com`},
		{"api_url", "https://cloud-api.yandex.net/v1/disk", `api_url "https://cloud-api.yandex.net/v1/disk" (env YASYNCD_API_URL): not an origin (it has a path, query or fragment); yasyncd appends the API paths itself; write only the scheme and host, like https://cloud-api.yandex.net`},
		{"api_url", "cloud-api.yandex.net", `api_url "cloud-api.yandex.net" (env YASYNCD_API_URL): not an http(s) origin; write it like https://cloud-api.yandex.net`},
		{"api_url", "ftp://x", ``},
		{"api_url", "https://u:p@x", ``},
		{"oauth_url", "http://10.0.0.1", `oauth_url "http://10.0.0.1" (env YASYNCD_OAUTH_URL): plain http is allowed only for loopback hosts; use https://10.0.0.1`},
		{"oauth_url", "http://localhost.evil.com", ``},
		{"remote_dir", "disk:/a/../b", `remote_dir "disk:/a/../b" (env YASYNCD_REMOTE_DIR): contains ".."; name a Disk folder, like disk:/Sync or /Sync`},
		{"remote_dir", "trash:/x", ``},
		{"remote_dir", "a\x01b", `remote_dir "a\x01b" (env YASYNCD_REMOTE_DIR): contains a control character; name a Disk folder, like disk:/Sync or /Sync`},
		{"redirect_uri", "callback", `redirect_uri "callback" (env YASYNCD_REDIRECT_URI): not an absolute http(s) URL; write the callback URL registered for the client id, like http://127.0.0.1:53682/callback`},
		{"client_id", "ab cd", `client_id "ab cd" (env YASYNCD_CLIENT_ID): contains spaces or control characters; paste the client id again without them`},
		{"client_secret", "top secret", `client_secret (value hidden) (env YASYNCD_CLIENT_SECRET): contains spaces or control characters; paste the client secret again without them`},
		{"local_dir", "/", `local_dir "/" (env YASYNCD_LOCAL_DIR): the root of the file system cannot be synced; name a folder, like ~/YandexDisk`},
		{"local_dir", "~bob/x", `local_dir "~bob/x" (env YASYNCD_LOCAL_DIR): ~user paths are not supported; write an absolute path or one starting with ~/`},
	}
	for _, tc := range cases {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			e := env{"HOME": home, "YASYNCD_" + strings.ToUpper(tc.name): tc.value}
			_, err := Load(e.get, nil)
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("got %v, want a *UsageError", err)
			}
			if ue.Setting != tc.name {
				t.Errorf("Setting = %q", ue.Setting)
			}
			msg := err.Error()
			if strings.ContainsAny(msg, "\n\r") {
				t.Errorf("message spans lines: %q", msg)
			}
			if tc.want != "" && msg != tc.want {
				t.Errorf("message\n got %s\nwant %s", msg, tc.want)
			}
			if !strings.HasPrefix(msg, tc.name+" ") || !strings.Contains(msg, "; ") {
				t.Errorf("message does not name the setting and a fix: %s", msg)
			}
			if tc.name == "client_secret" && strings.Contains(msg, "secret\"") {
				t.Errorf("secret echoed: %s", msg)
			}
		})
	}
}

// The same bad value from a flag and from the file names its source; from a Config built
// in code it lists every place to set it.
func TestErrorSources(t *testing.T) {
	e, _ := testEnv(t)
	_, err := Load(e.get, parseFlags(t, "--transfers", "abc"))
	if want := `transfers "abc" (flag --transfers): not a whole number; set a number from 1 to 64`; err == nil || err.Error() != want {
		t.Errorf("flag: %v", err)
	}
	p := writeConfig(t, "# comment\n\ntransfers: abc\n")
	_, err = Load(e.get, parseFlags(t, "--config", p))
	if want := `transfers "abc" (` + p + ` line 3): not a whole number; set a number from 1 to 64`; err == nil || err.Error() != want {
		t.Errorf("file: %v", err)
	}
	c := Defaults(e.get)
	c.Transfers = 0
	err = c.Validate()
	if want := `transfers "0": out of range; set a number from 1 to 64 (flag --transfers, env YASYNCD_TRANSFERS or transfers: in the config file)`; err == nil || err.Error() != want {
		t.Errorf("code: %v", err)
	}
	if !IsUsage(err) {
		t.Error("IsUsage false")
	}
}

func TestConfigFile(t *testing.T) {
	e, home := testEnv(t)
	cases := []struct {
		name, text, want string // want: substring of the error; "" = no error
	}{
		{"empty", "", ""},
		{"comments only", "# nothing\n", ""},
		{"null value keeps default", "transfers:\n", ""},
		{"unknown key", "local_dir: /x\ntranfers: 3\n", `line 2: unknown key "tranfers"; did you mean transfers?`},
		{"dashed key", "local-dir: /x\n", `unknown key "local-dir"; did you mean local_dir?`},
		{"far unknown key", "colour: blue\n", `unknown key "colour"; known keys: api_url, client_id`},
		{"duplicate", "mode: two-way\nmode: upload-only\n", "line 2: mode is set twice (first on line 1)"},
		{"not a mapping", "- a\n- b\n", "expected a mapping of settings"},
		{"list for scalar", "mode: [a]\n", "line 1: mode must be a single value"},
		{"map for list", "exclude: {a: b}\n", "line 1: exclude must be a list of patterns"},
		{"nested list", "exclude: [[a]]\n", "line 1: exclude items must be plain strings"},
		{"unquoted @", "full_scan: @hourly\n", `must be quoted`},
		{"two documents", "mode: two-way\n---\nmode: x\n", "a second YAML document"},
		{"relative local_dir", "local_dir: Sync\n", `local_dir "Sync" (`},
		{"tilde local_dir", "local_dir: ~/Y\n", ""},
		{"state inside local", "local_dir: /data\nstate_dir: /data/.state\n", `state_dir "/data/.state" is inside local_dir "/data"`},
		{"exclude scalar", "exclude: '*.tmp'\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeConfig(t, tc.text)
			c, err := Load(e.get, parseFlags(t, "--config", p))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if c.ConfigFile != p {
					t.Errorf("ConfigFile = %q", c.ConfigFile)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want it to contain %q", err, tc.want)
			}
			if !IsUsage(err) || strings.Contains(err.Error(), "\n") {
				t.Errorf("not a one-line usage error: %q", err)
			}
		})
	}
	c, err := Load(e.get, parseFlags(t, "--config", writeConfig(t, "local_dir: ~/Y\nexclude: '*.tmp'\n")))
	if err != nil || c.LocalDir != filepath.Join(home, "Y") || !reflect.DeepEqual(c.Exclude, []string{"*.tmp"}) {
		t.Errorf("got %v %q %q", err, c.LocalDir, c.Exclude)
	}
}

func TestConfigFileLocation(t *testing.T) {
	e, home := testEnv(t)
	// A missing default file is fine.
	if c, err := Load(e.get, nil); err != nil || c.ConfigFile != "" {
		t.Fatalf("missing default file: %v %q", err, c.ConfigFile)
	}
	// A missing named file is not, whether named by flag or env.
	missing := filepath.Join(home, "nope.yaml")
	if _, err := Load(e.get, parseFlags(t, "--config", missing)); err == nil || !strings.Contains(err.Error(), missing) || !IsUsage(err) {
		t.Errorf("missing --config: %v", err)
	}
	e[ConfigEnv] = missing
	if _, err := Load(e.get, nil); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing %s: %v", ConfigEnv, err)
	}
	// --config beats the env variable.
	p := writeConfig(t, "transfers: 9\n")
	if c, err := Load(e.get, parseFlags(t, "--config", p)); err != nil || c.Transfers != 9 {
		t.Errorf("--config over env: %v", err)
	}
	e[ConfigEnv] = p
	if c, err := Load(e.get, nil); err != nil || c.Transfers != 9 || c.ConfigFile != p {
		t.Errorf("%s: %v", ConfigEnv, err)
	}
	if _, err := Load(e.get, parseFlags(t, "--config", "")); err == nil {
		t.Error("empty --config accepted")
	}
	// A directory is not a file.
	if _, err := Load(e.get, parseFlags(t, "--config", home)); err == nil || !IsUsage(err) {
		t.Errorf("directory as config: %v", err)
	}
}

func TestRemoteDirForms(t *testing.T) {
	for in, want := range map[string]string{
		"/Sync":          "disk:/Sync",
		"Sync":           "disk:/Sync",
		"disk:/Sync":     "disk:/Sync",
		"disk:Sync":      "disk:/Sync",
		"disk:/Sync/":    "disk:/Sync",
		"//a//b/":        "disk:/a/b",
		"app:/backup":    "app:/backup",
		"disk:/":         "disk:/",
		"/":              "disk:/",
		" Фото/2024 ":    "disk:/Фото/2024",
		"disk:/with sp":  "disk:/with sp",
		"disk:/a.b/c..d": "disk:/a.b/c..d",
	} {
		got, err := NormalizeRemoteDir(in)
		if err != nil || got != want {
			t.Errorf("NormalizeRemoteDir(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "  ", "disk:/.", "..", "disk:/a/./b", "photos:/x", "a\x00b", "a\x7fb"} {
		if got, err := NormalizeRemoteDir(bad); err == nil {
			t.Errorf("NormalizeRemoteDir(%q) = %q, want an error", bad, got)
		}
	}
}

func TestOrigins(t *testing.T) {
	ok := map[string]string{
		"https://cloud-api.yandex.net":  "https://cloud-api.yandex.net",
		"https://cloud-api.yandex.net/": "https://cloud-api.yandex.net",
		"https://host:8443":             "https://host:8443",
		"http://127.0.0.1:41234":        "http://127.0.0.1:41234",
		"http://127.1.2.3":              "http://127.1.2.3",
		"http://localhost:80/":          "http://localhost:80",
		"http://LOCALHOST:1":            "http://LOCALHOST:1",
		"http://[::1]:9":                "http://[::1]:9",
	}
	for in, want := range ok {
		got, p := checkOrigin(in, DefaultAPIURL)
		if p != nil || got != want {
			t.Errorf("checkOrigin(%q) = %q, %+v; want %q", in, got, p, want)
		}
	}
	for _, bad := range []string{
		"http://example.com", "http://10.1.1.1", "http://[::2]", "http://localhost.example.com",
		"https://x/v1", "https://x?a=b", "https://x#f", "https://u@x", "x", "", "file:///etc", "https://",
	} {
		if got, p := checkOrigin(bad, DefaultAPIURL); p == nil {
			t.Errorf("checkOrigin(%q) = %q, want a problem", bad, got)
		}
	}
}

func TestDurations(t *testing.T) {
	e, _ := testEnv(t)
	for in, want := range map[string]time.Duration{"1s": time.Second, "90s": 90 * time.Second, "1h30m": 90 * time.Minute, " 5m ": 5 * time.Minute, "24h": 24 * time.Hour} {
		e["YASYNCD_POLL_INTERVAL"] = in
		c, err := Load(e.get, nil)
		if err != nil || c.PollInterval != want {
			t.Errorf("poll_interval %q: %v %v", in, c, err)
		}
	}
	e["YASYNCD_POLL_INTERVAL"] = ""
	for in, want := range map[string]time.Duration{"0s": 0, "0": 0, "250ms": 250 * time.Millisecond, "10m": 10 * time.Minute} {
		e["YASYNCD_SETTLE"] = in
		c, err := Load(e.get, nil)
		if err != nil || c.Settle != want {
			t.Errorf("settle %q: %v %v", in, c.Settle, err)
		}
	}
}

func TestMaxDeleteForms(t *testing.T) {
	for in, want := range map[string]MaxDelete{
		"50%":    {Percent: 50},
		"12.5%":  {Percent: 12.5},
		" 100% ": {Percent: 100},
		"5 %":    {Percent: 5},
		"200":    {Count: 200},
		"1":      {Count: 1},
	} {
		got, p := parseMaxDelete(in)
		if p != nil || got != want {
			t.Errorf("parseMaxDelete(%q) = %+v, %+v", in, got, p)
		}
	}
	for _, bad := range []string{"", "%", "0%", "101%", "-1%", "1.5", "-2", "0", "fifty", "Inf%", "NaN%", "50%%"} {
		if got, p := parseMaxDelete(bad); p == nil {
			t.Errorf("parseMaxDelete(%q) = %+v, want a problem", bad, got)
		}
	}
	if s := (MaxDelete{Percent: 12.5}).String(); s != "12.5%" {
		t.Errorf("String = %q", s)
	}
	if s := (MaxDelete{Count: 200}).String(); s != "200" {
		t.Errorf("String = %q", s)
	}
}

func TestFullScanSpecs(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 17, 0, 0, time.UTC)
	for spec, period := range map[string]time.Duration{
		"@hourly":          time.Hour,
		"@daily":           24 * time.Hour,
		"@midnight":        24 * time.Hour,
		"@weekly":          7 * 24 * time.Hour,
		"@every 2h":        2 * time.Hour,
		"@every 90s":       90 * time.Second,
		"0 */6 * * *":      6 * time.Hour,
		"*/15 * * * *":     15 * time.Minute,
		"30 3 * * *":       24 * time.Hour,
		"TZ=UTC 0 * * * *": time.Hour,
	} {
		c := &Config{FullScan: spec}
		if p := byName["full_scan"].check(c); p != nil {
			t.Errorf("%q refused: %+v", spec, p)
			continue
		}
		if got := c.FullScanPeriod(now); got != period {
			t.Errorf("FullScanPeriod(%q) = %v, want %v", spec, got, period)
		}
	}
	for _, bad := range []string{"", "hourly", "@reboot", "* * * *", "60 * * * *", "* * * * * *", "0 0 31 2 *", "TZ=Nowhere/City 0 * * * *", "@every -1h", "@every", "@every 30s"} {
		c := &Config{FullScan: bad}
		if p := byName["full_scan"].check(c); p == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestFlagsSet(t *testing.T) {
	e, _ := testEnv(t)
	f := NewFlags()
	if err := f.Set("transfers", "8"); err != nil {
		t.Fatal(err)
	}
	if err := f.Set("poll-interval", "1m"); err != nil {
		t.Fatal(err)
	}
	if err := f.Set("token", "x"); err == nil {
		t.Error("token settable as a flag")
	}
	c, err := Load(e.get, f)
	if err != nil || c.Transfers != 8 || c.PollInterval != time.Minute {
		t.Errorf("got %v %+v", err, c)
	}
	// A repeated exclude flag adds patterns; a repeated scalar flag keeps the last value.
	c, err = Load(e.get, parseFlags(t, "--exclude", "a,b", "--exclude", "c", "--mode", "upload-only", "--mode", "download-only"))
	if err != nil || !reflect.DeepEqual(c.Exclude, []string{"a,b", "c"}) || c.Mode != "download-only" {
		t.Errorf("got %v %q %q", err, c.Exclude, c.Mode)
	}
}

func TestLocalDirRelative(t *testing.T) {
	e, _ := testEnv(t)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(e.get, parseFlags(t, "--local-dir", "sub/dir/"))
	if err != nil || c.LocalDir != filepath.Join(wd, "sub", "dir") {
		t.Errorf("got %v %q", err, c.LocalDir)
	}
	delete(e, "HOME")
	e["XDG_STATE_HOME"] = t.TempDir()
	if _, err := Load(e.get, parseFlags(t, "--local-dir", "~/x")); err == nil || !strings.Contains(err.Error(), "HOME is not set") {
		t.Errorf("~ without HOME: %v", err)
	}
	delete(e, "XDG_STATE_HOME")
	if _, err := Load(e.get, nil); err == nil || !strings.Contains(err.Error(), "state_dir") {
		t.Errorf("no HOME, no state dir: %v", err)
	}
}

func TestWriteHelp(t *testing.T) {
	var b strings.Builder
	WriteHelp(&b, env{"HOME": "/home/u", "YASYNCD_CLIENT_SECRET": "s3cr3t"}.get)
	out := b.String()
	for _, s := range settings {
		if !strings.Contains(out, s.env()) {
			t.Errorf("help lacks %s", s.env())
		}
		if !s.envOnly && !strings.Contains(out, "--"+s.flag()+" ") {
			t.Errorf("help lacks --%s", s.flag())
		}
	}
	if !strings.Contains(out, "/home/u/.local/state/yasyncd") || strings.Contains(out, "s3cr3t") {
		t.Errorf("help:\n%s", out)
	}
}
