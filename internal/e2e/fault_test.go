package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestFaultyServer syncs a few hundred files through a server that fails 10% of its
// requests (429s, 5xx, resets, truncated bodies), first a first sync and then a round of
// changes on both sides. Every pass must keep invariants 1, 2 and 4; the passes are repeated
// until one succeeds, which must leave both sides converged, and the figures are reported.
func TestFaultyServer(t *testing.T) {
	t.Parallel()
	const (
		files     = 300
		faultRate = 0.1
		maxPasses = 10
	)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	seed, _ := baseSeed()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	w := NewWorld(t, WorldOptions{Seed: seed, FaultRate: faultRate})
	m := NewModel()

	// 200 files start on this machine and 100 on the Disk, in 12 folders.
	for i := range files {
		p := fmt.Sprintf("f%02d/file %03d.txt", i%12, i)
		data := fmt.Appendf(nil, "seed %d faulty file %d\n", seed, i)
		if i%25 == 0 {
			data = make([]byte, 200<<10) // a few larger ones that take several reads
			for j := range data {
				data[j] = byte(rng.IntN(256))
			}
		}
		labels.set(hashOf(data), fmt.Sprintf("f%d", i))
		var err error
		if i%3 != 2 {
			err = w.WriteLocal(p, data)
		} else {
			err = w.WriteRemote(p, data)
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	passes := func(phase string) int {
		t.Helper()
		w.Disk.ResetRequests()
		for n := 1; n <= maxPasses; n++ {
			before := w.Snapshot()
			m.Before(before)
			w.Disk.UseEmulatorFaults(true) // the pass only, not the test's own snapshots
			res := w.Sync(ctx, PassOptions{})
			w.Disk.UseEmulatorFaults(false)
			after := w.Snapshot()
			if vs := m.Check(before, after); len(vs) > 0 {
				t.Fatalf("%s, pass %d under faults broke an invariant:\n%slocal changes:\n%sremote changes:\n%s\n%s",
					phase, n, formatViolations(vs), diffTrees("before", before.L, "after", after.L),
					diffTrees("before", before.R, "after", after.R), w.PassLog(60))
			}
			m.Advance(after)
			t.Logf("%s, pass %d: %s; %d of %d requests faulted", phase, n, res.Summary, w.Disk.Faulted(), len(w.Disk.Requests()))
			if res.Err == nil {
				if vs := m.CheckConverged(after, nil); len(vs) > 0 {
					t.Fatalf("%s: a pass succeeded under faults without converging:\n%s", phase, formatViolations(vs))
				}
				return n
			}
		}
		t.Fatalf("%s: no pass of %d succeeded at fault rate %.2f", phase, maxPasses, faultRate)
		return 0
	}

	n1 := passes("first sync")
	checkClean(t, ctx, w, m, "after the first sync")

	// A round of changes on both sides, on different files: edits, deletes, renames, new
	// files. None of them conflicts, so no conflict copy may appear.
	changed := 0
	for i := range files {
		p := fmt.Sprintf("f%02d/file %03d.txt", i%12, i)
		local := i%2 == 0
		var err error
		switch i % 10 {
		case 1, 2:
			data := fmt.Appendf(nil, "seed %d faulty file %d edited\n", seed, i)
			labels.set(hashOf(data), fmt.Sprintf("f%d'", i))
			if local {
				err = w.WriteLocal(p, data)
			} else {
				err = w.WriteRemote(p, data)
			}
		case 3:
			if local {
				err = w.RemoveLocal(p)
			} else {
				err = w.RemoveRemote(p)
			}
		case 4:
			to := fmt.Sprintf("f%02d/renamed %03d.txt", (i+5)%12, i)
			if local {
				err = w.RenameLocal(p, to)
			} else {
				err = w.RenameRemote(p, to)
			}
		default:
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		changed++
	}
	for i := range 40 {
		p := fmt.Sprintf("new/n%03d.txt", i)
		data := fmt.Appendf(nil, "seed %d new file %d\n", seed, i)
		var err error
		if i%2 == 0 {
			err = w.WriteLocal(p, data)
		} else {
			err = w.WriteRemote("new2/"+p, data)
		}
		if err != nil {
			t.Fatal(err)
		}
		changed++
	}
	n2 := passes("changes")
	final := checkClean(t, ctx, w, m, "after the changes")
	if c := countConflicts(final.L); c != 0 {
		t.Errorf("%d conflict copies appeared, but no change conflicted", c)
	}
	t.Logf("files %d, fault rate %.2f: first sync took %d passes; %d changes took %d passes; %d files at the end",
		files, faultRate, n1, changed, n2, len(final.L.Files()))
}

// checkClean runs one fault-free pass, which must converge and plan nothing new, then an
// idle pass that must send no transfer or change request.
func checkClean(t *testing.T, ctx context.Context, w *World, m *Model, when string) Sides {
	t.Helper()
	before := w.Snapshot()
	m.Before(before)
	res := w.Sync(ctx, PassOptions{})
	after := w.Snapshot()
	if res.Err != nil {
		t.Fatalf("%s: clean pass: %v\n%s", when, res.Err, w.PassLog(40))
	}
	base, journal, err := w.Base()
	if err != nil {
		t.Fatal(err)
	}
	vs := append(m.Check(before, after), m.CheckConverged(after, base)...)
	if len(journal) > 0 {
		vs = append(vs, Violation{3, fmt.Sprintf("the journal still holds %d jobs after a clean pass: %s", len(journal), strings.Join(journal, "; "))})
	}
	if len(vs) > 0 {
		t.Fatalf("%s: clean pass:\n%s", when, formatViolations(vs))
	}
	m.Advance(after)
	w.Disk.ResetRequests()
	res = w.Sync(ctx, PassOptions{})
	if res.Err != nil {
		t.Fatalf("%s: idle pass: %v", when, res.Err)
	}
	if res.Jobs != 0 || res.Recorded != 0 {
		t.Errorf("%s: idle pass planned %d jobs and %d state updates (%s)", when, res.Jobs, res.Recorded, res.Summary)
	}
	if bad := changeRequests(w.Disk.Requests()); len(bad) > 0 {
		t.Errorf("%s: idle pass sent %d transfer or change requests, first %s", when, len(bad), bad[0])
	}
	return after
}
