package auth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
)

// fakeDeviceServer answers /device/code with the recorded fixture and each /token poll with
// the next of answers (status, body); the last one repeats.
func fakeDeviceServer(t *testing.T, answers ...[2]any) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var polls atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/device/code", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		io.WriteString(w, `{"device_code": "7d5e56d231be4af1b3d87890f4eb6073", "expires_in": 300, "interval": 5, "user_code": "qfcgcip7", "verification_url": "https://ya.ru/device"}`)
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.PostForm.Get("grant_type") != "device_code" || r.PostForm.Get("code") != "7d5e56d231be4af1b3d87890f4eb6073" {
			t.Errorf("poll form %v: want grant_type=device_code and code", r.PostForm)
		}
		n := int(polls.Add(1)) - 1
		a := answers[min(n, len(answers)-1)]
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a[0].(int))
		io.WriteString(w, a[1].(string))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &polls
}

func TestDevicePollAnswers(t *testing.T) {
	pending := [2]any{400, `{"error": "authorization_pending", "error_description": "User has not yet authorized your application"}`}
	token := [2]any{200, `{"access_token": "y0_AgAAAAAbKQ0kAASLvQAAAAEJoampAAAcj1rSZxVAGKUgGZefRREeLcftqg", "expires_in": 31535338, "refresh_token": "1:1Sdl1biUc4nCSpBZ:rYQheJJPCzmFdcmKu_13bUgjRr0:FCFODXKsw5KNdI6XxP89dw", "token_type": "bearer"}`}
	for _, tc := range []struct {
		name    string
		answers [][2]any
		want    error // nil: a token
		polls   int32
	}{
		{"pending then token", [][2]any{pending, pending, token}, nil, 3},
		{"invalid_grant", [][2]any{pending, {400, `{"error": "invalid_grant", "error_description": "invalid or expired confirmation code"}`}}, ErrLoginRefused, 2},
		{"expired_token", [][2]any{{400, `{"error": "expired_token"}`}}, ErrLoginRefused, 1},
		{"access_denied", [][2]any{{400, `{"error": "access_denied"}`}}, ErrLoginRefused, 1},
		{"invalid_client", [][2]any{{400, `{"error": "invalid_client", "error_description": "Client not found"}`}}, ErrInvalidClient, 1},
		{"server trouble is ridden out", [][2]any{{503, `busy`}, {502, `<html>`}, token}, nil, 3},
		{"server trouble gives up", [][2]any{{503, `busy`}}, errors.New("any"), maxPollFailures},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, polls := fakeDeviceServer(t, tc.answers...)
			c := newClock()
			fs := &fakeSleep{clock: c, advance: true}
			tok, err := DeviceLogin(context.Background(), Options{
				OAuthURL: srv.URL, ClientID: "id", ClientSecret: "s3cr3t-value", Now: c.Now, Sleep: fs.Sleep,
			}, io.Discard)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("err %v, want a token", err)
			case tc.want == nil:
				if want := c.Now().Add(31535338 * time.Second); !tok.Expiry.Equal(want) {
					t.Errorf("expiry %v, want %v (expires_in counted from the answer)", tok.Expiry, want)
				}
			case tc.want.Error() == "any" && err == nil:
				t.Fatal("no error")
			case tc.want.Error() != "any" && !errors.Is(err, tc.want):
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if polls.Load() != tc.polls {
				t.Errorf("%d polls, want %d", polls.Load(), tc.polls)
			}
			for _, w := range fs.Waits() {
				if w != 5*time.Second {
					t.Errorf("waited %v, want the interval of 5s", w)
				}
			}
			if err != nil {
				for _, s := range []string{"s3cr3t-value", "7d5e56d231be4af1b3d87890f4eb6073", "busy", "<html>"} {
					if strings.Contains(err.Error(), s) {
						t.Errorf("error %q holds %q", err, s)
					}
				}
			}
		})
	}
}

func TestBrowserLoginCancelled(t *testing.T) {
	srv, _ := fakeDeviceServer(t, [2]any{400, `{}`})
	ctx, cancel := context.WithCancel(context.Background())
	open := func(string) error { cancel(); return nil }
	start := time.Now()
	_, err := BrowserLogin(ctx, Options{OAuthURL: srv.URL, ClientID: "id", RedirectURI: "http://127.0.0.1:0/cb"}, open, io.Discard)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrLoginTimeout) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("took %v to stop", time.Since(start))
	}
	for _, bad := range []string{"https://127.0.0.1:1/cb", "http://example.com:80/cb", "http://127.0.0.1/cb"} {
		if _, err := BrowserLogin(context.Background(), Options{ClientID: "id", RedirectURI: bad}, nil, io.Discard); !errors.Is(err, ErrInvalidSetting) {
			t.Errorf("redirect_uri %q accepted", bad)
		}
	}
}

func TestDefaultDeviceIDIsStableAndValid(t *testing.T) {
	a, b := defaultDeviceID(), defaultDeviceID()
	if a != b {
		t.Fatalf("device id not stable: %q vs %q", a, b)
	}
	if len(a) < 6 || len(a) > 50 {
		t.Errorf("device id %q: length %d outside 6–50 (§8.1)", a, len(a))
	}
	for _, r := range a {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) {
			t.Errorf("device id %q has a non-printable-ASCII rune %q", a, r)
		}
	}
	if n := defaultDeviceName(); len(n) > 100 || !strings.HasPrefix(n, "yasyncd on ") {
		t.Errorf("device name %q", n)
	}
}
