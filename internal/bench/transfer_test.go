package bench

import (
	"crypto/md5"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/yasyncd/yasyncd/client"
	"github.com/yasyncd/yasyncd/internal/emulator"
)

// transferSizes are the file sizes of the upload and download benchmarks. Two sizes in
// the quick tier, so that "allocations do not grow with the file" can be read off one run.
func transferSizes() []int64 {
	s := []int64{8 << 20, 64 << 20}
	if full {
		s = append(s, 512<<20)
	}
	return s
}

// sourceFile writes size pseudo-random bytes to a temp file (on tmpfs when there is one):
// uploads in the engine read from an *os.File, and random bytes keep any layer from
// compressing them.
func sourceFile(b *testing.B, size int64) string {
	b.Helper()
	p := filepath.Join(blobDir(b), "src.bin")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rng := rand.NewChaCha8([32]byte{1})
	if _, err := io.CopyN(f, rng, size); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return p
}

// transferRounds is how many client/raw pairs one benchmark iteration runs, so that even
// -benchtime=1x gives a median of three pairs.
const transferRounds = 3

// BenchmarkUpload compares client.Upload (link, PUT while hashing md5 and sha256,
// operation poll, read-back check) with a raw upload of the same file through the same
// emulator (link, PUT). ratio-vs-hashing-raw divides by a raw PUT whose body is hashed
// with md5 and sha256 on the way, the work the client must do to verify what it sent.
// Metrics: ratio = client time / raw time; client-B/op and raw-B/op
// are the bytes allocated in the process while each side ran, the emulator's share
// included; alloc/size is client-B/op over the file size and must stay far below 1
// (the client streams, it never buffers the file).
func BenchmarkUpload(b *testing.B) {
	for _, size := range transferSizes() {
		b.Run(sizeName(size), func(b *testing.B) { benchUpload(b, size) })
	}
}

func benchUpload(b *testing.B, size int64) {
	srv := newEmulator(b, emulator.Options{DataDir: blobDir(b), MaxFileSize: 2 << 30, TotalSpace: 64 << 30})
	c := newClient(b, srv.URL, srv.Token())
	r := newRaw(srv.URL, srv.Token())
	src := sourceFile(b, size)
	ctx := b.Context()

	// side 0 is the client, 1 the raw PUT, 2 the raw PUT of a body hashed on the way with
	// md5 and sha256 as the client does: the part of the gap that hashing explains.
	send := func(p string, side int) error {
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer f.Close()
		switch side {
		case 0:
			_, err = c.Upload(ctx, p, f, size, clientUploadOptions)
			return err
		case 1:
			return r.upload(ctx, p, f, size)
		}
		hm, hs := md5.New(), sha256.New()
		return r.upload(ctx, p, io.TeeReader(f, io.MultiWriter(hm, hs)), size)
	}
	// Warm both connection pools and the client's cached max_file_size.
	for side := range 3 {
		if err := send(fmt.Sprintf("disk:/warm-raw%d.bin", side), side); err != nil {
			b.Fatal(err)
		}
	}
	if e, ok := srv.Stat("disk:/warm-raw1.bin"); !ok || e.Size != size {
		b.Fatalf("raw upload stored %+v, want %d bytes", e, size)
	}

	var cm, rm, hm meter
	i := 0
	for b.Loop() {
		for range transferRounds {
			i++
			cp, rp, hp := fmt.Sprintf("disk:/client-%d.bin", i), fmt.Sprintf("disk:/raw-%d.bin", i), fmt.Sprintf("disk:/hashed-%d.bin", i)
			err := alternate(i,
				func() error { return cm.run(func() error { return send(cp, 0) }) },
				func() error { return rm.run(func() error { return send(rp, 1) }) })
			if err == nil {
				err = hm.run(func() error { return send(hp, 2) })
			}
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			for _, p := range []string{cp, rp, hp} {
				if err := srv.RemovePermanently(p); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
		}
	}
	reportTransfer(b, size, &cm, &rm)
	b.ReportMetric(ratio(cm.perOp(), hm.perOp()), "ratio-vs-hashing-raw")
}

// clientUploadOptions are the engine's: it never overwrites (it deletes conditionally
// first).
var clientUploadOptions = client.UploadOptions{}

// BenchmarkDownload compares client.Download (link, GET with resume bookkeeping) with a
// raw GET of a link asked for the same way; both write to io.Discard so that the disk
// does not hide the client's overhead. Metrics as for BenchmarkUpload.
func BenchmarkDownload(b *testing.B) {
	for _, size := range transferSizes() {
		b.Run(sizeName(size), func(b *testing.B) { benchDownload(b, size) })
	}
}

func benchDownload(b *testing.B, size int64) {
	srv := newEmulator(b, emulator.Options{DataDir: blobDir(b), MaxFileSize: 2 << 30, TotalSpace: 64 << 30})
	c := newClient(b, srv.URL, srv.Token())
	r := newRaw(srv.URL, srv.Token())
	content, err := os.ReadFile(sourceFile(b, size))
	if err != nil {
		b.Fatal(err)
	}
	const p = "disk:/big.bin"
	if err := srv.PutFile(p, content); err != nil {
		b.Fatal(err)
	}
	content = nil
	ctx := b.Context()
	get := func(client bool) error {
		var n int64
		var err error
		if client {
			n, err = c.Download(ctx, p, io.Discard)
		} else {
			n, err = r.download(ctx, p, io.Discard)
		}
		if err == nil && n != size {
			err = fmt.Errorf("got %d bytes, want %d", n, size)
		}
		return err
	}
	for _, side := range []bool{true, false} { // warm the connection pools
		if err := get(side); err != nil {
			b.Fatal(err)
		}
	}

	var cm, rm meter
	i := 0
	for b.Loop() {
		for range transferRounds {
			i++
			err := alternate(i,
				func() error { return cm.run(func() error { return get(true) }) },
				func() error { return rm.run(func() error { return get(false) }) })
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	reportTransfer(b, size, &cm, &rm)
}

func reportTransfer(b *testing.B, size int64, cm, rm *meter) {
	mb := float64(size) / (1 << 20)
	b.ReportMetric(pairedRatio(cm, rm), "ratio")
	b.ReportMetric(mb/cm.perOp().Seconds(), "client-MiB/s")
	b.ReportMetric(mb/rm.perOp().Seconds(), "raw-MiB/s")
	b.ReportMetric(cm.allocPerOp(), "client-B/op")
	b.ReportMetric(rm.allocPerOp(), "raw-B/op")
	b.ReportMetric(cm.allocPerOp()/float64(size), "alloc/size")
}
