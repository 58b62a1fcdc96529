package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

var allSentinels = []error{ErrNotFound, ErrConflict, ErrAlreadyExists, ErrParentMissing, ErrMD5Differ,
	ErrLocked, ErrRateLimited, ErrUnauthorized, ErrForbidden, ErrInsufficientStorage, ErrPayloadTooLarge,
	ErrBadRequest, ErrServer}

func TestErrorClassification(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   string
		want   []error
		temp   bool
		retry  bool
	}{
		{400, "FieldValidationError", []error{ErrBadRequest}, false, false},
		{401, "UnauthorizedError", []error{ErrUnauthorized}, false, false},
		{403, "DiskUnsupportedUserAccountTypeError", []error{ErrForbidden}, false, false},
		{404, "DiskNotFoundError", []error{ErrNotFound}, false, false},
		{409, "DiskPathDoesntExistsError", []error{ErrConflict, ErrParentMissing}, false, false},
		{409, "DiskPathPointsToExistentDirectoryError", []error{ErrConflict, ErrAlreadyExists}, false, false},
		{409, "DiskResourceAlreadyExistsError", []error{ErrConflict, ErrAlreadyExists}, false, false},
		{409, "MD5DifferError", []error{ErrConflict, ErrMD5Differ}, false, false},
		{409, "SomethingNew", []error{ErrConflict}, false, false},
		{410, "", nil, false, false},
		{413, "", []error{ErrPayloadTooLarge}, false, false},
		{423, "DiskResourceLockedError", []error{ErrLocked}, true, false},
		{429, "TooManyRequestsError", []error{ErrRateLimited}, true, true},
		{500, "", []error{ErrServer}, true, true},
		{502, "", []error{ErrServer}, true, true},
		{503, "", []error{ErrServer}, true, true},
		{504, "", []error{ErrServer}, true, true},
		{507, "DiskStorageQuotaExhaustedError", []error{ErrInsufficientStorage}, false, false},
	} {
		e := &Error{Status: tc.status, Code: tc.code}
		wrapped := fmt.Errorf("op disk:/x: %w", e)
		for _, s := range allSentinels {
			want := false
			for _, w := range tc.want {
				want = want || w == s
			}
			if got := errors.Is(wrapped, s); got != want {
				t.Errorf("%d %s: Is(%v) = %v, want %v", tc.status, tc.code, s, got, want)
			}
		}
		if e.Temporary() != tc.temp {
			t.Errorf("%d: Temporary = %v", tc.status, e.Temporary())
		}
		if got := retryable(context.Background(), wrapped); got != tc.retry {
			t.Errorf("%d: retryable = %v", tc.status, got)
		}
		if !strings.Contains(wrapped.Error(), fmt.Sprint(tc.status)) {
			t.Errorf("%d: text %q", tc.status, wrapped.Error())
		}
	}
}

func TestDecodeErrorBodies(t *testing.T) {
	h := http.Header{"Retry-After": {"7"}}
	for _, tc := range []struct {
		name, body, code string
	}{
		{"key order error first", `{"error":"DiskNotFoundError","description":"Resource not found.","message":"x"}`, "DiskNotFoundError"},
		{"key order message first", `{"message":"x","description":"Resource not found.","error":"DiskNotFoundError"}`, "DiskNotFoundError"},
		{"extra keys", `{"error":"DiskNotFoundError","reason":1,"description":"Resource not found.","message":"x"}`, "DiskNotFoundError"},
		{"html", `<html><body><h1>404 Not Found</h1></body></html>`, ""},
		{"empty", ``, ""},
		{"truncated json", `{"error":"DiskNot`, ""},
	} {
		e := decodeError(&http.Response{StatusCode: 404, Header: h}, []byte(tc.body))
		if e.Status != 404 || e.Code != tc.code || !errors.Is(e, ErrNotFound) || e.RetryAfter != 7*time.Second {
			t.Errorf("%s: %+v", tc.name, e)
		}
		if tc.code == "" && e.Error() != "404: Not Found" {
			t.Errorf("%s: text %q", tc.name, e.Error())
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-3", 0},
		{"5", 5 * time.Second},
		{" 12 ", 12 * time.Second},
		{"999999", maxRetryAfter},
		{"soon", 0},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), maxRetryAfter},
	} {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestBackoffBounded(t *testing.T) {
	base, maxD := 500*time.Millisecond, 30*time.Second
	prevHi := time.Duration(0)
	for attempt := 1; attempt <= 40; attempt++ {
		hi := min(base<<min(attempt-1, 20), maxD)
		for range 200 {
			d := backoff(attempt, base, maxD)
			if d < hi/2 || d > hi {
				t.Fatalf("attempt %d: %v outside [%v, %v]", attempt, d, hi/2, hi)
			}
		}
		if hi < prevHi {
			t.Fatalf("attempt %d: bound shrank", attempt)
		}
		prevHi = hi
	}
	for range 200 {
		if d := lockedDelay(1500*time.Millisecond, 3*time.Second); d < 1500*time.Millisecond || d > 3*time.Second {
			t.Fatalf("locked delay %v", d)
		}
	}
}

func TestTransportErrorsRetryable(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{io.ErrUnexpectedEOF, true},
		{io.EOF, true},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{syscall.ECONNREFUSED, true},
		{errStalled, true},
		{fmt.Errorf("%w: x", errAttemptTimeout), true},
		{errors.New("oauth2: token expired and refresh token is not set"), false},
		{&Error{Status: 507}, false},
		{&Error{Status: 413}, false},
		{&Error{Status: 423}, false}, // has its own budget
	} {
		if got := retryable(ctx, tc.err); got != tc.want {
			t.Errorf("retryable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if retryable(cancelled, io.ErrUnexpectedEOF) || retryable(cancelled, &Error{Status: 503}) {
		t.Error("retryable after the caller cancelled")
	}
}

// FuzzDecodeError: whatever a server or proxy sends, the error keeps its status and its
// class, and decoding never fails.
func FuzzDecodeError(f *testing.F) {
	for _, name := range []string{"error-401.json", "error-403-password.json", "error-404.json",
		"error-404-operation.json", "error-409.json", "error-409-dir-exists.json"} {
		f.Add(409, readFixture(f, name), "")
	}
	f.Add(500, []byte("<html>nginx</html>"), "3")
	f.Add(429, []byte(""), "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add(404, []byte(`{"error":5}`), "x")
	f.Fuzz(func(t *testing.T, status int, body []byte, retryAfter string) {
		if status < 100 || status > 599 {
			return
		}
		e := decodeError(&http.Response{StatusCode: status, Header: http.Header{"Retry-After": {retryAfter}}}, body)
		if e.Status != status || e.RetryAfter < 0 || e.RetryAfter > maxRetryAfter || e.Error() == "" {
			t.Fatalf("%+v", e)
		}
		if errors.Is(e, ErrNotFound) != (status == 404) || errors.Is(e, ErrServer) != (status >= 500 && status != 507) {
			t.Fatalf("class of %d", status)
		}
	})
}
