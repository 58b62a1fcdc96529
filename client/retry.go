package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// maxRetryAfter caps a server's Retry-After so that a bogus value cannot park a call
// for hours; the caller's context can always cut it shorter.
const maxRetryAfter = 10 * time.Minute

// maxErrorBody is how much of an error body is read for decoding.
const maxErrorBody = 64 << 10

// errStalled is the cause set when a transfer moved no byte for TransferIdleTimeout, and
// errAttemptTimeout when one API attempt took longer than RequestTimeout. Both are ours,
// not the caller's, so they are retried.
var (
	errStalled        = errors.New("transfer stalled")
	errAttemptTimeout = errors.New("request timed out")
)

// decodeError turns a non-2xx answer into an *Error. JSON bodies are decoded whatever
// their key order; HTML (download host), empty or truncated bodies leave only the status.
func decodeError(resp *http.Response, body []byte) *Error {
	e := &Error{Status: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	var wire struct {
		Error       string `json:"error"`
		Description string `json:"description"`
		Message     string `json:"message"`
	}
	if len(body) > 0 && json.Unmarshal(body, &wire) == nil {
		e.Code, e.Description, e.Message = wire.Error, wire.Description, wire.Message
	}
	return e
}

// parseRetryAfter reads Retry-After as seconds or as an HTTP date; zero when absent,
// malformed or in the past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d <= 0 {
			return 0
		}
		return min(d, maxRetryAfter)
	}
	return 0
}

// backoff is the wait before retry number attempt (1-based): exponential from base,
// capped at maxD, with "equal jitter" (half fixed, half random) so that clients that
// failed together do not come back together, while the wait still grows.
func backoff(attempt int, base, maxD time.Duration) time.Duration {
	d := base
	for i := 1; i < attempt && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	half := d / 2
	return half + rand.N(d-half+1)
}

// lockedDelay is the wait before retrying a 423: uniform in [lo, hi].
func lockedDelay(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + rand.N(hi-lo+1)
}

// retryable reports whether a failed attempt may succeed if repeated unchanged: 429 and
// 5xx except 507, and transient transport failures. 423 is handled apart (its own budget).
// ctx is the caller's context: once it is done nothing is retried.
func retryable(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return apiErr.Status == http.StatusTooManyRequests ||
			(apiErr.Status >= 500 && apiErr.Status != http.StatusInsufficientStorage)
	}
	return transientTransport(err)
}

// transientTransport reports whether err is a network failure worth another attempt.
// Errors that are not network failures (a token source that cannot refresh, a TLS
// certificate the system does not trust) fail at once: repeating them only delays the
// message the user must act on.
func transientTransport(err error) bool {
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr):
		return false
	case errors.Is(err, errStalled), errors.Is(err, errAttemptTimeout),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		// The caller's ctx was checked before: these are our own per-attempt limits.
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH):
		return true
	}
	var netErr net.Error // *net.OpError, *net.DNSError, timeouts
	if errors.As(unwrapURL(err), &netErr) {
		return true
	}
	// Errors the HTTP stack reports only as text: a server that closed a kept-alive
	// connection, HTTP/2 stream resets and GOAWAYs.
	msg := err.Error()
	for _, s := range []string{"server closed idle connection", "connection reset", "broken pipe",
		"http2: server sent GOAWAY", "stream error", "unexpected EOF", "transport connection broken"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// unwrapURL drops the *url.Error layer: it is itself a net.Error whatever it wraps, and
// its text carries the URL.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// maybeApplied reports whether a failed attempt may have been carried out by the server:
// a 5xx, or a transport failure after the connection was made. A refused connection or a
// 429/423 was not applied.
func maybeApplied(err error) bool {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return apiErr.Status >= 500
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return false
	}
	return !errors.Is(err, syscall.ECONNREFUSED)
}

// redact strips the URL from a transport error (its text would otherwise carry signed
// links) while keeping the cause for errors.Is/As.
func redact(method string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &transportError{method: method, err: ue.Err}
	}
	return err
}

// transportError is a failed HTTP exchange, without its URL.
type transportError struct {
	method string
	err    error
}

func (e *transportError) Error() string { return fmt.Sprintf("%s request: %v", e.method, e.err) }
func (e *transportError) Unwrap() error { return e.err }

// retryWait decides the wait before repeating a failed attempt: Retry-After when the
// server sent one and it is longer than the backoff.
func (c *Client) retryWait(err error, retry int) time.Duration {
	d := backoff(retry, c.opts.RetryBaseDelay, c.opts.RetryMaxDelay)
	var apiErr *Error
	if errors.As(err, &apiErr) && apiErr.RetryAfter > d {
		d = apiErr.RetryAfter
	}
	return d
}

// lockedWait is the wait before repeating after a 423.
func (c *Client) lockedWait(err error) time.Duration {
	d := lockedDelay(c.opts.LockedDelayMin, c.opts.LockedDelayMax)
	var apiErr *Error
	if errors.As(err, &apiErr) && apiErr.RetryAfter > d {
		d = apiErr.RetryAfter
	}
	return d
}

// isLocked reports a 423.
func isLocked(err error) bool { return errors.Is(err, ErrLocked) }

// retryState counts the retries of one logical request: the general budget (429, 5xx,
// transport) and the separate one for 423.
type retryState struct {
	retries, locked int
	applied         bool // an earlier attempt may have been carried out
}

// next decides whether to repeat after err and how long to wait first.
func (c *Client) next(ctx context.Context, st *retryState, err error) (time.Duration, bool) {
	if ctx.Err() != nil || c.closed.Load() {
		return 0, false
	}
	if isLocked(err) {
		if st.locked >= c.opts.LockedRetries {
			return 0, false
		}
		st.locked++
		return c.lockedWait(err), true
	}
	if !retryable(ctx, err) || st.retries >= c.opts.MaxRetries {
		return 0, false
	}
	st.retries++
	if maybeApplied(err) {
		st.applied = true
	}
	return c.retryWait(err, st.retries), true
}
