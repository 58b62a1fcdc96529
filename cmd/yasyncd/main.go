// Command yasyncd keeps a local folder and a Yandex Disk folder in two-way sync.
//
// It is wiring only: flags, environment and config file become one config.Config; the
// packages it starts take plain Options. Only this package prints to the user, and it
// prints one line that says what to do; the exit codes follow contract.md:
//
//	0   success (conflict copies and reported skips included)
//	1   try again later (some paths failed, network or server, another instance)
//	2   bad usage or configuration
//	3   needs the user (login, Disk full, a safety guard, root missing)
//	130 interrupted by SIGINT (SIGTERM is a clean stop of the daemon: 0; a --once pass it
//	    cut short exits 1)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"go.uber.org/zap"
	"golang.org/x/term"

	"github.com/yasyncd/yasyncd/internal/config"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	ctx, stop := signalContext(context.Background())
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// signalError is the cancellation cause when a signal stops the process.
type signalError struct{ sig os.Signal }

func (e *signalError) Error() string { return "stopped by " + e.sig.String() }

// signalContext returns a context cancelled by the first SIGINT or SIGTERM, with a
// *signalError as its cause so run can pick the exit code. A second signal exits at once:
// the user insists, and every write of a pass is crash-safe by design.
func signalContext(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			cancel(&signalError{sig})
		case <-done:
			return
		}
		select {
		case <-ch:
			fmt.Fprintln(os.Stderr, "yasyncd: stopping now")
			os.Exit(exitInterrupted)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// app is one invocation: the process's environment and output streams. Tests run it
// in-process with fakes.
type app struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
	// tty says stderr is a terminal: progress display and console logs.
	tty bool
	// logWriter is stderr as the logger sees it, shared with the progress display.
	logWriter *lockedWriter
	// hooks are for tests only; nil in the real command.
	hooks *testHooks
}

// run is the whole command: it parses args, runs the command and returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	a := &app{getenv: getenv, stdout: stdout, stderr: stderr, tty: isTerminal(stderr)}
	return a.run(ctx, args, nil)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (a *app) run(ctx context.Context, args []string, hooks *testHooks) int {
	a.hooks = hooks
	cl, err := parseArgs(args)
	var help *helpRequest
	switch {
	case errors.As(err, &help):
		writeUsage(a.stdout, help.command, a.getenv)
		return exitOK
	case err != nil:
		return a.fail(err, nil)
	}
	switch cl.command {
	case "help":
		writeUsage(a.stdout, "", a.getenv)
		return exitOK
	case "version":
		writeVersion(a.stdout)
		return exitOK
	}

	cfg, err := config.Load(a.getenv, cl.flags)
	if err != nil {
		return a.fail(err, nil)
	}
	a.logWriter = &lockedWriter{w: a.stderr}
	log, err := newLogger(cfg, a.logWriter, a.tty)
	if err != nil {
		return a.fail(err, cfg)
	}
	defer func() { _ = log.Sync() }()
	log.Debug("settings loaded", zap.String("config_file", cfg.ConfigFile))

	switch cl.command {
	case "status":
		return a.fail(a.status(ctx, cfg, cl.json), cfg)
	case "auth":
		return runAuth(ctx, cfg, log, cl.rest, a.stdout, a.stderr)
	}
	if err := cfg.RequireLocalDir(); err != nil {
		return a.fail(err, cfg)
	}
	if cl.once {
		err = a.once(ctx, cfg, log, cl)
	} else {
		err = a.daemon(ctx, cfg, log, cl)
	}
	return a.finish(ctx, err, cfg, cl.once)
}

// finish maps the end of a sync command to its exit code: a signal decides first, since a
// pass cut short by Ctrl-C reports a context error that is not the user's problem. SIGTERM
// is a clean stop of the daemon (0); a --once pass it cut short did not bring both sides
// in sync, so a script or timer hears "try again later" (1) rather than success.
func (a *app) finish(ctx context.Context, err error, cfg *config.Config, once bool) int {
	var sig *signalError
	if errors.As(context.Cause(ctx), &sig) {
		switch {
		case sig.sig == os.Interrupt:
			return exitInterrupted
		case once && err != nil:
			return exitRetry
		}
		return exitOK
	}
	return a.fail(err, cfg)
}

// fail prints err's one line (if any) and returns its exit code.
func (a *app) fail(err error, cfg *config.Config) int {
	if err == nil {
		return exitOK
	}
	code, msg := classify(err, cfg)
	fmt.Fprintln(a.stderr, "yasyncd: "+msg)
	return code
}

// cmdline is a parsed command line.
type cmdline struct {
	command string // run, status, auth, version, help
	flags   *config.Flags
	// run
	once, dryRun, resync, forceDelete, full bool
	// status
	json bool
	// auth: the arguments after "auth" and its setting flags, for runAuth
	rest []string
}

// helpRequest is returned by parseArgs for -h/--help.
type helpRequest struct{ command string }

func (h *helpRequest) Error() string { return "help requested" }

// commands and their one-line descriptions, for the usage text and dispatch.
var commands = []struct{ name, desc string }{
	{"run", "sync continuously in the foreground (the default command)"},
	{"auth", "log in or out of Yandex: auth login [--device|--browser] [--no-browser], auth status, auth logout"},
	{"status", "show what the daemon is doing, or the last pass when it is not running [--json]"},
	{"version", "print the version"},
	{"help", "show this help"},
}

// parseArgs accepts setting flags before the command and after it:
// "yasyncd --config f status", "yasyncd status --config f", "yasyncd --once".
func parseArgs(args []string) (*cmdline, error) {
	cl := &cmdline{command: "run", flags: config.NewFlags()}
	// BoolVar stores its default at once, so the run command's set takes the values the
	// top-level set parsed as defaults ("yasyncd --once run --resync" keeps --once).
	runFlags := func(fs *flag.FlagSet) {
		fs.BoolVar(&cl.once, "once", cl.once, "run one full two-way pass, then exit")
		fs.BoolVar(&cl.dryRun, "dry-run", cl.dryRun, "with --once: print the plan, change nothing")
		fs.BoolVar(&cl.resync, "resync", cl.resync, "rebuild the state from both sides: copy only, never delete")
		fs.BoolVar(&cl.forceDelete, "force-delete", cl.forceDelete, "let the first pass through the mass-delete guard")
		fs.BoolVar(&cl.full, "full", cl.full, "list the whole Disk folder on the first pass even if nothing seems changed")
	}
	top := newFlagSet("yasyncd", cl.flags)
	runFlags(top)
	if err := parseFlags(top, args, ""); err != nil {
		return nil, err
	}
	rest := top.Args()
	if len(rest) == 0 {
		return cl, checkRunFlags(cl)
	}
	cl.command, rest = rest[0], rest[1:]
	if cl.command != "run" && (cl.once || cl.dryRun || cl.resync || cl.forceDelete || cl.full) {
		return nil, config.Usagef("--once, --dry-run, --resync, --force-delete and --full belong to the run command, not %q", cl.command)
	}
	switch cl.command {
	case "run":
		fs := newFlagSet("run", cl.flags)
		runFlags(fs)
		if err := parseFlags(fs, rest, "run"); err != nil {
			return nil, err
		}
		rest = fs.Args()
	case "status":
		fs := newFlagSet("status", cl.flags)
		fs.BoolVar(&cl.json, "json", false, "print one JSON object")
		if err := parseFlags(fs, rest, "status"); err != nil {
			return nil, err
		}
		rest = fs.Args()
	case "auth":
		fs := newFlagSet("auth", cl.flags)
		if err := parseFlags(fs, rest, "auth"); err != nil {
			return nil, err
		}
		authRest, err := authArgs(fs.Args(), cl.flags)
		if err != nil {
			return nil, err
		}
		cl.rest = authRest
		return cl, nil
	case "version", "help":
		if len(rest) > 0 && (rest[0] == "-h" || rest[0] == "--help" || rest[0] == "-help") {
			return nil, &helpRequest{}
		}
	default:
		return nil, config.Usagef("unknown command %q; run \"yasyncd --help\" for the commands", cl.command)
	}
	if len(rest) > 0 {
		return nil, config.Usagef("unexpected argument %q after %q; run \"yasyncd --help\"", rest[0], cl.command)
	}
	return cl, checkRunFlags(cl)
}

// checkRunFlags refuses combinations that make no sense. --dry-run needs --once: a daemon
// that never changes anything would look like it is working while it is not.
func checkRunFlags(cl *cmdline) error {
	if cl.dryRun && !cl.once {
		return config.Usagef("--dry-run works with --once only: run \"yasyncd --once --dry-run\"")
	}
	return nil
}

// authArgs lets setting flags follow the auth subcommand too ("yasyncd auth login
// --client-id X"), as they may follow every other command. The login flags are passed on
// to runAuth, which owns their meaning.
func authArgs(args []string, settings *config.Flags) ([]string, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return args, nil
	}
	sub := args[0]
	fs := newFlagSet("auth "+sub, settings)
	var pass []string
	if sub == "login" {
		for _, name := range []string{"device", "browser", "no-browser"} {
			fs.BoolFunc(name, "", func(v string) error {
				pass = append(pass, "--"+name+"="+v)
				return nil
			})
		}
	}
	if err := parseFlags(fs, args[1:], "auth"); err != nil {
		return nil, err
	}
	return append(append([]string{sub}, pass...), fs.Args()...), nil
}

func newFlagSet(name string, settings *config.Flags) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by main in one line
	fs.Usage = func() {}
	settings.Register(fs)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string, command string) error {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return &helpRequest{command: command}
	case err != nil:
		hint := "yasyncd --help"
		if command != "" {
			hint = "yasyncd " + command + " --help"
		}
		return config.Usagef("%s; run %q for usage", strings.TrimSpace(err.Error()), hint)
	}
	return nil
}
