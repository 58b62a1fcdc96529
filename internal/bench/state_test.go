package bench

import (
	"fmt"
	"testing"

	"github.com/yasyncd/yasyncd/state"
)

// stateShapes are the sizes of BenchmarkState.
func stateShapes() []shape {
	if full {
		return []shape{shape100k, shape1M}
	}
	return []shape{shape100k}
}

// BenchmarkState measures the state database with the base of a synced tree (files and
// folders, as a first sync records them).
//
//   - apply: one Apply of every entry into an empty database (the end of a first sync).
//   - apply-1pct: one Apply rewriting 1% of the entries of a full database (a pass that
//     recorded a few changes).
//   - foreach: ForEach over every entry (the start of every pass).
//
// Metrics: ns/entry, cpu-ns/entry and B/entry (allocated), per entry written or read.
func BenchmarkState(b *testing.B) {
	for _, s := range stateShapes() {
		w := newPlanWorld(s, 0)
		n := len(w.base)
		b.Run(fmt.Sprintf("apply/entries=%s", sizeName(int64(s.nFiles()))), func(b *testing.B) {
			var m meter
			for b.Loop() {
				b.StopTimer()
				db := openState(b, nil, 0)
				b.StartTimer()
				if err := m.run(func() error { return db.Apply(w.base, nil) }); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if got, err := db.Len(); err != nil || got != n {
					b.Fatalf("Len = %d, %v; want %d", got, err, n)
				}
				b.StartTimer()
			}
			reportPerEntry(b, &m, n)
		})
		b.Run(fmt.Sprintf("apply-1pct/entries=%s", sizeName(int64(s.nFiles()))), func(b *testing.B) {
			db := openState(b, w.base, 0)
			var upd []state.Entry
			for i := 0; i < n; i += 100 {
				e := w.base[i]
				e.RemoteRevision++
				upd = append(upd, e)
			}
			var m meter
			for b.Loop() {
				if err := m.run(func() error { return db.Apply(upd, nil) }); err != nil {
					b.Fatal(err)
				}
			}
			reportPerEntry(b, &m, len(upd))
		})
		b.Run(fmt.Sprintf("foreach/entries=%s", sizeName(int64(s.nFiles()))), func(b *testing.B) {
			db := openState(b, w.base, 0)
			var m meter
			for b.Loop() {
				seen := 0
				err := m.run(func() error {
					return db.ForEach(func(state.Entry) error { seen++; return nil })
				})
				if err != nil {
					b.Fatal(err)
				}
				if seen != n {
					b.Fatalf("ForEach visited %d entries, want %d", seen, n)
				}
			}
			reportPerEntry(b, &m, n)
		})
	}
}

func reportPerEntry(b *testing.B, m *meter, n int) {
	b.ReportMetric(float64(m.perOp().Nanoseconds())/float64(n), "ns/entry")
	b.ReportMetric(float64(m.cpuPerOp().Nanoseconds())/float64(n), "cpu-ns/entry")
	b.ReportMetric(m.allocPerOp()/float64(n), "B/entry")
}
