package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"
)

// maxPollInterval caps the wait between two status polls.
const maxPollInterval = 5 * time.Second

// Operation returns the status of the asynchronous operation id (§5.5).
func (c *Client) Operation(ctx context.Context, id string) (*Operation, error) {
	var op Operation
	if err := c.get(ctx, "operation", "", "/v1/disk/operations/"+url.PathEscape(id), nil, &op); err != nil {
		return nil, fmt.Errorf("operation status: %w", err)
	}
	return &op, nil
}

// WaitOperation polls the operation link href, backing off from RetryBaseDelay to 5s,
// until it reports success. Any status other than success and in-progress ("failed",
// "failure", anything new) is ErrOperationFailed. After OperationTimeout it gives up with
// ErrOperationTimeout.
func (c *Client) WaitOperation(ctx context.Context, href string) error {
	u, err := c.linkURL(href)
	if err != nil {
		return fmt.Errorf("wait operation: %w", err)
	}
	return c.waitOperationURL(ctx, "wait_operation", "", u)
}

// waitOperationURL polls u; op and p name the call the operation belongs to in logs.
func (c *Client) waitOperationURL(ctx context.Context, op, p, u string) error {
	pctx, cancel := context.WithTimeoutCause(ctx, c.opts.OperationTimeout, ErrOperationTimeout)
	defer cancel()
	interval := min(c.opts.RetryBaseDelay, maxPollInterval)
	for polls := 1; ; polls++ {
		var st Operation
		_, err := c.do(pctx, &call{op: op, path: p, method: http.MethodGet, url: u}, &st)
		if err != nil {
			if ctx.Err() == nil && pctx.Err() != nil {
				return fmt.Errorf("operation: %w after %v", ErrOperationTimeout, c.opts.OperationTimeout)
			}
			return fmt.Errorf("operation status: %w", err)
		}
		switch st.Status {
		case OpSuccess:
			return nil
		case OpInProgress:
		default:
			return fmt.Errorf("operation ended with status %q: %w", st.Status, ErrOperationFailed)
		}
		c.log.Debug("operation in progress", zap.String("op", op), zap.String("remote_path", p),
			zap.Int("attempt", polls), zap.Duration("wait", interval))
		if err := c.sleep(pctx, interval); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("operation: %w after %v", ErrOperationTimeout, c.opts.OperationTimeout)
		}
		interval = min(interval*2, maxPollInterval, max(c.opts.RetryMaxDelay, c.opts.RetryBaseDelay))
	}
}

// waitLink polls the operation behind a 202's Link.
func (c *Client) waitLink(ctx context.Context, op, p string, link *Link) error {
	if link == nil || link.Href == "" {
		return errors.New("202 without an operation link")
	}
	u, err := c.linkURL(link.Href)
	if err != nil {
		return err
	}
	return c.waitOperationURL(ctx, op, p, u)
}
