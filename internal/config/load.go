package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ConfigEnv names the environment variable that can point at the config file (the
// --config flag is stronger).
const ConfigEnv = "YASYNCD_CONFIG"

// Flags collects the settings given on a command line. Register it on every flag.FlagSet
// that should accept setting flags; values land in the same Flags whichever set parsed
// them, so "yasyncd --mode upload-only run" and "yasyncd run --mode upload-only" agree.
type Flags struct {
	configFile string
	configSet  bool
	values     map[string]*raw
}

// raw is one source's value of a setting, before parsing.
type raw struct {
	vals []string // one element except for list settings
	src  string   // "flag --mode", "env YASYNCD_MODE", "<file> line 3"
	line int      // config file line, for errors
}

// NewFlags returns an empty Flags.
func NewFlags() *Flags { return &Flags{values: map[string]*raw{}} }

// Register adds --config and one flag per setting (except the token) to fs.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.Var(configFlag{f}, "config", "read settings from this YAML `file` (env "+ConfigEnv+"; default $XDG_CONFIG_HOME/yasyncd/config.yaml)")
	for _, s := range settings {
		if s.envOnly {
			continue
		}
		fs.Var(&settingFlag{f: f, s: s}, s.flag(), s.help)
	}
}

// Set records a setting as if given on the command line as --name=value. name is the
// setting's name (local_dir) or flag name (local-dir).
func (f *Flags) Set(name, value string) error {
	s := byName[strings.ReplaceAll(name, "-", "_")]
	if s == nil || s.envOnly {
		return fmt.Errorf("unknown setting %q", name)
	}
	return (&settingFlag{f: f, s: s}).Set(value)
}

type configFlag struct{ f *Flags }

func (c configFlag) String() string {
	if c.f == nil {
		return ""
	}
	return c.f.configFile
}

func (c configFlag) Set(v string) error {
	c.f.configFile, c.f.configSet = v, true
	return nil
}

type settingFlag struct {
	f *Flags
	s *setting
}

func (sf *settingFlag) String() string {
	if sf == nil || sf.f == nil {
		return ""
	}
	if r := sf.f.values[sf.s.name]; r != nil {
		return strings.Join(r.vals, ",")
	}
	return ""
}

// Set records the value; a list setting's flag may be repeated and each use adds one
// pattern, any other setting's last use wins.
func (sf *settingFlag) Set(v string) error {
	r := sf.f.values[sf.s.name]
	if r == nil || !sf.s.list {
		r = &raw{src: "flag --" + sf.s.flag()}
		sf.f.values[sf.s.name] = r
		r.vals = nil
	}
	r.vals = append(r.vals, v)
	return nil
}

// Load combines built-in defaults, the config file, the environment and the flags
// (weakest to strongest) and validates the result. flags may be nil. getenv is usually
// os.Getenv; an empty variable counts as unset.
//
// The config file is flags' --config, else $YASYNCD_CONFIG, else DefaultConfigFile; a
// missing default file is fine, a missing named file is an error. Every error is a
// *UsageError.
func Load(getenv func(string) string, flags *Flags) (*Config, error) {
	if flags == nil {
		flags = NewFlags()
	}
	c := Defaults(getenv)
	in := &input{home: getenv("HOME")}

	path, explicit := flags.configFile, flags.configSet
	if !explicit {
		if p := getenv(ConfigEnv); p != "" {
			path, explicit = p, true
		} else {
			path = DefaultConfigFile(getenv)
		}
	}
	if explicit && path == "" {
		return nil, Usagef("--config needs a file name")
	}
	fileVals, err := readFile(path, explicit, in.home)
	if err != nil {
		return nil, err
	}
	if fileVals != nil {
		c.ConfigFile = path
	}

	for _, s := range settings {
		r := fileVals[s.name]
		in.fromFile = r != nil
		if v := getenv(s.env()); v != "" {
			r = &raw{vals: []string{v}, src: "env " + s.env()}
			if s.list {
				r.vals = splitList(v)
			}
			in.fromFile = false
		}
		if fr := flags.values[s.name]; fr != nil {
			r = fr
			in.fromFile = false
		}
		if r == nil {
			continue
		}
		c.src[s.name] = r.src
		var p *problem
		if s.list {
			p = s.parseList(c, r.vals)
		} else {
			p = s.parse(c, r.vals[0], in)
		}
		if p != nil {
			return nil, failAt(s, p, r.src)
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// splitList splits an environment list on commas and newlines.
func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' })
}

// readFile reads the YAML config file into raw values. It returns nil, nil when the file
// is the default one and does not exist.
func readFile(path string, explicit bool, home string) (map[string]*raw, error) {
	if path == "" {
		return nil, nil
	}
	if path == "~" || strings.HasPrefix(path, "~/") {
		if home == "" {
			return nil, Usagef("config file %q: HOME is not set, so ~ cannot be expanded; give an absolute path", path)
		}
		path = home + path[1:]
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return nil, nil
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, Usagef("config file %s: %v; fix the path given with --config or %s", path, err, ConfigEnv)
	}
	return parseFile(path, data)
}

// parseFile decodes the YAML mapping of settings. Unknown and repeated keys are errors:
// a misspelt key silently ignored would leave a safety setting at its default.
func parseFile(path string, data []byte) (map[string]*raw, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return map[string]*raw{}, nil // empty file
		}
		return nil, Usagef("config file %s: %s; values starting with @, *, & or ! and values containing \": \" must be quoted",
			path, oneLine(strings.TrimPrefix(err.Error(), "yaml: ")))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, Usagef("config file %s line %d: a second YAML document; keep all settings in one mapping", path, extra.Line)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return map[string]*raw{}, nil
		}
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return map[string]*raw{}, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, Usagef("config file %s line %d: expected a mapping of settings, like \"local_dir: ~/YandexDisk\"", path, root.Line)
	}
	out := map[string]*raw{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		where := fmt.Sprintf("%s line %d", path, k.Line)
		s := byName[k.Value]
		switch {
		case k.Kind != yaml.ScalarNode:
			return nil, Usagef("config file %s: a key must be a setting name", where)
		case s == nil:
			return nil, Usagef("config file %s: unknown key %q%s", where, k.Value, suggest(k.Value))
		case s.envOnly:
			return nil, Usagef("config file %s: %s is not read from the config file; set env %s or run \"yasyncd auth login\"",
				where, s.name, s.env())
		case out[s.name] != nil:
			return nil, Usagef("config file %s: %s is set twice (first on line %d); keep one", where, s.name, out[s.name].line)
		}
		r := &raw{src: where, line: k.Line}
		switch {
		case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
			continue // "key:" with no value leaves the default
		case v.Kind == yaml.ScalarNode:
			r.vals = []string{v.Value}
		case v.Kind == yaml.SequenceNode && s.list:
			for _, item := range v.Content {
				if item.Kind != yaml.ScalarNode {
					return nil, Usagef("config file %s line %d: %s items must be plain strings", path, item.Line, s.name)
				}
				r.vals = append(r.vals, item.Value)
			}
			if r.vals == nil {
				r.vals = []string{} // "exclude: []" clears the list
			}
		case s.list:
			return nil, Usagef("config file %s: %s must be a list of patterns", where, s.name)
		default:
			return nil, Usagef("config file %s: %s must be a single value", where, s.name)
		}
		out[s.name] = r
	}
	return out, nil
}

// suggest names the known key closest to an unknown one, or lists them all.
func suggest(key string) string {
	norm := strings.ToLower(strings.NewReplacer("-", "_", " ", "_").Replace(key))
	best, bestD := "", 3
	for _, s := range settings {
		if s.envOnly {
			continue
		}
		if d := editDistance(norm, s.name); d < bestD {
			best, bestD = s.name, d
		}
	}
	if best != "" {
		return fmt.Sprintf("; did you mean %s?", best)
	}
	return "; known keys: " + strings.Join(Names(), ", ")
}

// editDistance is the Levenshtein distance, for short keys.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Names lists the settings accepted in the config file, sorted.
func Names() []string {
	var n []string
	for _, s := range settings {
		if !s.envOnly {
			n = append(n, s.name)
		}
	}
	sort.Strings(n)
	return n
}

// WriteHelp writes the settings table for --help: flag, environment variable, default
// and meaning of every setting.
func WriteHelp(w io.Writer, getenv func(string) string) {
	d := Defaults(getenv)
	fmt.Fprintf(w, "Settings (strongest first: flag, environment, config file, default):\n")
	for _, s := range settings {
		flagName := "(none)"
		if !s.envOnly {
			flagName = "--" + s.flag()
		}
		def := s.show(d)
		if s.secret || def == "" {
			def = "-"
		}
		fmt.Fprintf(w, "  %-16s %-24s default %s\n      %s\n", flagName, s.env(), def, s.help)
	}
	fmt.Fprintf(w, "  %-16s %-24s default %s\n      %s\n", "--config", ConfigEnv, "$XDG_CONFIG_HOME/yasyncd/config.yaml",
		"the YAML config file; its keys are the setting names (local_dir: ~/YandexDisk)")
}
