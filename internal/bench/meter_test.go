package bench

import (
	"runtime"
	"slices"
	"time"
)

// meter records the wall time and the bytes allocated (by the whole process: the
// in-process emulator's share included) of each run of one side of a comparison. The
// wall times are the figures; the CPU times help reading them on a busy machine.
type meter struct {
	samples []time.Duration
	cpu     []time.Duration // process CPU time (all goroutines, the emulator's included)
	alloc   uint64
	mallocs uint64
}

func (m *meter) run(f func() error) error {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	a0, n0 := ms.TotalAlloc, ms.Mallocs
	c0, t0 := cpuTime(), time.Now()
	err := f()
	m.samples = append(m.samples, time.Since(t0))
	m.cpu = append(m.cpu, cpuTime()-c0)
	runtime.ReadMemStats(&ms)
	m.alloc += ms.TotalAlloc - a0
	m.mallocs += ms.Mallocs - n0
	return err
}

// perOp is the median run: the machine running the benchmarks may be busy, and one
// stalled run must not decide the figure.
func (m *meter) perOp() time.Duration { return median(m.samples) }

// cpuPerOp is the median CPU time of a run.
func (m *meter) cpuPerOp() time.Duration { return median(m.cpu) }

// median of d, 0 when empty.
func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

func (m *meter) allocPerOp() float64 {
	if len(m.samples) == 0 {
		return 0
	}
	return float64(m.alloc) / float64(len(m.samples))
}

func (m *meter) mallocsPerOp() float64 {
	if len(m.samples) == 0 {
		return 0
	}
	return float64(m.mallocs) / float64(len(m.samples))
}

// pairedRatio is the median over runs i of a's run i / b's run i. Each pair ran back to
// back, so load on the machine hits both sides of a pair alike.
func pairedRatio(a, b *meter) float64 {
	n := min(len(a.samples), len(b.samples))
	r := make([]float64, 0, n)
	for i := range n {
		if b.samples[i] > 0 {
			r = append(r, float64(a.samples[i])/float64(b.samples[i]))
		}
	}
	if len(r) == 0 {
		return 0
	}
	slices.Sort(r)
	if len(r)%2 == 0 {
		return (r[len(r)/2-1] + r[len(r)/2]) / 2
	}
	return r[len(r)/2]
}

// ratio is a/b for reporting, 0 when b is empty.
func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// alternate runs a then b, or b then a on odd rounds, so that neither side always runs
// on a warmer cache.
func alternate(round int, a, b func() error) error {
	if round%2 == 1 {
		a, b = b, a
	}
	if err := a(); err != nil {
		return err
	}
	return b()
}
