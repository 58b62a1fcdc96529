package client

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strconv"
	gosync "sync"
	"time"

	"go.uber.org/zap"
)

// settleStats is how many times Upload re-reads a file that is not listed yet right after
// a successful upload (§9.2) before it returns without the Resource.
const settleStats = 8

// Upload streams size bytes of body to the file p (never buffering the whole file),
// hashing them on the way: asks for a link (GET /resources/upload), PUTs the body with
// Content-Length = size, polls the upload operation to success, then reads the file back
// and compares size and hashes (ErrUploadMismatch, with the result). Failed PUTs are
// retried with a new link, and only when body is an io.Seeker: it is rewound to where it
// was when Upload was called. A body shorter or longer than size is ErrTruncated and
// never completes the PUT. A file over the account's max_file_size is ErrPayloadTooLarge
// before anything is sent. Without opts.Overwrite an existing file is ErrAlreadyExists.
func (c *Client) Upload(ctx context.Context, p string, body io.Reader, size int64, opts UploadOptions) (*UploadResult, error) {
	p = Abs(p)
	res, err := c.upload(ctx, p, body, size, opts)
	if err != nil {
		return res, fmt.Errorf("upload %s: %w", p, err)
	}
	return res, nil
}

func (c *Client) upload(ctx context.Context, p string, body io.Reader, size int64, opts UploadOptions) (*UploadResult, error) {
	if size < 0 {
		return nil, fmt.Errorf("invalid size %d", size)
	}
	limit, err := c.cachedMaxFileSize(ctx)
	if err != nil {
		return nil, err
	}
	if limit > 0 && size > limit {
		return nil, fmt.Errorf("%d bytes is over the account's max_file_size of %d bytes: %w", size, limit, ErrPayloadTooLarge)
	}
	seeker, rewindable := body.(io.Seeker)
	var start int64
	if rewindable {
		if start, err = seeker.Seek(0, io.SeekCurrent); err != nil {
			rewindable = false
		}
	}
	var st retryState
	var sent *UploadResult // the last attempt whose whole body went out
	for attempt := 1; ; attempt++ {
		link, err := c.uploadLink(ctx, p, opts.Overwrite)
		if err != nil {
			if st.applied && sent != nil && errors.Is(err, ErrAlreadyExists) {
				// An earlier PUT failed in transit but landed: accept it if it is ours.
				res, ferr := c.finishUpload(ctx, p, sent)
				if !errors.Is(ferr, ErrUploadMismatch) {
					return res, ferr
				}
			}
			return nil, err
		}
		res, err := c.put(ctx, p, link, body, size, attempt)
		if err == nil && link.OperationID != "" {
			err = c.waitUploadOperation(ctx, p, link.OperationID)
		}
		if err == nil {
			return c.finishUpload(ctx, p, res)
		}
		if res != nil && res.Bytes == size {
			sent = res
		}
		if errors.Is(err, ErrTruncated) || errors.Is(err, errSource) || !rewindable {
			return nil, err
		}
		var wait time.Duration
		again := false
		if errors.Is(err, ErrOperationFailed) {
			// "On failed the usual remedy is to repeat the original request" (§5.5).
			if again = st.retries < c.opts.MaxRetries && ctx.Err() == nil; again {
				st.retries++
				st.applied = true // should the file be there after all, compare before refusing
				wait = c.retryWait(err, st.retries)
			}
		} else {
			wait, again = c.next(ctx, &st, err)
		}
		if !again {
			return nil, err
		}
		c.log.Debug("retrying upload with a new link", zap.String("op", "upload"), zap.String("remote_path", p),
			zap.Int("attempt", attempt), zap.Duration("wait", wait), zap.Error(err))
		if err := c.sleep(ctx, wait); err != nil {
			return nil, err
		}
		if _, err := seeker.Seek(start, io.SeekStart); err != nil {
			return nil, fmt.Errorf("rewind body: %w", err)
		}
	}
}

// uploadLink asks for a single-use upload link (§3.1).
func (c *Client) uploadLink(ctx context.Context, p string, overwrite bool) (*Link, error) {
	var link Link
	q := url.Values{"path": {p}, "overwrite": {strconv.FormatBool(overwrite)}}
	if err := c.get(ctx, "upload_link", p, "/v1/disk/resources/upload", q, &link); err != nil {
		return nil, err
	}
	if link.Href == "" {
		return nil, errors.New("upload link without href")
	}
	return &link, nil
}

// errSource marks a failure to read the caller's body: not the network's fault, so
// never retried.
var errSource = errors.New("read upload source")

// put sends the body once. The result is returned also on failure: it says how many
// bytes went out and their hashes.
func (c *Client) put(ctx context.Context, p string, link *Link, body io.Reader, size int64, attempt int) (*UploadResult, error) {
	u, err := transferURL(link.Href)
	if err != nil {
		return nil, err
	}
	release, err := c.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	tctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	dog := newWatchdog(c.opts.TransferIdleTimeout, cancel)
	defer dog.stop()
	ub := &uploadBody{r: body, remaining: size, md5: md5.New(), sha: sha256.New(), onRead: dog.kick, closed: make(chan struct{}),
		onDone: func() {
			// After the last byte the server hashes the file before it answers (§3.2).
			dog.reset(c.opts.TransferIdleTimeout + time.Duration(float64(2*time.Minute)*float64(size)/float64(1<<30)))
		}}
	var rb io.Reader = ub
	if size == 0 {
		if err := ub.probe(); err != nil {
			return ub.result(), err
		}
		rb = http.NoBody
	}
	req, err := http.NewRequestWithContext(tctx, http.MethodPut, u.String(), rb)
	if err != nil {
		return nil, errors.New("build upload request")
	}
	req.ContentLength = size
	if c.opts.UserAgent != "" {
		req.Header.Set("User-Agent", c.opts.UserAgent)
	}
	resp, err := c.transfer.Do(req)
	if size > 0 {
		// The transport may still be reading the body after Do returned (an early
		// answer); it always closes it when done, and only then are the counts final.
		select {
		case <-ub.closed:
		case <-tctx.Done():
		}
	}
	res := ub.result()
	if err := ub.failure(); err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		return res, err
	}
	if err != nil {
		err = c.transferErr(ctx, tctx, http.MethodPut, err)
		c.log.Debug("upload request failed", zap.String("op", "upload"), zap.String("remote_path", p),
			zap.Int("attempt", attempt), zap.Int64("bytes", res.Bytes), zap.Error(err))
		return res, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	c.log.Debug("upload request", zap.String("op", "upload"), zap.String("remote_path", p),
		zap.Int("status", resp.StatusCode), zap.Int("attempt", attempt), zap.Int64("bytes", res.Bytes))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return res, decodeError(resp, data)
	}
	if res.Bytes != size {
		// The server answered before taking the whole body; whatever it stored is not
		// the file (§9.4).
		return res, fmt.Errorf("sent %d of %d bytes: %w", res.Bytes, size, ErrTruncated)
	}
	return res, nil
}

// waitUploadOperation polls the upload's operation. An operation the server no longer
// knows is left to the read-back that follows.
func (c *Client) waitUploadOperation(ctx context.Context, p, id string) error {
	err := c.waitOperationURL(ctx, "upload", p, c.apiURL("/v1/disk/operations/"+url.PathEscape(id), nil))
	if errors.Is(err, ErrNotFound) {
		c.log.Debug("upload operation unknown", zap.String("op", "upload"), zap.String("remote_path", p))
		return nil
	}
	return err
}

// finishUpload reads the uploaded file back, waiting a while when it is not listed yet
// (§9.2), and checks it against what was sent. It never re-uploads: a file that stays
// unlisted is returned without Resource.
func (c *Client) finishUpload(ctx context.Context, p string, res *UploadResult) (*UploadResult, error) {
	var r *Resource
	var err error
	for i := 1; ; i++ {
		r, err = c.Stat(ctx, p)
		if err == nil || !errors.Is(err, ErrNotFound) || i >= settleStats {
			break
		}
		if err := c.sleep(ctx, backoff(i, c.opts.RetryBaseDelay, min(c.opts.RetryMaxDelay, maxPollInterval))); err != nil {
			return res, err
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		c.log.Debug("uploaded file not readable yet", zap.String("op", "upload"), zap.String("remote_path", p), zap.Error(err))
		return res, nil
	}
	res.Resource = r
	switch {
	case r.Type != TypeFile:
		return res, fmt.Errorf("server lists a %s: %w", r.Type, ErrUploadMismatch)
	case r.Size != res.Bytes:
		return res, fmt.Errorf("server lists %d bytes, sent %d: %w", r.Size, res.Bytes, ErrUploadMismatch)
	case r.MD5 != "" && r.MD5 != res.MD5:
		return res, fmt.Errorf("server lists md5 %s, sent %s: %w", r.MD5, res.MD5, ErrUploadMismatch)
	case r.SHA256 != "" && r.SHA256 != res.SHA256:
		return res, fmt.Errorf("server lists sha256 %s, sent %s: %w", r.SHA256, res.SHA256, ErrUploadMismatch)
	}
	return res, nil
}

// uploadBody feeds exactly `remaining` bytes of r to the HTTP transport, hashing and
// counting them. Before it hands over the last bytes it checks that r has no more: a
// source longer than announced must make the request fail, not store a prefix. The
// transport reads it on its own goroutine, so the counts are guarded.
type uploadBody struct {
	r      io.Reader
	onRead func()
	onDone func()
	closed chan struct{} // closed by Close: the transport is done with the body
	once   gosync.Once

	mu        gosync.Mutex
	remaining int64
	n         int64
	md5, sha  hash.Hash
	err       error // a source failure (short, long, or a read error), set once
}

func (b *uploadBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, b.err
	}
	if b.remaining <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.r.Read(p)
	b.md5.Write(p[:n])
	b.sha.Write(p[:n])
	b.n += int64(n)
	b.remaining -= int64(n)
	if b.onRead != nil {
		b.onRead()
	}
	switch {
	case err != nil && err != io.EOF:
		b.err = fmt.Errorf("%w: %w", errSource, err)
		return 0, b.err
	case b.remaining > 0 && err == io.EOF:
		b.err = fmt.Errorf("source ended after %d bytes, %d announced: %w", b.n, b.n+b.remaining, ErrTruncated)
		return 0, b.err
	case b.remaining == 0:
		if perr := b.probe(); perr != nil {
			return 0, perr
		}
		if b.onDone != nil {
			b.onDone()
		}
	}
	return n, nil
}

// Close tells put that the transport has finished with the body.
func (b *uploadBody) Close() error {
	b.once.Do(func() { close(b.closed) })
	return nil
}

// probe checks that the source is at its end. Called with mu held (or before sending).
func (b *uploadBody) probe() error {
	var one [1]byte
	for range 100 {
		n, err := b.r.Read(one[:])
		if n > 0 {
			b.err = fmt.Errorf("source has more than the %d bytes announced: %w", b.n+b.remaining, ErrTruncated)
			return b.err
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			b.err = fmt.Errorf("%w: %w", errSource, err)
			return b.err
		}
	}
	b.err = fmt.Errorf("%w: source returns no data and no EOF", errSource)
	return b.err
}

func (b *uploadBody) failure() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

func (b *uploadBody) result() *UploadResult {
	b.mu.Lock()
	defer b.mu.Unlock()
	return &UploadResult{Bytes: b.n, MD5: hex.EncodeToString(b.md5.Sum(nil)), SHA256: hex.EncodeToString(b.sha.Sum(nil))}
}
