package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/yasyncd/yasyncd/internal/config"
)

func writeUsage(w io.Writer, command string, getenv func(string) string) {
	switch command {
	case "status":
		fmt.Fprint(w, `Usage: yasyncd status [--json] [setting flags]

Shows what the running daemon is doing (state, queue, transfers, quota), or the
outcome of the last pass when no daemon runs. --json prints one JSON object:
running, state, queue, transfers, last_sync, last_error, counts, quota.
`)
		return
	case "auth":
		fmt.Fprint(w, `Usage: yasyncd auth login [--device | --browser] [--no-browser]
       yasyncd auth status
       yasyncd auth logout

Login prints its instructions on stderr and stores the token in state_dir/token.json
only once it is obtained. YASYNCD_TOKEN, when set, is used instead of a stored token.
`)
		return
	}
	fmt.Fprint(w, `yasyncd keeps a local folder and a Yandex Disk folder in two-way sync.

Usage:
  yasyncd [run] [--once [--dry-run]] [--resync] [--force-delete] [--full] [setting flags]
  yasyncd auth login|status|logout
  yasyncd status [--json]
  yasyncd version

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.desc)
	}
	fmt.Fprint(w, `
Run flags:
  --once          one full two-way pass, then exit; creates local_dir and remote_dir
                  on the first run
  --dry-run       with --once: print the plan, change nothing
  --resync        rebuild the state from both sides: copy and conflict only, never delete
  --force-delete  let the first pass through the mass-delete guard
  --full          list the whole Disk folder on the first pass even if nothing seems changed

The daemon syncs, then waits for a local change (after settle), a change on the Disk
(probed every poll_interval), the full_scan schedule or SIGHUP (which starts a full pass
at once), and repeats. SIGTERM stops it cleanly (exit 0), SIGINT too (exit 130).

`)
	config.WriteHelp(w, getenv)
	fmt.Fprint(w, `
Exit codes: 0 in sync, 1 try again later, 2 bad usage or configuration,
3 needs you (login, Disk full, a safety guard), 130 interrupted.
`)
}

func writeVersion(w io.Writer) {
	v := version
	if v == "dev" {
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	fmt.Fprintf(w, "yasyncd %s (%s, %s/%s)\n", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
