//go:build race

package e2e

// raceEnabled says the tests run with -race; the yasyncd binary is then built with -race
// too, so a data race in the daemon fails TestCrashKill (exit code 66).
const raceEnabled = true
