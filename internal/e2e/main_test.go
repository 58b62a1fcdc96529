package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

var seedFlag = flag.Int64("seed", 0, "replay one random sequence (TestRandomSequences), or fix the kill points (TestCrashKill) and the data (TestFaultyServer); also YASYNCD_SEED")

// baseSeed returns the seed of this run and whether the user fixed it.
func baseSeed() (int64, bool) {
	if *seedFlag != 0 {
		return *seedFlag, true
	}
	if s := os.Getenv("YASYNCD_SEED"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, true
		}
	}
	return time.Now().UnixNano() % 1_000_000_000, false
}

var (
	buildOnce sync.Once
	buildDir  string
	buildPath string
	buildErr  error
)

// yasyncdBinary builds cmd/yasyncd once per test binary (with -race when the tests run
// with it) and returns its path.
func yasyncdBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "yasyncd-e2e-")
		if buildErr != nil {
			return
		}
		buildPath = filepath.Join(buildDir, "yasyncd")
		args := []string{"build", "-o", buildPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "github.com/yasyncd/yasyncd/cmd/yasyncd")...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build cmd/yasyncd: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}
