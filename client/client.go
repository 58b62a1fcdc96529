package client

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"
)

// DefaultAPIURL is the origin of the Disk REST API.
const DefaultAPIURL = "https://cloud-api.yandex.net"

// Options configures a Client. Zero values take the documented defaults.
type Options struct {
	// APIURL is the API origin; the client appends /v1/disk/... Default DefaultAPIURL.
	// Plain http:// is accepted only for loopback hosts (tests, the emulator).
	APIURL string
	// HTTPClient sends API calls. Its Transport adds `Authorization: OAuth <token>` (the
	// auth package provides it). Default: a plain client.
	HTTPClient *http.Client
	// TransferClient fetches and fills signed upload/download links. No Authorization
	// header must be added there. Default: dial/TLS timeouts, no overall timeout.
	TransferClient *http.Client
	// MaxConcurrent bounds the requests in flight (API calls and transfers). Default 8.
	MaxConcurrent int
	// RequestsPerSecond limits the request rate. Default 20; <0 = unlimited.
	RequestsPerSecond float64
	// MaxRetries is how often a failed request is repeated (429, 5xx, connection errors).
	// Default 6; <0 = never.
	MaxRetries int
	// RetryBaseDelay and RetryMaxDelay bound the exponential backoff. Default 500ms, 30s.
	RetryBaseDelay, RetryMaxDelay time.Duration
	// LockedRetries is how often a 423 (resource locked) is retried, waiting a random
	// time between LockedDelayMin and LockedDelayMax. Default 3, 1.5s, 3s; <0 = never.
	LockedRetries                  int
	LockedDelayMin, LockedDelayMax time.Duration
	// OperationTimeout bounds the polling of one asynchronous operation. Default 30m.
	OperationTimeout time.Duration
	// ListPageSize is the page size of listings. Default 1000.
	ListPageSize int
	// ListConcurrency is how many folders Walk lists at once. Default 4.
	ListConcurrency int
	// RequestTimeout bounds one API attempt (not transfers). Default 2m.
	RequestTimeout time.Duration
	// TransferIdleTimeout aborts (and retries) a transfer that moved no byte for this
	// long. After an upload's last byte the server hashes the file before it answers, so
	// the wait for that answer is allowed 2 minutes per GiB on top (§3.2). Default 2m.
	TransferIdleTimeout time.Duration
	// UserAgent is sent with every request when set.
	UserAgent string
	// Logger receives debug lines per request. nil = zap.NewNop().
	Logger *zap.Logger
}

// Client is a Yandex Disk REST client. It is safe for concurrent use.
type Client struct {
	opts     Options
	base     *url.URL // API origin, no trailing slash
	api      *http.Client
	transfer *http.Client
	owned    []*http.Transport // transports built here, closed by Close
	log      *zap.Logger
	limiter  *rate.Limiter
	sem      chan struct{}
	closed   atomic.Bool

	// sleep waits d or until ctx is done; tests replace it to observe waits.
	sleep func(ctx context.Context, d time.Duration) error

	infoMu      gosync.Mutex
	maxFileSize int64 // from DiskInfo; 0 = not known yet
	infoTried   bool  // Upload asked for DiskInfo once already
}

// New validates opts and returns a Client. It starts no goroutine.
func New(opts Options) (*Client, error) {
	if opts.APIURL == "" {
		opts.APIURL = DefaultAPIURL
	}
	base, err := parseOrigin(opts.APIURL)
	if err != nil {
		return nil, err
	}
	setDefaults(&opts)
	c := &Client{
		opts:  opts,
		base:  base,
		log:   opts.Logger,
		sem:   make(chan struct{}, opts.MaxConcurrent),
		sleep: sleepCtx,
	}
	if c.log == nil {
		c.log = zap.NewNop()
	}
	c.api = opts.HTTPClient
	if c.api == nil {
		t := newTransport()
		c.owned = append(c.owned, t)
		c.api = &http.Client{Transport: t}
	}
	c.transfer = opts.TransferClient
	if c.transfer == nil {
		t := newTransport()
		c.owned = append(c.owned, t)
		c.transfer = &http.Client{Transport: t}
	}
	if opts.RequestsPerSecond < 0 {
		c.limiter = rate.NewLimiter(rate.Inf, 0)
	} else {
		c.limiter = rate.NewLimiter(rate.Limit(opts.RequestsPerSecond), max(1, int(math.Ceil(opts.RequestsPerSecond))))
	}
	return c, nil
}

func setDefaults(o *Options) {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 8
	}
	if o.RequestsPerSecond == 0 {
		o.RequestsPerSecond = 20
	}
	switch {
	case o.MaxRetries == 0:
		o.MaxRetries = 6
	case o.MaxRetries < 0:
		o.MaxRetries = 0
	}
	switch {
	case o.LockedRetries == 0:
		o.LockedRetries = 3
	case o.LockedRetries < 0:
		o.LockedRetries = 0
	}
	def(&o.RetryBaseDelay, 500*time.Millisecond)
	def(&o.RetryMaxDelay, 30*time.Second)
	if o.RetryMaxDelay < o.RetryBaseDelay {
		o.RetryMaxDelay = o.RetryBaseDelay
	}
	def(&o.LockedDelayMin, 1500*time.Millisecond)
	def(&o.LockedDelayMax, 3*time.Second)
	if o.LockedDelayMax < o.LockedDelayMin {
		o.LockedDelayMax = o.LockedDelayMin
	}
	def(&o.OperationTimeout, 30*time.Minute)
	def(&o.RequestTimeout, 2*time.Minute)
	def(&o.TransferIdleTimeout, 2*time.Minute)
	if o.ListPageSize <= 0 {
		o.ListPageSize = 1000
	}
	if o.ListConcurrency <= 0 {
		o.ListConcurrency = 4
	}
}

// newTransport is the default transport: bounded dial, TLS and header waits, no overall
// timeout, because a multi-GiB transfer legitimately takes hours.
func newTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          32,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
}

// parseOrigin checks the API origin: https, or plain http for loopback hosts only, since
// the token travels in every request.
func parseOrigin(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("api_url %q: %w", raw, err)
	}
	if u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("api_url %q: want an origin like https://cloud-api.yandex.net", raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("api_url %q: plain http is allowed only for loopback hosts; use https://: %w", raw, ErrInsecureOrigin)
		}
	default:
		return nil, fmt.Errorf("api_url %q: scheme must be https: %w", raw, ErrInsecureOrigin)
	}
	u.Path = ""
	return u, nil
}

// isLoopback reports whether host is localhost, 127.0.0.0/8 or ::1.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Close releases idle connections of the transports the client built itself. Calls made
// after Close fail with ErrClosed; calls in flight finish normally. Close is idempotent.
func (c *Client) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	for _, t := range c.owned {
		t.CloseIdleConnections()
	}
	return nil
}

// sleepCtx waits d, or returns ctx's error as soon as ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// acquire takes a rate-limiter token and a concurrency slot; release gives the slot back.
func (c *Client) acquire(ctx context.Context) (release func(), err error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	if err := c.limiter.Wait(ctx); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	select {
	case c.sem <- struct{}{}:
		return func() { <-c.sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// apiURL builds an API URL from a path below the origin and a query.
func (c *Client) apiURL(p string, q url.Values) string {
	u := *c.base
	u.Path = p
	u.RawQuery = q.Encode()
	return u.String()
}
