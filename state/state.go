// Package state is yasyncd's memory of the last-synced state: for every path, what the local
// folder and the Disk agreed on after the last successful transfer (the base of the
// three-way comparison), the Disk revision of the last full listing, a journal of jobs in
// flight, and the outcome of the last pass for `yasyncd status`.
//
// It is a bbolt database, owned by one process at a time (bbolt's file lock). The journal
// exists for crash safety: a job is recorded before it starts and cleared in the same
// transaction that records its result, so after a crash or kill -9 the next run knows which
// paths may be half-done and re-checks them instead of trusting either side blindly.
//
// # Caveats
//
// ForEach reads in chunks, each in its own read transaction, so that a long planning pass
// never holds a transaction open (in bbolt a long reader blocks a writer that needs to grow
// the file). It is therefore not a snapshot: an entry written while it runs may or may not
// be seen; each key is visited at most once and in order.
package state

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Errors callers branch on.
var (
	// ErrLocked means another process (another yasyncd) has the database open. The error
	// returned by Open wraps it and says "another yasyncd is using <path>".
	ErrLocked = errors.New("state database is locked")
	// ErrNewerSchema means the database was written by a newer yasyncd.
	ErrNewerSchema = errors.New("state database schema is newer than this yasyncd")
	// ErrUnknownJob means Complete or Abandon got an ID that is not in the journal: it was
	// already completed or abandoned, or never begun. Nothing is changed.
	ErrUnknownJob = errors.New("unknown journal record")
	// ErrReadOnly is returned by writes on a database opened with Options.ReadOnly.
	ErrReadOnly = errors.New("state database is open read-only")
)

// SchemaVersion is the layout of the buckets this package reads and writes.
const SchemaVersion = 1

var (
	bucketMeta    = []byte("meta")
	bucketEntries = []byte("entries")
	bucketJournal = []byte("journal")

	keyVersion = []byte("version")
	keyCursor  = []byte("cursor")
	keyStatus  = []byte("status")
)

// migrations[v] upgrades a database from schema version v to v+1 inside one write
// transaction. Version 0 is a file with no recorded version: a new file, or one created
// before versioning. The table is a variable so a test can add a step.
var migrations = []func(tx *bolt.Tx) error{
	0: func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketEntries, bucketJournal} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	},
}

// Entry is what both sides agreed on for one path after its last successful sync.
type Entry struct {
	// Key is the NFC-normalised, slash-separated path relative to the root ("a/b.txt").
	Key string
	// LocalPath is the local spelling (may differ from Key, e.g. an NFD name).
	LocalPath string
	// RemotePath is the remote spelling relative to the remote root.
	RemotePath string
	Dir        bool
	Size       int64
	// MD5 is lowercase hex; "" for folders.
	MD5            string
	SHA256         string
	LocalMtime     time.Time
	Inode          uint64
	RemoteModified time.Time
	ResourceID     string
	RemoteRevision int64
}

// Cursor is the Disk revision after the last full remote listing.
type Cursor struct {
	Revision int64     `json:"r"`
	ListedAt time.Time `json:"t"`
}

// JournalRecord is a job in flight.
type JournalRecord struct {
	ID      uint64    `json:"-"`
	Op      string    `json:"o"`
	Key     string    `json:"k"`
	From    string    `json:"f,omitempty"`
	Started time.Time `json:"t"`
}

// Status is the outcome of the last pass, for `yasyncd status` when no daemon runs.
type Status struct {
	LastSync  *time.Time `json:"last_sync"`
	LastError string     `json:"last_error,omitempty"`
	Counts    Counts     `json:"counts"`
}

// Counts are the totals of one pass.
type Counts struct {
	Uploaded   int `json:"uploaded"`
	Downloaded int `json:"downloaded"`
	Moved      int `json:"moved"`
	Deleted    int `json:"deleted"`
	Conflicts  int `json:"conflicts"`
	Failed     int `json:"failed"`
}

// Options configure Open.
type Options struct {
	// Timeout is how long Open waits for another process's lock; default 1s.
	Timeout time.Duration
	// ReadOnly opens with a shared lock and refuses writes; the file must exist.
	ReadOnly bool
}

// DB is an open state database. Its methods are safe for concurrent use.
type DB struct {
	bolt     *bolt.DB
	path     string
	readOnly bool
}

// Open opens or creates the database at path, creating its folder (0700) and the file
// (0600) as needed, and upgrades an older schema. It fails with an error wrapping ErrLocked
// when another process holds the file, and ErrNewerSchema when a newer yasyncd wrote it.
func Open(path string, opts Options) (*DB, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	if opts.ReadOnly {
		// bbolt would create the file; a read-only open is for a reader that must not.
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("open state %s: %w", path, err)
		}
	} else if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.Timeout, ReadOnly: opts.ReadOnly})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("another yasyncd is using %s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	// bbolt's default of 10ms would make a lone worker's every Complete wait 10ms; 2ms
	// still lets concurrent workers share one fsync.
	bdb.MaxBatchDelay = 2 * time.Millisecond
	db := &DB{bolt: bdb, path: path, readOnly: opts.ReadOnly}
	if err := db.migrate(); err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	return db, nil
}

// migrate brings the schema to SchemaVersion, one step per transaction so a crash in the
// middle leaves a consistent older version that the next Open upgrades again.
func (db *DB) migrate() error {
	for {
		var v uint64
		err := db.bolt.View(func(tx *bolt.Tx) error {
			var err error
			v, err = readVersion(tx)
			return err
		})
		if err != nil {
			return err
		}
		if v > SchemaVersion {
			return fmt.Errorf("%w: version %d, this yasyncd knows up to %d; upgrade yasyncd, or move the file away and run with --resync", ErrNewerSchema, v, SchemaVersion)
		}
		if v == SchemaVersion {
			return nil
		}
		if db.readOnly {
			return fmt.Errorf("schema version %d needs an upgrade to %d, which a read-only open cannot do: %w", v, SchemaVersion, ErrReadOnly)
		}
		if int(v) >= len(migrations) || migrations[v] == nil {
			return fmt.Errorf("no migration from schema version %d", v)
		}
		err = db.bolt.Update(func(tx *bolt.Tx) error {
			if err := migrations[v](tx); err != nil {
				return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
			}
			meta, err := tx.CreateBucketIfNotExists(bucketMeta)
			if err != nil {
				return err
			}
			return meta.Put(keyVersion, binary.BigEndian.AppendUint64(nil, v+1))
		})
		if err != nil {
			return err
		}
	}
}

func readVersion(tx *bolt.Tx) (uint64, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return 0, nil
	}
	raw := meta.Get(keyVersion)
	if raw == nil {
		return 0, nil
	}
	if len(raw) != 8 {
		return 0, fmt.Errorf("corrupt schema version (%d bytes)", len(raw))
	}
	return binary.BigEndian.Uint64(raw), nil
}

// Close releases the database and its lock.
func (db *DB) Close() error {
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("close state %s: %w", db.path, err)
	}
	return nil
}

// Path is the database file.
func (db *DB) Path() string { return db.path }

// Len is the number of entries.
func (db *DB) Len() (int, error) {
	var n int
	err := db.bolt.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketEntries).Stats().KeyN
		return nil
	})
	return n, err
}

// Get returns the entry for key, and false if there is none.
func (db *DB) Get(key string) (Entry, bool, error) {
	var (
		e  Entry
		ok bool
	)
	err := db.bolt.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketEntries).Get([]byte(key))
		if raw == nil {
			return nil
		}
		ok = true
		var err error
		e, err = decodeEntry(key, raw)
		return err
	})
	if err != nil {
		return Entry{}, false, fmt.Errorf("state get %q: %w", key, err)
	}
	return e, ok, nil
}

// forEachChunk is how many entries ForEach decodes per read transaction.
const forEachChunk = 1024

// ForEach calls fn for every entry in ascending byte order of Key, without holding a
// transaction while fn runs (see the package Caveats), so fn may write to the database.
// It stops at fn's first error and returns it.
func (db *DB) ForEach(fn func(Entry) error) error {
	var after []byte
	chunk := make([]Entry, 0, forEachChunk)
	for {
		chunk = chunk[:0]
		err := db.bolt.View(func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketEntries).Cursor()
			var k, v []byte
			if after == nil {
				k, v = c.First()
			} else {
				k, v = c.Seek(after)
				if k != nil && bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && len(chunk) < forEachChunk; k, v = c.Next() {
				e, err := decodeEntry(string(k), v)
				if err != nil {
					return fmt.Errorf("state entry %q: %w", k, err)
				}
				chunk = append(chunk, e)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, e := range chunk {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(chunk) < forEachChunk {
			return nil
		}
		after = []byte(chunk[len(chunk)-1].Key)
	}
}

// Apply puts and deletes entries in one transaction: for changes that transfer nothing
// (a touched file whose content is unchanged, a path that became excluded).
func (db *DB) Apply(put []Entry, del []string) error {
	if db.readOnly {
		return ErrReadOnly
	}
	vals, err := encodeAll(put)
	if err != nil {
		return err
	}
	// Update, not Batch: Apply carries many changes at once and its caller is not a pool
	// of workers waiting on each other.
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		return applyTx(tx, put, vals, del)
	})
	if err != nil {
		return fmt.Errorf("state apply: %w", err)
	}
	return nil
}

func encodeAll(put []Entry) ([][]byte, error) {
	vals := make([][]byte, len(put))
	for i := range put {
		if put[i].Key == "" {
			return nil, errors.New("state: entry with an empty key")
		}
		vals[i] = encodeEntry(nil, &put[i])
	}
	return vals, nil
}

// applyTx deletes first, then puts, so a move expressed as del(old)+put(new) works and a
// key in both lists ends up present.
func applyTx(tx *bolt.Tx, put []Entry, vals [][]byte, del []string) error {
	b := tx.Bucket(bucketEntries)
	for _, k := range del {
		if err := b.Delete([]byte(k)); err != nil {
			return err
		}
	}
	// Puts in key order: bbolt inserts sorted keys several times faster than scattered
	// ones (each Put seeks from the root; sorted runs touch each leaf once).
	order := make([]int, len(put))
	for i := range order {
		order[i] = i
	}
	if !slices.IsSortedFunc(order, func(a, b int) int { return strings.Compare(put[a].Key, put[b].Key) }) {
		slices.SortFunc(order, func(a, b int) int { return strings.Compare(put[a].Key, put[b].Key) })
	}
	for _, i := range order {
		if err := b.Put([]byte(put[i].Key), vals[i]); err != nil {
			return err
		}
	}
	return nil
}

// Begin journals a job before it starts and returns its ID (never 0).
func (db *DB) Begin(rec JournalRecord) (uint64, error) {
	if db.readOnly {
		return 0, ErrReadOnly
	}
	if rec.Started.IsZero() {
		rec.Started = time.Now()
	}
	val, err := json.Marshal(rec)
	if err != nil {
		return 0, fmt.Errorf("state begin %s %q: %w", rec.Op, rec.Key, err)
	}
	var id uint64
	// Batch may run the function more than once; each run is a fresh transaction, so the
	// sequence it takes is the one that is committed.
	err = db.bolt.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJournal)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		id = seq
		return b.Put(idKey(seq), val)
	})
	if err != nil {
		return 0, fmt.Errorf("state begin %s %q: %w", rec.Op, rec.Key, err)
	}
	return id, nil
}

// Complete clears job id from the journal and applies its state change in one
// transaction, so a crash leaves either the job journalled and the old state, or neither
// and the new state. Concurrent calls are coalesced into shared commits. An id that is not
// journalled is ErrUnknownJob and nothing is applied.
func (db *DB) Complete(id uint64, put []Entry, del []string) error {
	if db.readOnly {
		return ErrReadOnly
	}
	vals, err := encodeAll(put)
	if err != nil {
		return err
	}
	err = db.bolt.Batch(func(tx *bolt.Tx) error {
		j := tx.Bucket(bucketJournal)
		k := idKey(id)
		if j.Get(k) == nil {
			return fmt.Errorf("%w: %d", ErrUnknownJob, id)
		}
		if err := j.Delete(k); err != nil {
			return err
		}
		return applyTx(tx, put, vals, del)
	})
	if err != nil {
		return fmt.Errorf("state complete job %d: %w", id, err)
	}
	return nil
}

// Abandon clears job id from the journal when it failed without changing anything.
func (db *DB) Abandon(id uint64) error {
	if db.readOnly {
		return ErrReadOnly
	}
	err := db.bolt.Batch(func(tx *bolt.Tx) error {
		j := tx.Bucket(bucketJournal)
		k := idKey(id)
		if j.Get(k) == nil {
			return fmt.Errorf("%w: %d", ErrUnknownJob, id)
		}
		return j.Delete(k)
	})
	if err != nil {
		return fmt.Errorf("state abandon job %d: %w", id, err)
	}
	return nil
}

// Journal returns the records left in the journal (by a crash, when called at start), in
// the order they were begun.
func (db *DB) Journal() ([]JournalRecord, error) {
	var recs []JournalRecord
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketJournal).ForEach(func(k, v []byte) error {
			if len(k) != 8 {
				return fmt.Errorf("corrupt journal key %x", k)
			}
			var r JournalRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("journal record %x: %w", k, err)
			}
			r.ID = binary.BigEndian.Uint64(k)
			recs = append(recs, r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("state journal: %w", err)
	}
	return recs, nil
}

func idKey(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

// Cursor returns the saved cursor; the zero Cursor when none was saved.
func (db *DB) Cursor() (Cursor, error) {
	var c Cursor
	err := db.getMeta(keyCursor, &c)
	return c, err
}

// SetCursor saves the Disk revision of the last full listing.
func (db *DB) SetCursor(c Cursor) error { return db.putMeta(keyCursor, c) }

// Status returns the saved outcome of the last pass; the zero Status when none was saved.
func (db *DB) Status() (Status, error) {
	var s Status
	err := db.getMeta(keyStatus, &s)
	return s, err
}

// SetStatus saves the outcome of a pass.
func (db *DB) SetStatus(s Status) error { return db.putMeta(keyStatus, s) }

func (db *DB) getMeta(key []byte, v any) error {
	err := db.bolt.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketMeta).Get(key)
		if raw == nil {
			return nil
		}
		return json.Unmarshal(raw, v)
	})
	if err != nil {
		return fmt.Errorf("state read %s: %w", key, err)
	}
	return nil
}

func (db *DB) putMeta(key []byte, v any) error {
	if db.readOnly {
		return ErrReadOnly
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("state write %s: %w", key, err)
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(key, raw)
	})
	if err != nil {
		return fmt.Errorf("state write %s: %w", key, err)
	}
	return nil
}

// Reset forgets everything synced (--resync): all entries, the cursor and the journal.
// The last status is kept: it describes what happened, not what is agreed.
func (db *DB) Reset() error {
	if db.readOnly {
		return ErrReadOnly
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketEntries, bucketJournal} {
			if err := tx.DeleteBucket(name); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
				return err
			}
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Delete(keyCursor)
	})
	if err != nil {
		return fmt.Errorf("state reset: %w", err)
	}
	return nil
}
