package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"go.uber.org/zap"
)

// maxBody bounds a success body read into memory: a 1000-item listing is about 1–2 MB.
const maxBody = 64 << 20

// call is one logical API request, repeated as its retry policy allows.
type call struct {
	op     string // names the call in logs ("stat", "mkdir"...)
	path   string // the Disk path it is about, for logs
	method string
	url    string
	body   []byte // JSON body; kept in memory so that every attempt can resend it
}

// result is what a finished call reports besides its decoded body.
type result struct {
	status int
	// applied: an earlier attempt failed in a way that may have been carried out by the
	// server, so an error answer to a later attempt must be read in that light.
	applied bool
}

// do runs c with retries and decodes a 2xx JSON body into out (when out is non-nil and
// the body is not empty). A non-2xx answer comes back as *Error, unwrapped: the public
// methods wrap it with their name and path.
func (c *Client) do(ctx context.Context, cl *call, out any) (result, error) {
	var st retryState
	for attempt := 1; ; attempt++ {
		status, err := c.attempt(ctx, cl, attempt, out)
		if err == nil {
			return result{status: status, applied: st.applied}, nil
		}
		wait, again := c.next(ctx, &st, err)
		if !again {
			if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
				err = ctx.Err()
			}
			return result{status: status, applied: st.applied}, err
		}
		c.log.Debug("retrying api request", zap.String("op", cl.op), zap.String("remote_path", cl.path),
			zap.Int("status", status), zap.Int("attempt", attempt), zap.Duration("wait", wait), zap.Error(err))
		if err := c.sleep(ctx, wait); err != nil {
			return result{status: status, applied: st.applied}, err
		}
	}
}

// attempt sends cl once and returns the HTTP status (0 when none arrived).
func (c *Client) attempt(ctx context.Context, cl *call, n int, out any) (int, error) {
	release, err := c.acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer release()
	actx, cancel := context.WithTimeoutCause(ctx, c.opts.RequestTimeout, errAttemptTimeout)
	defer cancel()
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(actx, cl.method, cl.url, body)
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if cl.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.opts.UserAgent != "" {
		req.Header.Set("User-Agent", c.opts.UserAgent)
	}
	resp, err := c.api.Do(req)
	if err != nil {
		err = c.attemptErr(ctx, actx, cl.method, err)
		c.log.Debug("api request failed", zap.String("op", cl.op), zap.String("remote_path", cl.path),
			zap.Int("attempt", n), zap.Error(err))
		return 0, err
	}
	defer resp.Body.Close()
	c.log.Debug("api request", zap.String("op", cl.op), zap.String("remote_path", cl.path),
		zap.Int("status", resp.StatusCode), zap.Int("attempt", n))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return resp.StatusCode, decodeError(resp, data)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return resp.StatusCode, c.attemptErr(ctx, actx, cl.method, err)
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			// A 2xx whose body is not the JSON we expect (a proxy page, a body cut at
			// maxBody) is a server fault, worth a retry.
			return resp.StatusCode, &Error{Status: http.StatusBadGateway,
				Description: fmt.Sprintf("undecodable %d answer: %v", resp.StatusCode, err)}
		}
	}
	return resp.StatusCode, nil
}

// attemptErr turns a transport error into one that carries no URL and tells the caller's
// cancellation apart from our own per-attempt limits.
func (c *Client) attemptErr(ctx, actx context.Context, method string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if cause := context.Cause(actx); cause != nil && !errors.Is(cause, context.Canceled) {
		return fmt.Errorf("%w: %w", cause, redact(method, err))
	}
	return redact(method, err)
}

// get is a retried GET of an API path.
func (c *Client) get(ctx context.Context, op, p, endpoint string, q url.Values, out any) error {
	_, err := c.do(ctx, &call{op: op, path: p, method: http.MethodGet, url: c.apiURL(endpoint, q)}, out)
	return err
}

// linkURL returns an API link (an operation href) as a URL to call with the API client.
// http:// is upgraded to https:// unless the host is loopback (§1.6, §9.10). The token
// goes with every API call, so a link to any host other than the configured origin is
// rebased onto the origin: only its path and query are kept.
func (c *Client) linkURL(href string) (string, error) {
	u, err := url.Parse(href)
	if err != nil || u.Path == "" {
		return "", errors.New("invalid link in the server's answer")
	}
	upgradeScheme(u)
	if !strings.EqualFold(u.Host, c.base.Host) || u.Scheme != c.base.Scheme || u.User != nil {
		u.Scheme, u.Host, u.User = c.base.Scheme, c.base.Host, nil
	}
	u.Fragment = ""
	return u.String(), nil
}

// transferURL validates a signed upload/download link: absolute http(s), upgraded to
// https unless the host is loopback. The error never repeats the link.
func transferURL(href string) (*url.URL, error) {
	u, err := url.Parse(href)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, errors.New("invalid transfer link in the server's answer")
	}
	upgradeScheme(u)
	return u, nil
}

// upgradeScheme turns http into https unless the host is loopback.
func upgradeScheme(u *url.URL) {
	if strings.EqualFold(u.Scheme, "http") && !isLoopback(u.Hostname()) {
		u.Scheme = "https"
	}
}
