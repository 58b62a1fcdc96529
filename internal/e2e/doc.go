// Package e2e holds yasyncd's end-to-end proof that a sync never loses a file: tests that
// drive the real engine (in process) and the real yasyncd binary against the Disk emulator
// and a real local folder, and check the invariants of ../shared/docs/sync-semantics.md
// ("Invariants the tests check") after every pass. The package has no code besides its
// tests and this comment.
//
// # What runs
//
//   - TestRandomSequences: seeded random sequences of local and remote operations (creates,
//     edits, deletes, file and folder renames, rm -r, type changes, identical and differing
//     edits of one file on both sides, touches, empty files, odd and NFD names) interleaved
//     with passes: clean ones, ones under injected server faults, ones cancelled after a
//     few requests, and --dry-run ones (which must change nothing). A content-tracking
//     model (Model) checks invariants 1, 2, 4 and 6 after every pass, 3 after every clean
//     pass (both sides and the engine's state agree, the journal is empty) and, now and
//     then and at the end, that the next pass plans nothing and sends no transfer or
//     change request. A guard stop is checked, then confirmed with --force-delete.
//   - TestCrashKill: invariant 5. The built yasyncd binary (built with -race when the
//     tests are), `--once`, is killed with SIGKILL after a number of emulator requests drawn
//     from the seed, run again, killed again, and finally run to the end: nothing lost over
//     the round, no partial bytes at a real path, no conflict copy (no change conflicts),
//     the state equal to both sides with an empty journal, an idle run after it a no-op.
//     The default tier syncs the 1,000-file tree in process and kills three runs of a
//     round of changes on both sides; the full tier also kills the binary's first sync.
//   - TestKillPoints: the binary killed at chosen instants — right after a folder move,
//     between the conditional delete of an old remote version and the upload of the new
//     one, right after an upload's or a download's bytes — then run again.
//   - TestFaultyServer: a few hundred files synced through an emulator that fails 10% of
//     its requests (its own mix: 429 with and without Retry-After, 500, 503, resets, lost
//     answers, truncated downloads); it reports how many passes each phase needed.
//   - TestGuards: invariant 6 — a missing local root or marker, a missing remote root, an
//     emptied side and a mass delete over the limit delete nothing; --force-delete then
//     deletes into the trashes.
//   - TestScenarios: the scenario files of testdata/scenarios, steps with hand-written
//     golden trees (the format is in scenario_test.go). TestPendingScenarios plays
//     testdata/pending, scenarios of known engine bugs, only with YASYNCD_E2E_PENDING=1.
//   - TestSkips, TestDiskFull: permanent refusals (a symlink, a name too long for the local
//     file system) are skipped and reported; a full Disk stops uploads with ErrDiskFull
//     and the pass after space is freed converges.
//   - TestModelChecker, TestHarness: the checker and the harness themselves.
//
// # Tiers
//
// The default tier fits the CI budget (about a minute on two cores with -race): 200
// random sequences of 8 steps on trees of at most 12 paths, 3 kills. The full tier runs
// 10,000 sequences of 12 steps on up to 16 paths and at least 50 kills:
//
//	go test -race ./internal/e2e
//	YASYNCD_FULL=1 go test -count=1 ./internal/e2e -timeout 3h
//	YASYNCD_FULL=1 go test -count=1 ./internal/e2e -run TestRandomSequences -timeout 3h
//	YASYNCD_FULL=1 go test -count=1 ./internal/e2e -run TestCrashKill -timeout 1h
//
// Seeds come from the clock unless fixed, so pass -count=1 to keep go test from replaying
// a cached result.
//
// # Replaying a failure
//
// A failing sequence prints its seed, its steps, the trees before and after the pass, the
// model's base and the engine's log of the pass, and the command that replays it alone:
//
//	go test ./internal/e2e -run TestRandomSequences -seed 12345 -v
//
// (with YASYNCD_FULL=1 in front when it came from the full tier, whose sequences are
// longer). YASYNCD_SEED=12345 in the environment works too; -seed also fixes the kill
// points of TestCrashKill and the data of TestFaultyServer. YASYNCD_E2E_LOG=1 prints the
// engine's log of every pass. TestRandomSequences stops after 3 failed sequences (20 in
// the full tier); YASYNCD_MAX_FAILED=N changes that, to survey every failure of a run.
//
// # Caveats
//
// The model does not predict the engine's plan; it checks what a pass did against what
// sync-semantics allows. Its base B is what both sides were last seen to agree on, which
// can lag the engine's own B after a cut-short pass. It uses B only to tell an unsynced
// edit (which must stay on its side) from a synced version (which the other side's edit
// may replace), so a lagging B makes it protect more, not less. Contents are identified by
// md5: two files with the same bytes are the same content to it.
package e2e
