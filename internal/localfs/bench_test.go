package localfs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	yasync "github.com/yasyncd/yasyncd/sync"
)

// BenchmarkWalk100k walks 100,000 files in 1,000 folders (a full local scan).
func BenchmarkWalk100k(b *testing.B) {
	f, _ := newFS(b, nil)
	for d := 0; d < 1000; d++ {
		dir := filepath.Join(f.Root(), fmt.Sprintf("dir%04d", d))
		if err := os.Mkdir(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for i := 0; i < 100; i++ {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("file-%03d.txt", i)), nil, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	for b.Loop() {
		n := 0
		err := f.Walk(context.Background(), func(yasync.LocalEntry) error { n++; return nil }, func(p, r string) { b.Fatalf("skip %s: %s", p, r) })
		if err != nil {
			b.Fatal(err)
		}
		if n != 101_000 {
			b.Fatalf("walked %d", n)
		}
	}
}
