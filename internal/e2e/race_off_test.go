//go:build !race

package e2e

// raceEnabled says the tests run with -race (see race_on_test.go).
const raceEnabled = false
