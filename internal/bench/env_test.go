package bench

import (
	"net"
	"net/http"
	"os"
	"strconv"
	gosync "sync"
	"testing"

	"github.com/yasyncd/yasyncd/auth"
	"github.com/yasyncd/yasyncd/client"
	"github.com/yasyncd/yasyncd/internal/emulator"
)

// full switches on the large tier (bigger files and trees) for a manual run.
var full = os.Getenv("YASYNCD_FULL") != ""

// cleanups are the process-wide fixtures to release after the last benchmark: trees and
// emulators built once per process because building them costs more than measuring them.
var (
	cleanupMu gosync.Mutex
	cleanups  []func()
)

func atExit(f func()) {
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	cleanups = append(cleanups, f)
}

func TestMain(m *testing.M) {
	code := m.Run()
	cleanupMu.Lock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	cleanupMu.Unlock()
	os.Exit(code)
}

// newTransport is a private connection pool, so the yasyncd side and the raw side never
// share warm connections and neither goes through a proxy from the environment.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.MaxIdleConnsPerHost = 16
	return t
}

// newClient builds the yasyncd client for an emulator as the daemon does with a token
// from YASYNCD_TOKEN (auth.StaticTransport adds it), except that the request rate limit is off: the
// benchmarks measure the code, and the daemon's politeness limit (20 requests/s by default)
// would otherwise be all they measure.
func newClient(tb testing.TB, apiURL, token string) *client.Client {
	tb.Helper()
	c, err := client.New(client.Options{
		APIURL:            apiURL,
		HTTPClient:        &http.Client{Transport: auth.StaticTransport(token, newTransport())},
		TransferClient:    &http.Client{Transport: newTransport()},
		RequestsPerSecond: -1,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// memTempDir makes a temp dir on a tmpfs (/dev/shm) when the machine has one, else in the
// default temp dir. The caller removes it.
func memTempDir() (string, error) {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "yasyncd-bench-"); err == nil {
			return d, nil
		}
	}
	return os.MkdirTemp("", "yasyncd-bench-")
}

// blobDir is where an emulator keeps file contents for the transfer benchmarks: on a
// tmpfs when the machine has one, so that the disk's write-back does not decide which side
// of a comparison wins.
func blobDir(b *testing.B) string {
	b.Helper()
	d, err := memTempDir()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}

// quiet drops the emulator's per-request log lines, which testing.B would otherwise keep
// and print by the thousand.
func quiet(string, ...any) {}

// newEmulator starts an emulator for one benchmark run.
func newEmulator(b *testing.B, opts emulator.Options) *emulator.Server {
	b.Helper()
	if opts.Logf == nil {
		opts.Logf = quiet
	}
	return emulator.NewServer(b, opts)
}

// startEmulator runs an emulator that outlives a single benchmark run: seeded fixtures are
// shared by every run in the process and closed by TestMain.
func startEmulator(opts emulator.Options) (*emulator.Server, error) {
	srv, err := emulator.New(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv.Start(ln)
	atExit(srv.Close)
	return srv, nil
}

// sizeName labels a sub-benchmark by size ("64MiB", "100k").
func sizeName(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "MiB"
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.FormatInt(n/1_000_000, 10) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.FormatInt(n/1000, 10) + "k"
	}
	return strconv.FormatInt(n, 10)
}
