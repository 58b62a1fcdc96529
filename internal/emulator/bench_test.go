package emulator

import (
	"net/http"
	"strconv"
	"testing"
)

// seedMany puts n small files into 100 folders.
func seedMany(b *testing.B, s *Server, n int) {
	b.Helper()
	for i := range n {
		if err := s.PutFile("/B/d"+strconv.Itoa(i%100)+"/f"+strconv.Itoa(i), []byte{byte(i)}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchGet(b *testing.B, s *Server, path string) {
	req, _ := http.NewRequest("GET", s.URL+path, nil)
	req.Header.Set("Authorization", "OAuth "+s.Token())
	res, err := s.Client().Do(req)
	if err != nil {
		b.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		b.Fatalf("status %d", res.StatusCode)
	}
}

// BenchmarkFilesPage measures one 1000-item page of /resources/files on a 20k-file Disk.
func BenchmarkFilesPage(b *testing.B) {
	s := NewServer(b, Options{Logf: func(string, ...any) {}})
	seedMany(b, s, 20000)
	for i := 0; b.Loop(); i++ {
		benchGet(b, s, "/v1/disk/resources/files?limit=1000&offset="+strconv.Itoa((i%20)*1000)+
			"&fields=items.path,items.md5,items.size,items.revision")
	}
}

// BenchmarkRevisionProbe measures the cheap change probe of §10.
func BenchmarkRevisionProbe(b *testing.B) {
	s := NewServer(b, Options{Logf: func(string, ...any) {}})
	seedMany(b, s, 20000)
	for b.Loop() {
		benchGet(b, s, "/v1/disk?fields=revision")
	}
}
