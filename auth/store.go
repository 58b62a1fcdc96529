package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/gofrs/flock"
	"golang.org/x/oauth2"
)

const (
	// TokenFile is the token's file name inside the state directory.
	TokenFile = "token.json"
	lockFile  = TokenFile + ".lock"
	// tokenType is stored as token_type and set on every token handed out: the scheme the
	// Disk API wants (§1.2), so any reader that builds the header from the type gets it right.
	tokenType = "OAuth"
)

// Store keeps one token in <StateDir>/token.json. It is safe for use by several processes:
// Save replaces the file atomically, and Lock serialises refreshes between processes.
type Store struct {
	dir string
	// now stamps the file's modification time when a token is saved: the time the token
	// was obtained, from which the refresh policy derives the token's lifetime.
	now func() time.Time
}

// NewStore returns the store for token.json in stateDir.
func NewStore(stateDir string) *Store {
	return &Store{dir: stateDir, now: time.Now}
}

// Path is token.json's path.
func (s *Store) Path() string { return filepath.Join(s.dir, TokenFile) }

// tokenFile is token.json's format (contract.md): exactly these four keys.
type tokenFile struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	Expiry       string `json:"expiry,omitempty"`
}

// Load reads the token. A missing file is ErrLoginRequired; a file other users can read is
// ErrInsecureTokenFile.
func (s *Store) Load() (*oauth2.Token, error) {
	tok, _, err := s.load()
	return tok, err
}

// load also returns the file's FileInfo, taken from the open file so that it describes
// exactly the version that was read.
func (s *Store) load() (*oauth2.Token, fs.FileInfo, error) {
	if s.dir == "" {
		return nil, nil, errNoStateDir
	}
	path := s.Path()
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("no token in %s: %w", path, ErrLoginRequired)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read token: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("read token: %w", err)
	}
	if err := checkPrivate(path, fi); err != nil {
		return nil, fi, err
	}
	var tf tokenFile
	dec := json.NewDecoder(f)
	if err := dec.Decode(&tf); err != nil {
		// json errors quote at most a byte offset and a type, never the token.
		return nil, fi, fmt.Errorf("read token %s: not valid JSON (%v): %w", path, syntaxOnly(err), ErrLoginRequired)
	}
	if tf.AccessToken == "" && tf.RefreshToken == "" {
		return nil, fi, fmt.Errorf("read token %s: no token in the file: %w", path, ErrLoginRequired)
	}
	tok := &oauth2.Token{AccessToken: tf.AccessToken, RefreshToken: tf.RefreshToken, TokenType: tokenType}
	if tf.Expiry != "" {
		tok.Expiry, err = time.Parse(time.RFC3339Nano, tf.Expiry)
		if err != nil {
			return nil, fi, fmt.Errorf("read token %s: expiry is not RFC 3339: %w", path, ErrLoginRequired)
		}
	}
	return tok, fi, nil
}

// syntaxOnly keeps the position of a JSON error and drops any quoted input.
func syntaxOnly(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("wrong type for %q", te.Field)
	}
	return "malformed"
}

// checkPrivate refuses a token file others can access: the refresh token in it is a
// year-long key to the user's whole Disk.
func checkPrivate(path string, fi fs.FileInfo) error {
	if runtime.GOOS == "windows" {
		return nil // permission bits do not describe Windows ACLs
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %04o; run `chmod 600 %s`", ErrInsecureTokenFile, path, fi.Mode().Perm(), path)
	}
	return nil
}

// Save writes tok atomically: a temporary file in the same directory, fsync, rename over
// token.json, fsync of the directory. A crash leaves either the old or the new token,
// never a torn file. The file is 0600 and the directory is created 0700.
func (s *Store) Save(tok *oauth2.Token) error {
	if s.dir == "" {
		return errNoStateDir
	}
	if tok == nil || tok.AccessToken == "" {
		return errors.New("save token: empty token")
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	tf := tokenFile{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, TokenType: tokenType}
	if !tok.Expiry.IsZero() {
		tf.Expiry = tok.Expiry.UTC().Format(time.RFC3339)
	}
	data, err := json.MarshalIndent(tf, "", "  ")
	if err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	data = append(data, '\n')

	tmp, err := os.CreateTemp(s.dir, TokenFile+".tmp-*")
	if err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	tmpName := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	// CreateTemp makes the file 0600 already; Chmod guards against a platform that does not.
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	now := s.now()
	if err := os.Chtimes(tmpName, now, now); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	if err := os.Rename(tmpName, s.Path()); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	ok = true
	return syncDir(s.dir)
}

// Delete removes token.json; a missing file is not an error.
func (s *Store) Delete() error {
	if s.dir == "" {
		return errNoStateDir
	}
	if err := os.Remove(s.Path()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete token: %w", err)
	}
	return syncDir(s.dir)
}

// Lock takes an exclusive lock on token.json.lock, waiting until ctx ends. Hold it across
// read-refresh-write so that two processes never both spend the same refresh token: the
// second one re-reads the file under the lock and finds the rotated token. The lock is
// per open file, so it also excludes other Stores in the same process.
func (s *Store) Lock(ctx context.Context) (unlock func(), err error) {
	if s.dir == "" {
		return nil, errNoStateDir
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock token: %w", err)
	}
	fl := flock.New(filepath.Join(s.dir, lockFile), flock.SetPermissions(0o600))
	locked, err := fl.TryLockContext(ctx, 20*time.Millisecond)
	if err != nil {
		fl.Close()
		return nil, fmt.Errorf("lock token: %w", err)
	}
	if !locked {
		fl.Close()
		return nil, errors.New("lock token: not acquired")
	}
	return func() { fl.Close() }, nil
}

// syncDir makes a rename or removal in dir durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for syncing there
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
