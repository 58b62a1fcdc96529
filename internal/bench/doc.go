// Package bench holds yasyncd's speed and memory benchmarks: the place where "fast on a
// tree of 100,000 files" is measured, instead of timed assertions in unit tests that would
// fail on a slow CI machine. The package has no code of its own; everything is in its
// _test.go files, and its few tests only check that the baselines and fixtures do the work
// they claim to, so that no ratio is flattered by a lazy baseline.
//
// # Running
//
//	go test -run '^$' -bench . -benchmem ./internal/bench              # quick tier
//	go test -run '^$' -bench . -benchmem -benchtime=1x ./internal/bench # one iteration each
//	go test -run '^$' -bench 'Plan|State' -benchmem ./internal/bench   # a subset
//	YASYNCD_FULL=1 go test -run '^$' -bench . -benchmem -timeout 1h ./internal/bench
//
// The full tier adds 512 MiB transfers and trees of 1,000,000 files (plan, state, local
// scan, remote listing) and 100,000 files for the engine passes; it needs several GiB of
// memory and temp space and takes many minutes. The quick tier takes about 80 seconds on a
// busy 2-core machine either way (the slow benchmarks run one iteration at any benchtime).
// Trees and seeded emulators are built once per process and shared by every benchmark that
// uses the same shape. Local trees of up to 100,000 files and the transfer benchmarks' file
// contents live on /dev/shm when the machine has it: building there takes seconds, and
// once warm a scan reads the kernel's caches whatever the file system.
//
// # Reading the figures
//
// Absolute times depend on the machine; compare ratios. Where a benchmark has a baseline it
// runs the yasyncd code and the baseline back to back against the same emulator or the
// same tree, alternating which goes first, several rounds per iteration, and reports:
//
//   - ratio: yasyncd time / baseline time, the median over the pairs. 1 means no overhead;
//     below 1, yasyncd is faster than the naive baseline (it may be, e.g. localfs reads
//     each folder once). A ratio drifting upward between two commits is a regression, even
//     if both absolute figures moved with the machine.
//   - per-item figures (ns/file, ns/path, ns/item, ns/entry): the median wall time of one
//     run divided by the number of paths, and cpu-ns/... the process CPU time (every
//     goroutine, GC included). On a busy machine wall time swings; CPU time does not.
//     For O(n) code both stay flat as the size grows (compare the 10k and 100k rows).
//   - B/op-like figures (client-B/op, B/file, B/path, B/entry): bytes allocated while that
//     side ran, by the whole process. The emulator runs in the same process, so its
//     allocations are included on both sides of a comparison; compare with the raw-
//     figure. alloc/size (transfers) is client-B/op over the file size: streaming keeps it
//     far below 1, and it falls as the file grows, because the allocations are per request,
//     not per byte.
//   - The standard ns/op, B/op and allocs/op cover one whole iteration (both sides and
//     every round) and are only useful to compare the same benchmark across commits.
//
// # The benchmarks
//
//   - BenchmarkUpload, BenchmarkDownload: client.Upload / client.Download of 8 and 64 MiB
//     against a raw PUT / GET of a link asked for the same way (the raw GET copies 32 KiB
//     at a time, as the client does; downloads go to io.Discard so the disk hides nothing). Upload also reports
//     ratio-vs-hashing-raw, against a raw PUT that hashes md5 and sha256 while sending,
//     the work the client must do to check the server's copy; the gap between ratio and
//     ratio-vs-hashing-raw is what hashing costs (the raw PUT of a file is sent with
//     sendfile and never touches user space).
//   - BenchmarkLocalScan: localfs.Walk against filepath.WalkDir + Lstat of a 100,000-file
//     tree; and a whole no-change Engine.RunOnce (state populated, Disk revision unchanged)
//     against the same raw walk.
//   - BenchmarkPlan: a dry-run RunOnce over in-memory local and remote trees (the base in a
//     real bbolt state) of 10,000 and 100,000 files, all equal or with 1% edited.
//   - BenchmarkState: Apply of 100,000 entries into an empty database, Apply of 1% of them
//     into a full one, and ForEach over 100,000.
//   - BenchmarkRemoteWalk: client.Walk of a 100,000-file emulated Disk against raw paged
//     GETs with the same page size, fields and concurrency; requests counts both.
//   - BenchmarkSecondPass: a first RunOnce uploading 10,000 files to an empty emulated
//     Disk, then two passes with nothing changed. The second lists the Disk again (the
//     revision moved with the first pass's own uploads); the third sends one request.
//
// # Caveats
//
// The yasyncd client is built with RequestsPerSecond < 0 (no rate limit): the daemon's
// default of 20 requests per second would otherwise be the only thing measured (a first
// sync of 10,000 small files sends about 50,000 requests). Everything talks to the
// in-process emulator over loopback, so network latency is absent: the figures bound the
// client's own cost, not a real sync's duration. The emulator's work (JSON encoding,
// hashing uploads) is part of both sides of every remote comparison and dominates the
// listing figures.
package bench
