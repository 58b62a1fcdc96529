package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/oauth2"

	"github.com/yasyncd/yasyncd/internal/emulator"
	"github.com/yasyncd/yasyncd/internal/emulator/yandexid"
)

// Against the full Disk emulator: the Transport's header is what the Disk API accepts
// (§1.2), and a token killed on the server is recovered by 401 → refresh → retry.
func TestTransportAgainstDiskEmulator(t *testing.T) {
	emu := emulator.NewServer(t, emulator.Options{ClientID: testClientID, ClientSecret: testClientSecret})
	dir := t.TempDir()
	access, refresh := emu.OAuth.IssueToken(0)
	seed := &oauth2.Token{AccessToken: access, RefreshToken: refresh, Expiry: time.Now().Add(yandexid.DefaultTokenTTL)}
	if err := NewStore(dir).Save(seed); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.DebugLevel)
	tr, err := NewTransport(Options{
		OAuthURL: emu.URL, ClientID: testClientID, ClientSecret: testClientSecret,
		StateDir: dir, Logger: zap.New(core), HTTPClient: emu.Client(),
	}, emu.Client().Transport)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: tr}
	login := func() (string, error) {
		resp, err := c.Get(emu.URL + "/v1/disk?fields=user")
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return "", errors.New(resp.Status)
		}
		var d struct{ User struct{ Login string } }
		return d.User.Login, json.NewDecoder(resp.Body).Decode(&d)
	}
	if _, err := login(); err != nil {
		t.Fatalf("first request: %v", err)
	}
	emu.OAuth.Expire(access)
	if _, err := login(); err != nil {
		t.Fatalf("after the token expired on the server: %v", err)
	}
	now, _ := NewStore(dir).Load()
	if now.AccessToken == access || now.RefreshToken == refresh || !emu.OAuth.Valid(now.AccessToken) {
		t.Error("token.json does not hold the refreshed, valid token")
	}

	// Revoked on the server: login required, nothing deleted.
	emu.OAuth.Revoke(now.AccessToken)
	if _, err := login(); !errors.Is(err, ErrLoginRequired) {
		t.Fatalf("after revocation: %v, want ErrLoginRequired", err)
	}
	if _, err := NewStore(dir).Load(); err != nil {
		t.Errorf("token.json after a refused refresh: %v", err)
	}
	info, err := Describe(context.Background(), Options{OAuthURL: emu.URL, StateDir: dir, HTTPClient: emu.Client()}, emu.URL, emu.Token())
	if err != nil || info.Source != SourceEnv || info.Login == "" {
		t.Errorf("Describe with the emulator's static token: %+v %v", info, err)
	}
	for _, e := range logs.All() {
		for _, s := range []string{access, refresh, now.AccessToken, now.RefreshToken, testClientSecret} {
			if strings.Contains(e.Message+fmt.Sprint(e.ContextMap()), s) {
				t.Errorf("log entry %q holds a secret", e.Message)
			}
		}
	}
}
