package config

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseFile feeds arbitrary config files through parsing and validation: no panic
// (the cron parser has had panics), and every refusal is a one-line *UsageError.
func FuzzParseFile(f *testing.F) {
	for _, seed := range []string{
		"local_dir: /x\ntransfers: 3\n",
		"full_scan: \"TZ=\"\n",
		"full_scan: \"@every 1h\"\nmax_delete: 10%\n",
		"exclude: [a, '*.tmp', '!b']\n",
		"remote_dir: disk:/a/../b\n",
		"mode: [x]\n",
		"{a: b}\n",
		"- 1\n",
		"api_url: http://[::1]:80/\n",
		"full_scan: \"0-70/3 * * * *\"\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		vals, err := parseFile("config.yaml", []byte(text))
		if err != nil {
			checkUsage(t, err)
			return
		}
		c := Defaults(env{"HOME": "/home/u"}.get)
		in := &input{home: "/home/u", fromFile: true}
		for name, r := range vals {
			s := byName[name]
			var p *problem
			if s.list {
				p = s.parseList(c, r.vals)
			} else {
				p = s.parse(c, r.vals[0], in)
			}
			if p != nil {
				checkUsage(t, failAt(s, p, r.src))
				return
			}
		}
		if err := c.Validate(); err != nil {
			checkUsage(t, err)
		}
	})
}

func checkUsage(t *testing.T, err error) {
	t.Helper()
	var ue *UsageError
	if !errors.As(err, &ue) {
		t.Fatalf("not a *UsageError: %v", err)
	}
	if strings.ContainsAny(err.Error(), "\n\r") {
		t.Fatalf("message spans lines: %q", err)
	}
}
