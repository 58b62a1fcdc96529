package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"go.uber.org/zap"
)

// itemFields are the keys a sync needs of each listed item. Narrowing drops the long
// `file`, `preview` and `sizes` values, which are most of a listing's bytes.
var itemFields = []string{"name", "path", "type", "size", "md5", "sha256", "created", "modified",
	"revision", "resource_id", "mime_type", "media_type", "custom_properties", "origin_path", "deleted"}

// listFields asks for the folder itself and narrowed items. `_embedded.total`, `limit`
// and `offset` must be named too: naming sub-keys of `_embedded` drops the others (§9.14).
var listFields = func() string {
	f := []string{"name", "path", "type", "resource_id", "revision", "created", "modified",
		"custom_properties", "_embedded", "_embedded.total", "_embedded.limit", "_embedded.offset",
		"_embedded.path", "_embedded.items"}
	for _, k := range itemFields {
		f = append(f, "_embedded.items."+k)
	}
	return strings.Join(f, ",")
}()

// filesFields narrows the flat file list the same way (keys relative to the list, §2.3).
var filesFields = func() string {
	f := []string{"items", "limit", "offset"}
	for _, k := range itemFields {
		f = append(f, "items."+k)
	}
	return strings.Join(f, ",")
}()

// DiskInfo returns quota, max_file_size and the Disk revision (GET /v1/disk).
func (c *Client) DiskInfo(ctx context.Context) (*Disk, error) {
	var d Disk
	if err := c.get(ctx, "disk_info", "", "/v1/disk", nil, &d); err != nil {
		return nil, fmt.Errorf("disk info: %w", err)
	}
	if d.MaxFileSize > 0 {
		c.infoMu.Lock()
		c.maxFileSize = d.MaxFileSize
		c.infoMu.Unlock()
	}
	return &d, nil
}

// Revision returns the revision of the whole Disk, the cheap "did anything change" probe
// (§10): GET /v1/disk?fields=revision.
func (c *Client) Revision(ctx context.Context) (int64, error) {
	var d struct {
		Revision *int64 `json:"revision"`
	}
	if err := c.get(ctx, "revision", "", "/v1/disk", url.Values{"fields": {"revision"}}, &d); err != nil {
		return 0, fmt.Errorf("disk revision: %w", err)
	}
	if d.Revision == nil {
		return 0, errors.New("disk revision: the server sent no revision")
	}
	return *d.Revision, nil
}

// Stat returns one resource without its children; ErrNotFound when absent.
func (c *Client) Stat(ctx context.Context, p string) (*Resource, error) {
	p = Abs(p)
	var r Resource
	q := url.Values{"path": {p}, "limit": {"0"}}
	if err := c.get(ctx, "stat", p, "/v1/disk/resources", q, &r); err != nil {
		return nil, fmt.Errorf("stat %s: %w", p, err)
	}
	r.Embedded = nil
	return &r, nil
}

// ListPage returns the folder at p with at most limit children from offset on, narrowed
// to fields when given (nested keys with dots, §2.3). A file comes back without Embedded.
func (c *Client) ListPage(ctx context.Context, p string, limit, offset int, fields ...string) (*Resource, error) {
	p = Abs(p)
	r, err := c.listPage(ctx, "/v1/disk/resources", p, limit, offset, strings.Join(fields, ","))
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", p, err)
	}
	return r, nil
}

func (c *Client) listPage(ctx context.Context, endpoint, p string, limit, offset int, fields string) (*Resource, error) {
	q := url.Values{"path": {p}, "limit": {strconv.Itoa(limit)}, "offset": {strconv.Itoa(offset)}}
	if fields != "" {
		q.Set("fields", fields)
	}
	var r Resource
	if err := c.get(ctx, "list", p, endpoint, q, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// List calls fn for every child of the folder p, paging with offset += len(items) until
// offset reaches total or a page comes back short. ErrNotDir when p is a file.
func (c *Client) List(ctx context.Context, p string, fn func(Resource) error) error {
	p = Abs(p)
	if err := c.list(ctx, "/v1/disk/resources", p, fn); err != nil {
		return fmt.Errorf("list %s: %w", p, err)
	}
	return nil
}

func (c *Client) list(ctx context.Context, endpoint, p string, fn func(Resource) error) error {
	limit := c.opts.ListPageSize
	for offset := 0; ; {
		r, err := c.listPage(ctx, endpoint, p, limit, offset, listFields)
		if err != nil {
			return err
		}
		if r.Embedded == nil {
			if r.Type == TypeFile {
				return ErrNotDir
			}
			// Reading this as an empty folder would make a sync believe its
			// contents were deleted.
			return fmt.Errorf("listing of a %q without _embedded: %w", r.Type, &Error{Status: http.StatusBadGateway,
				Description: "folder listing without items"})
		}
		items := r.Embedded.Items
		for _, it := range items {
			if err := fn(it); err != nil {
				return err
			}
		}
		offset += len(items)
		if len(items) == 0 || len(items) < limit || offset >= r.Embedded.Total {
			return nil
		}
	}
}

// Files calls fn for every file on the Disk from the flat list (§2.4), paging until a
// short page: the endpoint has no total. It shows no folders.
func (c *Client) Files(ctx context.Context, fn func(Resource) error) error {
	limit := c.opts.ListPageSize
	for offset := 0; ; {
		var page ResourceList
		q := url.Values{"limit": {strconv.Itoa(limit)}, "offset": {strconv.Itoa(offset)}, "fields": {filesFields}}
		if err := c.get(ctx, "files", "", "/v1/disk/resources/files", q, &page); err != nil {
			return fmt.Errorf("list files: %w", err)
		}
		for _, it := range page.Items {
			if err := fn(it); err != nil {
				return err
			}
		}
		offset += len(page.Items)
		if len(page.Items) == 0 || len(page.Items) < limit {
			return nil
		}
	}
}

// LastUploaded returns up to limit recently uploaded files, newest first (§2.5).
func (c *Client) LastUploaded(ctx context.Context, limit int) ([]Resource, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var page ResourceList
	if err := c.get(ctx, "last_uploaded", "", "/v1/disk/resources/last-uploaded", q, &page); err != nil {
		return nil, fmt.Errorf("last uploaded: %w", err)
	}
	return page.Items, nil
}

// TrashList calls fn for every item of the trash folder p ("" or "trash:/" for the root).
func (c *Client) TrashList(ctx context.Context, p string, fn func(Resource) error) error {
	p = normTrash(p)
	if err := c.list(ctx, "/v1/disk/trash/resources", p, fn); err != nil {
		return fmt.Errorf("list trash %s: %w", p, err)
	}
	return nil
}

// normTrash gives a trash path its scheme: "" is the trash root.
func normTrash(p string) string {
	switch {
	case p == "" || p == "/":
		return TrashRoot
	case strings.HasPrefix(p, SchemeTrash):
		return p
	default:
		return TrashRoot + strings.TrimPrefix(p, "/")
	}
}

// cachedMaxFileSize returns max_file_size, asking the server at most once per client
// unless a later DiskInfo succeeds. 0 means unknown: an account whose token may not read
// Disk info still uploads, with the server's 413 as the limit.
func (c *Client) cachedMaxFileSize(ctx context.Context) (int64, error) {
	c.infoMu.Lock()
	m, tried := c.maxFileSize, c.infoTried
	c.infoTried = true
	c.infoMu.Unlock()
	if m > 0 || tried {
		return m, nil
	}
	d, err := c.DiskInfo(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		c.log.Debug("max_file_size unknown", zap.Error(err))
		return 0, nil
	}
	return d.MaxFileSize, nil
}
