package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func openTemp(t testing.TB) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "state", "state.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func sampleEntry(key string) Entry {
	return Entry{
		Key:            key,
		LocalPath:      key,
		RemotePath:     key,
		Size:           12345,
		MD5:            "d41d8cd98f00b204e9800998ecf8427e",
		SHA256:         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		LocalMtime:     time.Unix(1763719200, 123456789),
		Inode:          424242,
		RemoteModified: time.Unix(1763719300, 0),
		ResourceID:     "4000000:abcdef0123456789",
		RemoteRevision: 1763719300123456,
	}
}

// equalEntry compares with time.Equal, since decoded times carry the local zone.
func equalEntry(a, b Entry) bool {
	if !a.LocalMtime.Equal(b.LocalMtime) || !a.RemoteModified.Equal(b.RemoteModified) {
		return false
	}
	a.LocalMtime, b.LocalMtime = time.Time{}, time.Time{}
	a.RemoteModified, b.RemoteModified = time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

func TestCodecRoundTrip(t *testing.T) {
	nfd := "cafe\u0301.txt"
	cases := []Entry{
		sampleEntry("a/b.txt"),
		{Key: "dir", LocalPath: "dir", RemotePath: "dir", Dir: true},
		{Key: "café.txt", LocalPath: nfd, RemotePath: "café.txt", MD5: "NOT-HEX", SHA256: "ABCDEF"},
		{Key: "x", LocalPath: "x", RemotePath: "y", Size: -1, LocalMtime: time.Unix(-5, 7), RemoteRevision: -3},
		{Key: "empty"}, // LocalPath and RemotePath "" differ from the key and must stay ""
		{Key: "upper", MD5: "D41D8CD98F00B204E9800998ECF8427E"},
	}
	for _, e := range cases {
		raw := encodeEntry(nil, &e)
		got, err := decodeEntry(e.Key, raw)
		if err != nil {
			t.Fatalf("%q: %v", e.Key, err)
		}
		if !equalEntry(got, e) {
			t.Errorf("round trip %q:\n got %+v\nwant %+v", e.Key, got, e)
		}
	}
	// The common case is small: a hex md5 costs 16 bytes and equal spellings cost nothing.
	e := sampleEntry("a/b.txt")
	if n := len(encodeEntry(nil, &e)); n > 110 {
		t.Errorf("encoded sample entry is %d bytes, want at most 110", n)
	}
}

func TestCodecCorrupt(t *testing.T) {
	e := sampleEntry("k")
	raw := encodeEntry(nil, &e)
	for i := 0; i < len(raw); i++ {
		if _, err := decodeEntry("k", raw[:i]); err == nil {
			t.Errorf("truncated to %d bytes: no error", i)
		}
	}
	if _, err := decodeEntry("k", append(raw[:len(raw):len(raw)], 0)); err == nil {
		t.Error("trailing byte: no error")
	}
	bad := append([]byte{99}, raw[1:]...)
	if _, err := decodeEntry("k", bad); err == nil || !strings.Contains(err.Error(), "unknown format") {
		t.Errorf("unknown format: %v", err)
	}
}

func FuzzDecodeEntry(f *testing.F) {
	e := sampleEntry("k")
	f.Add(encodeEntry(nil, &e))
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := decodeEntry("k", raw)
		if err != nil {
			return
		}
		// Whatever decodes must encode to something that decodes to the same entry.
		again, err := decodeEntry("k", encodeEntry(nil, &got))
		if err != nil || !equalEntry(again, got) {
			t.Fatalf("re-encode: %v\n%+v\n%+v", err, again, got)
		}
	})
}

func TestOpenCreatesWithModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "state")
	path := filepath.Join(dir, "state.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.Path() != path {
		t.Errorf("Path() = %q, want %q", db.Path(), path)
	}
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m := st.Mode().Perm(); m != 0o700 {
		t.Errorf("state dir mode %o, want 700", m)
	}
	st, err = os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := st.Mode().Perm(); m != 0o600 {
		t.Errorf("state file mode %o, want 600", m)
	}
	if n, err := db.Len(); err != nil || n != 0 {
		t.Errorf("Len() = %d, %v; want 0", n, err)
	}
}

func TestLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	start := time.Now()
	_, err = Open(path, Options{Timeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	if want := "another yasyncd is using " + path; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("second Open took %v; the timeout was 50ms", d)
	}
	// A reader (yasyncd status) is refused too while the daemon holds the lock.
	if _, err := Open(path, Options{Timeout: 50 * time.Millisecond, ReadOnly: true}); !errors.Is(err, ErrLocked) {
		t.Errorf("read-only Open while locked: %v, want ErrLocked", err)
	}

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2, err := Open(path, Options{Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	db2.Close()
}

func TestGetApplyForEach(t *testing.T) {
	db := openTemp(t)
	if _, ok, err := db.Get("missing"); ok || err != nil {
		t.Fatalf("Get(missing) = %v, %v", ok, err)
	}
	a, b, c := sampleEntry("a"), sampleEntry("b/x"), sampleEntry("c")
	c.Dir, c.MD5, c.SHA256, c.Size = true, "", "", 0
	if err := db.Apply([]Entry{c, a, b}, nil); err != nil {
		t.Fatal(err)
	}
	got, ok, err := db.Get("b/x")
	if err != nil || !ok || !equalEntry(got, b) {
		t.Fatalf("Get(b/x) = %+v, %v, %v", got, ok, err)
	}
	// A move in one Apply: delete the old key, put the new one.
	moved := a
	moved.Key, moved.LocalPath, moved.RemotePath = "d", "d", "d"
	if err := db.Apply([]Entry{moved}, []string{"a"}); err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := db.ForEach(func(e Entry) error { keys = append(keys, e.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"b/x", "c", "d"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("ForEach keys %v, want %v", keys, want)
	}
	if err := db.Apply([]Entry{{Key: ""}}, nil); err == nil {
		t.Error("Apply with an empty key: no error")
	}
	stop := errors.New("stop")
	n := 0
	if err := db.ForEach(func(Entry) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("ForEach returned %v after %d calls; want stop after 1", err, n)
	}
}

// ForEach crosses chunk boundaries in order, and fn may write without deadlocking.
func TestForEachChunksAndWrites(t *testing.T) {
	db := openTemp(t)
	const n = 2*forEachChunk + 17
	put := make([]Entry, n)
	for i := range put {
		put[i] = Entry{Key: fmt.Sprintf("f%05d", i), Size: int64(i)}
	}
	if err := db.Apply(put, nil); err != nil {
		t.Fatal(err)
	}
	deletedAhead := map[string]bool{}
	visited, deletedSeen, prev := 0, 0, ""
	err := db.ForEach(func(e Entry) error {
		if e.Key <= prev || deletedAhead[e.Key] {
			return fmt.Errorf("visited %q after %q (deleted ahead: %v)", e.Key, prev, deletedAhead[e.Key])
		}
		if want := fmt.Sprintf("f%05d", e.Size); e.Key != want {
			return fmt.Errorf("entry %q has size %d", e.Key, e.Size)
		}
		prev = e.Key
		visited++
		// Writing from fn must not deadlock. Every 100th entry, delete it and one far
		// ahead (in a later chunk), which must then not be visited.
		if visited%100 == 0 {
			ahead := put[min(int(e.Size)+forEachChunk+1, n-1)].Key
			deletedAhead[ahead] = true
			deletedSeen++
			return db.Apply(nil, []string{e.Key, ahead})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := n - len(deletedAhead); visited != want {
		t.Errorf("visited %d, want %d", visited, want)
	}
	if want := n - deletedSeen - len(deletedAhead); deletedSeen == 0 {
		t.Error("the test deleted nothing")
	} else if l, _ := db.Len(); l != want {
		t.Errorf("Len after deleting = %d, want %d", l, want)
	}
}

func TestJournalCompleteAbandon(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	started := time.Date(2026, 11, 21, 10, 15, 0, 0, time.UTC)
	id1, err := db.Begin(JournalRecord{Op: "upload", Key: "a.txt", Started: started})
	if err != nil {
		t.Fatal(err)
	}
	id2, err := db.Begin(JournalRecord{Op: "move", Key: "new", From: "old"})
	if err != nil {
		t.Fatal(err)
	}
	if id1 == 0 || id2 <= id1 {
		t.Fatalf("ids %d, %d: want increasing non-zero", id1, id2)
	}
	// Crash: close without completing; the journal survives reopen.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	recs, err := db.Journal()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].ID != id1 || recs[0].Op != "upload" || recs[0].Key != "a.txt" ||
		!recs[0].Started.Equal(started) || recs[1].ID != id2 || recs[1].From != "old" || recs[1].Started.IsZero() {
		t.Fatalf("journal after reopen: %+v", recs)
	}

	e := sampleEntry("a.txt")
	if err := db.Complete(id1, []Entry{e}, []string{"gone"}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.Get("a.txt"); !ok {
		t.Error("Complete did not put the entry")
	}
	if err := db.Complete(id1, []Entry{sampleEntry("twice")}, nil); !errors.Is(err, ErrUnknownJob) {
		t.Errorf("second Complete: %v, want ErrUnknownJob", err)
	}
	if _, ok, _ := db.Get("twice"); ok {
		t.Error("a refused Complete applied its entries")
	}
	if err := db.Abandon(id2); err != nil {
		t.Fatal(err)
	}
	if err := db.Abandon(id2); !errors.Is(err, ErrUnknownJob) {
		t.Errorf("second Abandon: %v, want ErrUnknownJob", err)
	}
	if recs, _ := db.Journal(); len(recs) != 0 {
		t.Errorf("journal not empty: %+v", recs)
	}
}

// Complete is one transaction: when the state change fails, the journal record stays.
func TestCompleteAtomic(t *testing.T) {
	db := openTemp(t)
	if err := db.Apply([]Entry{sampleEntry("old")}, nil); err != nil {
		t.Fatal(err)
	}
	id, err := db.Begin(JournalRecord{Op: "download", Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	// A key longer than bbolt's MaxKeySize fails the Put after the journal Delete and the
	// entry Delete ran inside the same transaction.
	huge := Entry{Key: strings.Repeat("x", bolt.MaxKeySize+1)}
	if err := db.Complete(id, []Entry{huge}, []string{"old"}); err == nil {
		t.Fatal("Complete with an oversized key: no error")
	}
	if recs, _ := db.Journal(); len(recs) != 1 || recs[0].ID != id {
		t.Errorf("journal after failed Complete: %+v, want the record kept", recs)
	}
	if _, ok, _ := db.Get("old"); !ok {
		t.Error("failed Complete deleted an entry")
	}
}

// Concurrent workers complete jobs at the same time; Batch coalesces them.
func TestCompleteConcurrent(t *testing.T) {
	db := openTemp(t)
	const workers, jobs = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < jobs; j++ {
				key := fmt.Sprintf("w%d/j%02d", w, j)
				id, err := db.Begin(JournalRecord{Op: "upload", Key: key})
				if err != nil {
					errs <- err
					return
				}
				if err := db.Complete(id, []Entry{{Key: key, Size: int64(j)}}, nil); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n, _ := db.Len(); n != workers*jobs {
		t.Errorf("Len = %d, want %d", n, workers*jobs)
	}
	if recs, _ := db.Journal(); len(recs) != 0 {
		t.Errorf("journal left %d records", len(recs))
	}
}

func TestCursorStatusReset(t *testing.T) {
	db := openTemp(t)
	if c, err := db.Cursor(); err != nil || c != (Cursor{}) {
		t.Fatalf("initial cursor %+v, %v", c, err)
	}
	listed := time.Date(2026, 11, 21, 6, 0, 0, 5, time.UTC)
	if err := db.SetCursor(Cursor{Revision: 77, ListedAt: listed}); err != nil {
		t.Fatal(err)
	}
	c, err := db.Cursor()
	if err != nil || c.Revision != 77 || !c.ListedAt.Equal(listed) {
		t.Fatalf("cursor %+v, %v", c, err)
	}
	last := time.Date(2026, 11, 21, 6, 1, 0, 0, time.UTC)
	st := Status{LastSync: &last, LastError: "boom", Counts: Counts{Uploaded: 1, Downloaded: 2, Moved: 3, Deleted: 4, Conflicts: 5, Failed: 6}}
	if err := db.SetStatus(st); err != nil {
		t.Fatal(err)
	}
	got, err := db.Status()
	if err != nil || got.LastSync == nil || !got.LastSync.Equal(last) || got.LastError != "boom" || got.Counts != st.Counts {
		t.Fatalf("status %+v, %v", got, err)
	}

	if err := db.Apply([]Entry{sampleEntry("a"), sampleEntry("b")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Begin(JournalRecord{Op: "upload", Key: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Reset(); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.Len(); n != 0 {
		t.Errorf("Len after Reset = %d", n)
	}
	if recs, _ := db.Journal(); len(recs) != 0 {
		t.Errorf("journal after Reset: %+v", recs)
	}
	if c, _ := db.Cursor(); c != (Cursor{}) {
		t.Errorf("cursor after Reset: %+v", c)
	}
	if s, _ := db.Status(); s.LastError != "boom" {
		t.Errorf("Reset dropped the status: %+v", s)
	}
	// Still usable.
	if err := db.Apply([]Entry{sampleEntry("c")}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	if _, err := Open(path, Options{ReadOnly: true}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("read-only Open of a missing file: %v, want ErrNotExist", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("read-only Open created the file")
	}
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetStatus(Status{LastError: "x"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if s, err := ro.Status(); err != nil || s.LastError != "x" {
		t.Errorf("read-only Status = %+v, %v", s, err)
	}
	if err := ro.Apply([]Entry{{Key: "a"}}, nil); !errors.Is(err, ErrReadOnly) {
		t.Errorf("read-only Apply: %v", err)
	}
	if _, err := ro.Begin(JournalRecord{Op: "x"}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("read-only Begin: %v", err)
	}
}

// A database from before schema versioning (entries but no meta version) is upgraded in
// place and keeps its entries.
func TestMigrateFromVersion0(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := sampleEntry("kept")
	err = bdb.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(bucketEntries)
		if err != nil {
			return err
		}
		return b.Put([]byte(e.Key), encodeEntry(nil, &e))
	})
	if err != nil {
		t.Fatal(err)
	}
	bdb.Close()

	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := db.Get("kept")
	if err != nil || !ok || !equalEntry(got, e) {
		t.Errorf("entry after migration: %+v, %v, %v", got, ok, err)
	}
	if _, err := db.Begin(JournalRecord{Op: "upload", Key: "kept"}); err != nil {
		t.Errorf("journal bucket missing after migration: %v", err)
	}
	db.Close()

	bdb, err = bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	err = bdb.View(func(tx *bolt.Tx) error {
		v, err := readVersion(tx)
		if err == nil && v != SchemaVersion {
			err = fmt.Errorf("version %d after migration, want %d", v, SchemaVersion)
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyVersion, binary.BigEndian.AppendUint64(nil, SchemaVersion+5))
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(path, Options{})
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Open of a newer schema: %v, want ErrNewerSchema", err)
	}
	if !strings.Contains(err.Error(), "version 6") || !strings.Contains(err.Error(), path) {
		t.Errorf("error %q should name the version and the file", err)
	}
	// The refused Open released its lock.
	if _, err := Open(path, Options{Timeout: 50 * time.Millisecond}); errors.Is(err, ErrLocked) {
		t.Error("a refused Open kept the lock")
	}
}
