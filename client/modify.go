package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"go.uber.org/zap"
)

// Codes of the 409 answers that tell what is in the way (§5.1).
const (
	codeDirExists      = "DiskPathPointsToExistentDirectoryError"
	codeResourceExists = "DiskResourceAlreadyExistsError"
)

// hasCode reports whether err is an API answer with the given error code.
func hasCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// Mkdir creates the folder p; its parent must exist. ErrAlreadyExists when a folder or
// file is there already, ErrParentMissing when the parent is missing.
func (c *Client) Mkdir(ctx context.Context, p string) error {
	p = Abs(p)
	if err := c.mkdir(ctx, p); err != nil {
		return fmt.Errorf("mkdir %s: %w", p, err)
	}
	return nil
}

func (c *Client) mkdir(ctx context.Context, p string) error {
	res, err := c.do(ctx, &call{op: "mkdir", path: p, method: http.MethodPut,
		url: c.apiURL("/v1/disk/resources", url.Values{"path": {p}})}, nil)
	if err != nil && res.applied && hasCode(err, codeDirExists) {
		// An earlier attempt that failed in transit created it.
		return nil
	}
	return err
}

// MkdirAll creates p and any missing parents. An existing folder is success, also when
// a concurrent caller creates it first; a file in the way is ErrAlreadyExists.
func (c *Client) MkdirAll(ctx context.Context, p string) error {
	p = Abs(p)
	if isRoot(p) {
		return nil
	}
	// Try the leaf first: in a sync the parents usually exist, so this costs one request.
	var missing []string
	for cur := p; ; {
		err := c.mkdir(ctx, cur)
		if err == nil || hasCode(err, codeDirExists) {
			break
		}
		if !errors.Is(err, ErrParentMissing) {
			return fmt.Errorf("mkdir %s: %w", cur, err)
		}
		parent, ok := Parent(cur)
		if !ok {
			return fmt.Errorf("mkdir %s: %w", cur, err)
		}
		missing = append(missing, cur)
		cur = parent
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := c.mkdir(ctx, missing[i]); err != nil && !hasCode(err, codeDirExists) {
			return fmt.Errorf("mkdir %s: %w", missing[i], err)
		}
	}
	return nil
}

// Move renames from to p (the full new path). Without overwrite an existing p is
// ErrAlreadyExists. Asynchronous moves (202) are polled to the end.
func (c *Client) Move(ctx context.Context, from, p string, overwrite bool) error {
	return c.relocate(ctx, "move", from, p, overwrite)
}

// Copy copies from to p, like Move. Yandex's overwrite on copy is unreliable (§9.12):
// callers that must replace p should move the old p aside first.
func (c *Client) Copy(ctx context.Context, from, p string, overwrite bool) error {
	return c.relocate(ctx, "copy", from, p, overwrite)
}

func (c *Client) relocate(ctx context.Context, op, from, p string, overwrite bool) error {
	from, p = Abs(from), Abs(p)
	q := url.Values{"from": {from}, "path": {p}}
	if overwrite {
		q.Set("overwrite", "true")
	}
	var link Link
	res, err := c.do(ctx, &call{op: op, path: p, method: http.MethodPost,
		url: c.apiURL("/v1/disk/resources/"+op, q)}, &link)
	if err != nil {
		if res.applied && (errors.Is(err, ErrNotFound) || errors.Is(err, ErrAlreadyExists)) {
			ok, verr := c.relocated(ctx, op, from, p)
			if verr == nil && ok {
				c.log.Debug("earlier attempt applied", zap.String("op", op), zap.String("remote_path", p))
				return nil
			}
		}
		return fmt.Errorf("%s %s to %s: %w", op, from, p, err)
	}
	if res.status == http.StatusAccepted {
		if err := c.waitLink(ctx, op, p, &link); err != nil {
			return fmt.Errorf("%s %s to %s: %w", op, from, p, err)
		}
	}
	return nil
}

// relocated checks whether an earlier, failed-in-transit attempt of a move or copy was
// carried out: for a move the source is gone and the destination exists; for a copy
// the destination matches the source.
func (c *Client) relocated(ctx context.Context, op, from, p string) (bool, error) {
	dst, err := c.Stat(ctx, p)
	if err != nil {
		return false, err
	}
	src, err := c.Stat(ctx, from)
	if op == "move" {
		return errors.Is(err, ErrNotFound), nil
	}
	if err != nil {
		return false, err
	}
	if src.Type != dst.Type {
		return false, nil
	}
	if src.Type == TypeFile {
		return src.Size == dst.Size && src.MD5 != "" && src.MD5 == dst.MD5, nil
	}
	return true, nil
}

// Delete removes p: to the trash unless opts.Permanently. With opts.MD5 the server
// deletes only a file with that md5 (else ErrMD5Differ). Asynchronous deletes (202, for
// non-empty folders) are polled to the end. ErrNotFound when nothing is at p; a 404 to a
// retry after an attempt that may have been applied is success, since either way nothing
// is at p any more.
func (c *Client) Delete(ctx context.Context, p string, opts DeleteOptions) error {
	p = Abs(p)
	q := url.Values{"path": {p}}
	if opts.Permanently {
		q.Set("permanently", "true")
	}
	if opts.MD5 != "" {
		q.Set("md5", opts.MD5)
	}
	if err := c.delete(ctx, "delete", p, c.apiURL("/v1/disk/resources", q)); err != nil {
		return fmt.Errorf("delete %s: %w", p, err)
	}
	return nil
}

func (c *Client) delete(ctx context.Context, op, p, u string) error {
	var link Link
	res, err := c.do(ctx, &call{op: op, path: p, method: http.MethodDelete, url: u}, &link)
	if err != nil {
		if res.applied && errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	}
	if res.status == http.StatusAccepted {
		return c.waitLink(ctx, op, p, &link)
	}
	return nil
}

// SetProperties merges props into the custom properties of p (a nil value removes a
// key) and returns the resource as the server has it afterwards (§5.8). A 500 right
// after an upload (§9.1) is retried like any 5xx: the merge is idempotent.
func (c *Client) SetProperties(ctx context.Context, p string, props map[string]any) (*Resource, error) {
	p = Abs(p)
	body, err := json.Marshal(struct {
		CustomProperties map[string]any `json:"custom_properties"`
	}{props})
	if err != nil {
		return nil, fmt.Errorf("set properties %s: %w", p, err)
	}
	var r Resource
	if _, err := c.do(ctx, &call{op: "set_properties", path: p, method: http.MethodPatch,
		url: c.apiURL("/v1/disk/resources", url.Values{"path": {p}}), body: body}, &r); err != nil {
		return nil, fmt.Errorf("set properties %s: %w", p, err)
	}
	return &r, nil
}

// TrashRestore puts the trash item trashPath back at its origin_path, under name when
// name is not empty. A 404 to a retry after an attempt that may have been applied is
// success: the item has left the trash.
func (c *Client) TrashRestore(ctx context.Context, trashPath, name string, overwrite bool) error {
	trashPath = normTrash(trashPath)
	q := url.Values{"path": {trashPath}}
	if name != "" {
		q.Set("name", name)
	}
	if overwrite {
		q.Set("overwrite", "true")
	}
	var link Link
	res, err := c.do(ctx, &call{op: "trash_restore", path: trashPath, method: http.MethodPut,
		url: c.apiURL("/v1/disk/trash/resources/restore", q)}, &link)
	if err != nil {
		if res.applied && errors.Is(err, ErrNotFound) {
			return nil
		}
		return fmt.Errorf("restore %s: %w", trashPath, err)
	}
	if res.status == http.StatusAccepted {
		if err := c.waitLink(ctx, "trash_restore", trashPath, &link); err != nil {
			return fmt.Errorf("restore %s: %w", trashPath, err)
		}
	}
	return nil
}

// TrashDelete deletes the trash item trashPath for good; "" empties the whole trash.
func (c *Client) TrashDelete(ctx context.Context, trashPath string) error {
	q := url.Values{}
	what := "the trash"
	if trashPath != "" {
		trashPath = normTrash(trashPath)
		q.Set("path", trashPath)
		what = trashPath
	}
	if err := c.delete(ctx, "trash_delete", trashPath, c.apiURL("/v1/disk/trash/resources", q)); err != nil {
		return fmt.Errorf("delete %s: %w", what, err)
	}
	return nil
}
