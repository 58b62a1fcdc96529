package yandexid

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// FuzzTokenEndpoint feeds /token arbitrary bodies and Authorization headers: every answer
// must be a JSON token (200) or an OAuth error (400) with exactly the documented keys
// (§8.1, §8.5), never a panic or another shape.
func FuzzTokenEndpoint(f *testing.F) {
	f.Add("grant_type=device_code&code=7d5e56d231be4af1b3d87890f4eb6073&client_id=a", "")
	f.Add("grant_type=authorization_code&code=5320215&client_id=a&client_secret=b", "Basic YTpi")
	f.Add("grant_type=refresh_token&refresh_token=1:x:y:z", "Basic %%%")
	f.Add("grant_type=refresh_token&grant_type=x", "Bearer t")
	f.Add("%zz&=&&client_id=", "basic")
	f.Add("grant_type=refresh_token&refresh_token=REFRESH&client_id=a&client_secret=b", "")
	f.Fuzz(func(t *testing.T, body, authorization string) {
		s := New(Options{ClientSecret: "b", AutoApprove: true})
		_, refresh := s.IssueToken(0)
		body = strings.ReplaceAll(body, "REFRESH", refresh)
		req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)

		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("status %d, body is not JSON: %q", rec.Code, rec.Body.Bytes())
		}
		keys := sortedMapKeys(m)
		switch rec.Code {
		case http.StatusOK:
			if !slices.Equal(keys, []string{"access_token", "expires_in", "refresh_token", "token_type"}) {
				t.Fatalf("token keys %v", keys)
			}
		case http.StatusBadRequest:
			if !slices.Equal(keys, []string{"error", "error_description"}) {
				t.Fatalf("error keys %v", keys)
			}
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body.Bytes())
		}
	})
}
