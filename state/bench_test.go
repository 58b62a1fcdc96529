package state

import (
	"fmt"
	"testing"
)

const benchEntries = 100_000

func benchPut() []Entry {
	put := make([]Entry, benchEntries)
	for i := range put {
		e := sampleEntry(fmt.Sprintf("dir%03d/sub%02d/file-%06d.txt", i%1000, i%37, i))
		e.Inode = uint64(i)
		put[i] = e
	}
	return put
}

// BenchmarkApply100k writes a 100,000-entry tree in one transaction (a first sync).
func BenchmarkApply100k(b *testing.B) {
	put := benchPut()
	for b.Loop() {
		b.StopTimer()
		db := openTemp(b)
		b.StartTimer()
		if err := db.Apply(put, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkForEach100k reads a 100,000-entry tree (every planning pass).
func BenchmarkForEach100k(b *testing.B) {
	db := openTemp(b)
	if err := db.Apply(benchPut(), nil); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		n := 0
		if err := db.ForEach(func(Entry) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != benchEntries {
			b.Fatalf("visited %d", n)
		}
	}
}
