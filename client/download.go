package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"go.uber.org/zap"
)

// maxLinkRefreshes is how often Download asks for a new link when the old one is
// refused (403/404/410: expired or revoked signature).
const maxLinkRefreshes = 3

// Download streams the file p to w and returns the bytes written. When the body ends
// early (a cut connection, a body shorter than its Content-Length, a stall) it resumes
// with `Range: bytes=<n>-`, skipping the first n bytes itself if the server answers 200
// instead of 206, and asks for a new link when the old one is refused. It never writes
// more than the file's bytes. ErrTruncated when the file could not be completed; errors
// of w are returned as they are, without retry.
func (c *Client) Download(ctx context.Context, p string, w io.Writer) (int64, error) {
	p = Abs(p)
	n, err := c.download(ctx, p, w)
	if err != nil {
		return n, fmt.Errorf("download %s: %w", p, err)
	}
	return n, nil
}

func (c *Client) download(ctx context.Context, p string, w io.Writer) (int64, error) {
	href, err := c.downloadLink(ctx, p)
	if err != nil {
		return 0, err
	}
	var written int64
	total := int64(-1)
	var st retryState
	refreshes := 0
	for attempt := 1; ; attempt++ {
		n, tot, err := c.fetch(ctx, p, href, written, total, w, attempt)
		written += n
		if tot >= 0 {
			total = tot
		}
		if err == nil {
			return written, nil
		}
		var we *writeError
		if errors.As(err, &we) || errors.Is(err, errFileChanged) {
			return written, err
		}
		if ctx.Err() != nil {
			return written, ctx.Err()
		}
		if linkRefused(err) && refreshes < maxLinkRefreshes {
			refreshes++
			c.log.Debug("download link refused, asking for a new one", zap.String("op", "download"),
				zap.String("remote_path", p), zap.Int("attempt", attempt), zap.Error(err))
			if href, err = c.downloadLink(ctx, p); err != nil {
				return written, err
			}
			continue
		}
		wait, again := c.next(ctx, &st, err)
		if !again {
			var apiErr *Error
			if written > 0 || !errors.As(err, &apiErr) {
				return written, fmt.Errorf("got %d of %s bytes: %w: %w", written, sizeText(total), ErrTruncated, err)
			}
			return written, err
		}
		c.log.Debug("resuming download", zap.String("op", "download"), zap.String("remote_path", p),
			zap.Int64("bytes", written), zap.Int("attempt", attempt), zap.Duration("wait", wait), zap.Error(err))
		if err := c.sleep(ctx, wait); err != nil {
			return written, err
		}
	}
}

func sizeText(total int64) string {
	if total < 0 {
		return "unknown"
	}
	return strconv.FormatInt(total, 10)
}

// linkRefused reports the answers of a download host to an expired or revoked link.
func linkRefused(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Status == http.StatusForbidden || e.Status == http.StatusNotFound || e.Status == http.StatusGone)
}

// downloadLink asks for a download link (§4.1).
func (c *Client) downloadLink(ctx context.Context, p string) (string, error) {
	var link Link
	if err := c.get(ctx, "download_link", p, "/v1/disk/resources/download", url.Values{"path": {p}}, &link); err != nil {
		return "", err
	}
	if link.Href == "" {
		return "", errors.New("download link without href")
	}
	return link.Href, nil
}

// errFileChanged: a resumed download found a file of another size; its bytes cannot be
// spliced onto what was written.
var errFileChanged = errors.New("file changed during download")

// errShortBody: the body ended before the announced length. It wraps io.ErrUnexpectedEOF
// so that it is retried (resumed) like a cut connection.
var errShortBody = fmt.Errorf("body ended early: %w", io.ErrUnexpectedEOF)

// writeError is a failure of the caller's writer.
type writeError struct{ err error }

func (e *writeError) Error() string { return "write: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

type checkedWriter struct {
	w   io.Writer
	err error
}

func (cw *checkedWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	if err != nil {
		cw.err = err
	}
	return n, err
}

// fetch makes one GET of the download link from offset on and copies the body to w.
// It returns the bytes written and the file's total size when the answer told it.
func (c *Client) fetch(ctx context.Context, p, href string, offset, total int64, w io.Writer, attempt int) (int64, int64, error) {
	u, err := transferURL(href)
	if err != nil {
		return 0, -1, err
	}
	release, err := c.acquire(ctx)
	if err != nil {
		return 0, -1, err
	}
	defer release()
	tctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	dog := newWatchdog(c.opts.TransferIdleTimeout, cancel)
	defer dog.stop()
	req, err := http.NewRequestWithContext(tctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, -1, errors.New("build download request")
	}
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
	}
	// The raw bytes with their exact Content-Length: transparent gzip would hide the
	// length that tells a complete body from a cut one, and break Range offsets.
	req.Header.Set("Accept-Encoding", "identity")
	if c.opts.UserAgent != "" {
		req.Header.Set("User-Agent", c.opts.UserAgent)
	}
	resp, err := c.transfer.Do(req)
	if err != nil {
		return 0, -1, c.transferErr(ctx, tctx, http.MethodGet, err)
	}
	defer resp.Body.Close()
	c.log.Debug("download request", zap.String("op", "download"), zap.String("remote_path", p),
		zap.Int("status", resp.StatusCode), zap.Int("attempt", attempt), zap.Int64("bytes", offset))
	body := &kickReader{r: resp.Body, kick: dog.kick}
	tot := int64(-1)
	skip := int64(0)
	switch resp.StatusCode {
	case http.StatusOK:
		tot = resp.ContentLength
		skip = offset // the server ignored Range
	case http.StatusPartialContent:
		start, t, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start > offset {
			return 0, -1, &Error{Status: http.StatusBadGateway, Description: "unusable Content-Range in a 206 answer"}
		}
		skip, tot = offset-start, t
		if tot < 0 && resp.ContentLength >= 0 {
			tot = start + resp.ContentLength
		}
	case http.StatusRequestedRangeNotSatisfiable:
		if total >= 0 && offset >= total {
			return 0, total, nil
		}
		fallthrough
	default:
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return 0, -1, decodeError(resp, data)
	}
	if total >= 0 && tot >= 0 && tot != total {
		return 0, tot, fmt.Errorf("size was %d, is %d: %w", total, tot, errFileChanged)
	}
	if tot < 0 {
		tot = total
	}
	if skip > 0 {
		if _, err := io.CopyN(io.Discard, body, skip); err != nil {
			return 0, tot, c.transferErr(ctx, tctx, http.MethodGet, err)
		}
	}
	var src io.Reader = body
	if tot >= 0 {
		src = io.LimitReader(body, tot-offset) // never more than the file's bytes
	}
	cw := &checkedWriter{w: w}
	n, err := io.Copy(cw, src)
	if cw.err != nil {
		return n, tot, &writeError{cw.err}
	}
	if err != nil {
		return n, tot, c.transferErr(ctx, tctx, http.MethodGet, err)
	}
	if tot >= 0 && offset+n < tot {
		return n, tot, errShortBody
	}
	return n, tot, nil
}

// parseContentRange reads "bytes <start>-<end>/<total|*>"; total is -1 for "*".
func parseContentRange(v string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(v), "bytes ")
	if !found {
		return 0, 0, false
	}
	span, size, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	first, _, found := strings.Cut(span, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(strings.TrimSpace(first), 10, 64)
	if err != nil || start < 0 {
		return 0, 0, false
	}
	if size = strings.TrimSpace(size); size == "*" {
		return start, -1, true
	}
	total, err = strconv.ParseInt(size, 10, 64)
	if err != nil || total < start {
		return 0, 0, false
	}
	return start, total, true
}

// transferErr turns a transport or body error of a transfer into one without its URL,
// telling the caller's cancellation apart from our stall watchdog.
func (c *Client) transferErr(ctx, tctx context.Context, method string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if cause := context.Cause(tctx); errors.Is(cause, errStalled) {
		return fmt.Errorf("%w: %w", errStalled, redact(method, err))
	}
	return redact(method, err)
}

// kickReader tells the watchdog about every read that moved bytes.
type kickReader struct {
	r    io.Reader
	kick func()
}

func (k *kickReader) Read(p []byte) (int, error) {
	n, err := k.r.Read(p)
	if n > 0 {
		k.kick()
	}
	return n, err
}

// watchdog cancels a transfer that made no progress for its interval.
type watchdog struct {
	mu    gosync.Mutex
	d     time.Duration
	timer *time.Timer
}

func newWatchdog(d time.Duration, cancel context.CancelCauseFunc) *watchdog {
	return &watchdog{d: d, timer: time.AfterFunc(d, func() { cancel(errStalled) })}
}

// kick restarts the interval after progress.
func (w *watchdog) kick() {
	w.mu.Lock()
	w.timer.Reset(w.d)
	w.mu.Unlock()
}

// reset sets a new interval (the wait for the server's answer after an upload's last
// byte) and restarts it.
func (w *watchdog) reset(d time.Duration) {
	w.mu.Lock()
	w.d = d
	w.timer.Reset(d)
	w.mu.Unlock()
}

func (w *watchdog) stop() { w.timer.Stop() }
