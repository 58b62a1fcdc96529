package auth

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func TestStoreSaveLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s := NewStore(dir)
	expiry := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	in := &oauth2.Token{AccessToken: "y0_access", RefreshToken: "1:refresh", TokenType: "bearer", Expiry: expiry}
	if err := s.Save(in); err != nil {
		t.Fatal(err)
	}
	// contract.md: the directory 0700, the file 0600, exactly four keys, RFC 3339 expiry.
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("state dir: %v %v, want mode 0700", fi.Mode(), err)
	}
	fi, err := os.Stat(s.Path())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token.json: %v %v, want mode 0600", fi.Mode(), err)
	}
	raw, _ := os.ReadFile(s.Path())
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"access_token", "expiry", "refresh_token", "token_type"}; !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	if m["expiry"] != "2027-03-01T12:00:00Z" || m["token_type"] != "OAuth" {
		t.Errorf("expiry %v, token_type %v", m["expiry"], m["token_type"])
	}
	out, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if out.AccessToken != in.AccessToken || out.RefreshToken != in.RefreshToken || !out.Expiry.Equal(expiry) || out.TokenType != "OAuth" {
		t.Errorf("loaded %+v", out)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
	if err := s.Delete(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(); !errors.Is(err, ErrLoginRequired) {
		t.Errorf("after Delete: %v, want ErrLoginRequired", err)
	}
	if err := s.Delete(); err != nil {
		t.Errorf("second Delete: %v", err)
	}
}

func TestStoreMissingOrBrokenIsLoginRequired(t *testing.T) {
	s := NewStore(t.TempDir())
	if _, err := s.Load(); !errors.Is(err, ErrLoginRequired) {
		t.Fatalf("missing: %v, want ErrLoginRequired", err)
	}
	os.WriteFile(s.Path(), []byte(`{"access_token": "y0_partial`), 0o600)
	_, err := s.Load()
	if !errors.Is(err, ErrLoginRequired) || strings.Contains(err.Error(), "y0_partial") {
		t.Fatalf("broken: %v, want ErrLoginRequired without the file's content", err)
	}
}

func TestStoreRefusesInsecureFile(t *testing.T) {
	s := NewStore(t.TempDir())
	if err := s.Save(&oauth2.Token{AccessToken: "y0_a", RefreshToken: "1:r"}); err != nil {
		t.Fatal(err)
	}
	os.Chmod(s.Path(), 0o644)
	_, err := s.Load()
	if !errors.Is(err, ErrInsecureTokenFile) {
		t.Fatalf("0644: %v, want ErrInsecureTokenFile", err)
	}
	if want := "chmod 600 " + s.Path(); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	os.Chmod(s.Path(), 0o600)
	if _, err := s.Load(); err != nil {
		t.Errorf("after chmod 600: %v", err)
	}
}

func TestStoreLockExcludesOtherHolders(t *testing.T) {
	dir := t.TempDir()
	a, b := NewStore(dir), NewStore(dir)
	unlock, err := a.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := b.Lock(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Lock while held: %v, want deadline exceeded", err)
	}
	unlock()
	unlockB, err := b.Lock(context.Background())
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	unlockB()
}
