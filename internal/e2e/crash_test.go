package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// crashTier sizes TestCrashKill.
type crashTier struct {
	Files int
	// Kills is how many runs are killed in all. Round 0 is the first sync; each later round
	// changes both sides first and kills up to KillsPerRound runs; rounds are added until
	// Kills is reached (MaxRounds at most).
	Kills, KillsPerRound, MaxRounds int
	// BinaryFirstSync runs the first sync through the binary with kills too; otherwise it
	// runs in process (the binary's default rate limit of 20 requests a second would make a
	// first sync of 1,000 files take minutes).
	BinaryFirstSync bool
	// Changes is the number of files edited on each side per round; deletes, renames and
	// new files scale with it.
	Changes int
}

func crashConfig() crashTier {
	if full() {
		return crashTier{Files: 1000, Kills: 50, KillsPerRound: 5, MaxRounds: 30, BinaryFirstSync: true, Changes: 30}
	}
	return crashTier{Files: 1000, Kills: 3, KillsPerRound: 3, MaxRounds: 4, Changes: 12}
}

// TestCrashKill is invariant 5: the real yasyncd binary, run with --once against the
// emulator, is killed with SIGKILL after a chosen number of requests (deterministic kill
// points drawn from the seed), run again, possibly killed again, and finally run to the end.
// Each killed run must keep invariants 1, 2 and 4 and leave no partial bytes at a real path;
// the final run must converge with nothing lost over the whole round, no conflict copy
// (no change conflicts), and an idle run after it must send no transfer or change request.
func TestCrashKill(t *testing.T) {
	t.Parallel()
	cfg := crashConfig()
	ctx := t.Context()
	bin := yasyncdBinary(t)
	seed, _ := baseSeed()
	rng := rand.New(rand.NewPCG(uint64(seed), 9))
	t.Logf("seed %d (replay with -seed %d); %d files, %d kills wanted", seed, seed, cfg.Files, cfg.Kills)

	w := NewWorld(t, WorldOptions{Seed: seed})
	m := NewModel()
	c := &crashRound{t: t, w: w, rng: rng, seed: seed, bin: bin}
	c.seedTree(cfg.Files)

	kills, runs := 0, 0
	round := 0
	for ; round < cfg.MaxRounds && kills < cfg.Kills; round++ {
		// The kill points are drawn from the requests the round still needs, by estimate (a
		// listing of each folder, and some four per change): from the middle of the listing
		// (after it, for the first kill of a round) to two thirds of the rest, so most runs
		// are killed while transferring.
		listing := int64(crashDirs + 10)
		remaining := listing + int64(4*cfg.Files)
		if round > 0 {
			changes := c.changeBothSides(round, cfg.Changes)
			remaining = listing + int64(4*changes)
		} else if !cfg.BinaryFirstSync {
			before := w.Snapshot()
			m.Before(before)
			res := w.Sync(ctx, PassOptions{})
			after := w.Snapshot()
			vs := append(m.Check(before, after), m.CheckConverged(after, nil)...)
			if res.Err != nil || res.Failures > 0 || len(vs) > 0 {
				t.Fatalf("first sync in process: %s\n%s", res.Summary, formatViolations(vs))
			}
			m.Advance(after)
			t.Logf("round 0: first sync of %d files in process", len(after.L.Files()))
			continue
		}
		roundModel := m.clone()
		roundStart := w.Snapshot()
		roundModel.Before(roundStart)
		for k := 0; k < cfg.KillsPerRound && kills < cfg.Kills; k++ {
			from := listing / 2
			if k == 0 {
				from = listing + 5 // the first kill of a round falls among the transfers
			}
			killAt := from + rng.Int64N(max((remaining-from)*2/3, 10))
			before := w.Snapshot()
			m.Before(before)
			res := c.run(ctx, killAt)
			runs++
			after := w.Snapshot()
			if vs := m.Check(before, after); len(vs) > 0 {
				c.fail(round, fmt.Sprintf("run killed after %d requests broke an invariant:\n%s", killAt, formatViolations(vs)), before, after, res)
			}
			m.Advance(after)
			if !res.Killed {
				t.Logf("round %d: run %d finished (exit %d, %d requests) before its kill point %d", round, runs, res.Code, res.Requests, killAt)
				if res.Code == 0 {
					break
				}
				continue
			}
			kills++
			remaining = max(remaining-res.Requests+listing, 2*listing)
			t.Logf("round %d: run %d killed after %d requests", round, runs, res.Requests)
		}
		// The clean run.
		before := w.Snapshot()
		m.Before(before)
		res := c.run(ctx, 0)
		runs++
		after := w.Snapshot()
		if res.Code != 0 {
			c.fail(round, fmt.Sprintf("the final run exited %d", res.Code), before, after, res)
		}
		base, journal, err := w.Base()
		if err != nil {
			t.Fatal(err)
		}
		vs := m.Check(before, after)
		vs = append(vs, roundModel.Check(roundStart, after)...)
		vs = append(vs, m.CheckConverged(after, base)...)
		if len(journal) > 0 {
			vs = append(vs, Violation{5, fmt.Sprintf("the journal still holds %d jobs after a clean run: %s", len(journal), strings.Join(journal, "; "))})
		}
		if n := countConflicts(after.L) + countConflicts(after.R); n > 0 {
			vs = append(vs, Violation{5, fmt.Sprintf("%d conflict copies appeared, but no change conflicted", n)})
		}
		if tmp := localTempFiles(w.Local); len(tmp) > 0 {
			vs = append(vs, Violation{5, fmt.Sprintf("temp files left after a clean run: %q", tmp)})
		}
		if len(vs) > 0 {
			c.fail(round, "after the final run:\n"+formatViolations(vs), roundStart, after, res)
		}
		m.Advance(after)

		// The idle run: nothing to do, no transfer or change request.
		w.Disk.ResetRequests()
		idle := c.run(ctx, 0)
		runs++
		if idle.Code != 0 {
			c.fail(round, fmt.Sprintf("the idle run exited %d", idle.Code), after, w.Snapshot(), idle)
		}
		if bad := changeRequests(w.Disk.Requests()); len(bad) > 0 {
			c.fail(round, fmt.Sprintf("the idle run sent %d transfer or change requests, first %s", len(bad), bad[0]), after, w.Snapshot(), idle)
		}
		t.Logf("round %d converged: %d files on each side", round, len(after.L.Files()))
	}
	t.Logf("kills %d, runs %d, rounds %d, files %d", kills, runs, round, cfg.Files)
	if kills < cfg.Kills {
		t.Errorf("only %d runs were killed of %d wanted: the others finished before their kill point", kills, cfg.Kills)
	}
}

// crashRound holds what TestCrashKill needs between rounds.
type crashRound struct {
	t    *testing.T
	w    *World
	rng  *rand.Rand
	seed int64
	bin  string
	// folders that only the local side (the first half) or only the Disk changes, so that
	// no change conflicts.
	localDirs, remoteDirs []string
}

const crashDirs = 30

func (c *crashRound) content(what string, big bool) []byte {
	if big {
		data := make([]byte, 256<<10+c.rng.IntN(768<<10))
		for i := range data {
			data[i] = byte(c.rng.IntN(256))
		}
		labels.set(hashOf(data), what)
		return data
	}
	data := fmt.Appendf(nil, "seed %d %s\n%s", c.seed, what, strings.Repeat("x", c.rng.IntN(2000)))
	labels.set(hashOf(data), what)
	return data
}

// seedTree puts n files in 30 folders, each file on one side only.
func (c *crashRound) seedTree(n int) {
	for i := range crashDirs {
		d := fmt.Sprintf("d%02d", i)
		if i < crashDirs/2 {
			c.localDirs = append(c.localDirs, d)
		} else {
			c.remoteDirs = append(c.remoteDirs, d)
		}
	}
	for i := range n {
		p := fmt.Sprintf("d%02d/f%04d.txt", i%crashDirs, i)
		data := c.content(fmt.Sprintf("f%d", i), i%125 == 7)
		var err error
		if c.rng.IntN(5) < 3 {
			err = c.w.WriteLocal(p, data)
		} else {
			err = c.w.WriteRemote(p, data)
		}
		if err != nil {
			c.t.Fatal(err)
		}
	}
}

// changeBothSides edits n files, deletes n/3, renames n/3 and creates n/2, and renames one
// folder, on each side, each side in its own folders. It returns the number of changes.
func (c *crashRound) changeBothSides(round, n int) int {
	changes := 0
	for _, local := range []bool{true, false} {
		dirs := c.remoteDirs
		tree, err := c.w.Disk.Tree(remoteRoot, false)
		write, remove, rename := c.w.WriteRemote, c.w.RemoveRemote, c.w.RenameRemote
		if local {
			dirs = c.localDirs
			tree, err = rawLocal(c.w.Local)
			write, remove, rename = c.w.WriteLocal, c.w.RemoveLocal, c.w.RenameLocal
		}
		if err != nil {
			c.t.Fatal(err)
		}
		var files []string
		for _, p := range tree.Files() {
			for _, d := range dirs {
				if strings.HasPrefix(p, d+"/") {
					files = append(files, p)
				}
			}
		}
		c.rng.Shuffle(len(files), func(i, j int) { files[i], files[j] = files[j], files[i] })
		side := "R"
		if local {
			side = "L"
		}
		must := func(err error) {
			if err != nil {
				c.t.Fatal(err)
			}
		}
		for i, p := range files[:min(len(files), n+2*(n/3))] {
			switch {
			case i < n:
				must(write(p, c.content(fmt.Sprintf("r%d %s edit %s", round, side, p), i == 0)))
			case i < n+n/3:
				must(remove(p))
			default:
				must(rename(p, strings.TrimSuffix(p, ".txt")+fmt.Sprintf(" moved%d.txt", round)))
			}
			changes++
		}
		for i := range n / 2 {
			changes++
			d := dirs[c.rng.IntN(len(dirs))]
			p := fmt.Sprintf("%s/new r%d %s %d.txt", d, round, side, i)
			must(write(p, c.content(fmt.Sprintf("r%d %s new %d", round, side, i), false)))
		}
		// One folder rename per side and round; the name stays in the side's own set.
		k := c.rng.IntN(len(dirs))
		to := fmt.Sprintf("%s-r%d", dirs[k], round)
		must(rename(dirs[k], to))
		dirs[k] = to
		changes++
	}
	return changes
}

// binaryRun is the outcome of one run of the yasyncd binary.
type binaryRun struct {
	Code     int  // exit code; -1 when killed
	Killed   bool // killed by the test
	Requests int64
	Output   string
}

// run starts `yasyncd --once` and kills it with SIGKILL once the emulator has answered
// killAfter requests of this run (0: never).
func (c *crashRound) run(ctx context.Context, killAfter int64) binaryRun {
	if killAfter <= 0 {
		return runBinary(ctx, c.t, c.w, c.bin, nil)
	}
	return runBinary(ctx, c.t, c.w, c.bin, func(a Answered, n int64) bool { return n >= killAfter })
}

// runBinary runs `yasyncd --once` on w and kills it with SIGKILL as soon as kill (when
// not nil) returns true for a request the emulator answered; n counts this run's requests.
func runBinary(ctx context.Context, t *testing.T, w *World, bin string, kill func(a Answered, n int64) bool) binaryRun {
	t.Helper()
	home := filepath.Join(filepath.Dir(w.Local), "home")
	cmd := exec.CommandContext(ctx, bin, "--once")
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"XDG_STATE_HOME=" + filepath.Join(home, "state"),
		"XDG_CACHE_HOME=" + filepath.Join(home, "cache"),
		"YASYNCD_LOCAL_DIR=" + w.Local,
		"YASYNCD_REMOTE_DIR=" + remoteRoot,
		"YASYNCD_STATE_DIR=" + w.StateDir,
		"YASYNCD_API_URL=" + w.Disk.URL(),
		"YASYNCD_OAUTH_URL=" + w.Disk.URL(),
		"YASYNCD_TOKEN=" + w.Disk.Token(),
		"YASYNCD_LOG_LEVEL=debug",
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out

	var killed atomic.Bool
	var proc atomic.Pointer[os.Process]
	var once sync.Once
	start := w.Disk.RequestCount()
	if kill != nil {
		w.Disk.OnRequest(func(a Answered) {
			if !kill(a, a.N-start) {
				return
			}
			once.Do(func() {
				if p := proc.Load(); p != nil && p.Kill() == nil {
					killed.Store(true)
				}
			})
		})
		defer w.Disk.OnRequest(nil)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start yasyncd: %v", err)
	}
	proc.Store(cmd.Process)
	err := cmd.Wait()
	w.Disk.OnRequest(nil)
	// Requests of the killed process may still be in the emulator's hands: wait until it
	// has answered them, so the snapshot sees their effect.
	w.Disk.Quiesce(ctx)
	res := binaryRun{Killed: killed.Load(), Requests: w.Disk.RequestCount() - start, Output: out.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.Code = ee.ExitCode()
	default:
		t.Fatalf("run yasyncd: %v", err)
	}
	return res
}

func (c *crashRound) fail(round int, what string, before, after Sides, res binaryRun) {
	c.t.Helper()
	out := res.Output
	if lines := strings.Split(out, "\n"); len(lines) > 80 {
		out = strings.Join(lines[len(lines)-80:], "\n")
	}
	c.t.Fatalf("seed %d, round %d: %s\nlocal changes:\n%sremote changes:\n%sL vs R:\n%syasyncd output (end):\n%s",
		c.seed, round, what, orNone(diffTrees("before", before.L, "after", after.L)),
		orNone(diffTrees("before", before.R, "after", after.R)), orNone(diffTrees("L", after.L, "R", after.R)), out)
}

// clone copies the model.
func (m *Model) clone() *Model {
	c := NewModel()
	c.B = m.B.Clone()
	c.Ghosts = m.Ghosts.Clone()
	for h := range m.Seen {
		c.Seen[h] = true
	}
	return c
}
