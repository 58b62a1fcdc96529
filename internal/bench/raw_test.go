package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	gosync "sync"

	"golang.org/x/sync/errgroup"

	"github.com/yasyncd/yasyncd/client"
	"github.com/yasyncd/yasyncd/internal/emulator"
)

// raw is the baseline every client figure is divided by: plain net/http against the same
// emulator, with the Authorization header set by hand, no retries, no hashing, no checks.
type raw struct {
	hc    *http.Client
	base  string
	token string
}

func newRaw(apiURL, token string) *raw {
	return &raw{hc: &http.Client{Transport: newTransport()}, base: apiURL, token: token}
}

// getJSON sends an authorised GET to the Disk API and decodes the answer into v.
func (r *raw) getJSON(ctx context.Context, path string, q url.Values, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.base+path+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "OAuth "+r.token)
	resp, err := r.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

type rawLink struct {
	Href string `json:"href"`
}

// upload asks for an upload link exactly as the client does (GET /resources/upload) and
// PUTs size bytes of body to it.
func (r *raw) upload(ctx context.Context, p string, body io.Reader, size int64) error {
	var l rawLink
	if err := r.getJSON(ctx, "/v1/disk/resources/upload", url.Values{"path": {p}, "overwrite": {"false"}}, &l); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, l.Href, io.NopCloser(body))
	if err != nil {
		return err
	}
	req.ContentLength = size
	resp, err := r.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("PUT: %d", resp.StatusCode)
	}
	return nil
}

// download asks for a download link (GET /resources/download) and copies the file to w,
// following the redirect to the storage host.
func (r *raw) download(ctx context.Context, p string, w io.Writer) (int64, error) {
	var l rawLink
	if err := r.getJSON(ctx, "/v1/disk/resources/download", url.Values{"path": {p}}, &l); err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.Href, nil)
	if err != nil {
		return 0, err
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET download: %d", resp.StatusCode)
	}
	// Plain 32 KiB copies, as io.Copy makes between ordinary readers and writers: into
	// io.Discard it would read 8 KiB at a time, a slower baseline than a real one.
	return io.CopyBuffer(onlyWriter{w}, onlyReader{resp.Body}, make([]byte, 32<<10))
}

// onlyWriter and onlyReader hide ReadFrom and WriteTo, so that io.CopyBuffer uses its
// buffer.
type onlyWriter struct{ io.Writer }
type onlyReader struct{ io.Reader }

// rawItem is what the raw listing decodes of each item: the same keys the client asks
// for, with times left as strings.
type rawItem struct {
	Path             string          `json:"path"`
	Type             string          `json:"type"`
	Size             int64           `json:"size"`
	MD5              string          `json:"md5"`
	SHA256           string          `json:"sha256"`
	Modified         string          `json:"modified"`
	ResourceID       string          `json:"resource_id"`
	Revision         int64           `json:"revision"`
	CustomProperties json.RawMessage `json:"custom_properties"`
}

type rawFolder struct {
	Embedded *struct {
		Items []rawItem `json:"items"`
		Total int       `json:"total"`
	} `json:"_embedded"`
}

// walk lists the tree below root with paged GET /resources, pageSize items a page,
// conc folders at a time (level by level), sending the same fields parameter as the
// client. fn is called under a lock.
func (r *raw) walk(ctx context.Context, root, fields string, pageSize, conc int, fn func(rawItem)) error {
	var mu gosync.Mutex
	level := []string{root}
	for len(level) > 0 {
		var next []string
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(conc)
		for _, dir := range level {
			g.Go(func() error {
				for offset := 0; ; {
					q := url.Values{"path": {dir}, "limit": {strconv.Itoa(pageSize)}, "offset": {strconv.Itoa(offset)}}
					if fields != "" {
						q.Set("fields", fields)
					}
					var f rawFolder
					if err := r.getJSON(gctx, "/v1/disk/resources", q, &f); err != nil {
						return err
					}
					if f.Embedded == nil {
						return fmt.Errorf("list %s: no _embedded", dir)
					}
					mu.Lock()
					for _, it := range f.Embedded.Items {
						fn(it)
						if it.Type == client.TypeDir {
							next = append(next, it.Path)
						}
					}
					mu.Unlock()
					offset += len(f.Embedded.Items)
					if len(f.Embedded.Items) < pageSize || offset >= f.Embedded.Total {
						return nil
					}
				}
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		level = next
	}
	return nil
}

// listQueryOf returns the fields parameter and page size the client sends for a folder
// listing, read from the emulator's request log after one List, so the raw listing asks
// the server for exactly the same work.
func listQueryOf(ctx context.Context, srv *emulator.Server, c *client.Client, dir string) (fields string, limit int, err error) {
	srv.ResetRequests()
	if err := c.List(ctx, dir, func(client.Resource) error { return nil }); err != nil {
		return "", 0, err
	}
	for _, r := range srv.Requests() {
		if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/v1/disk/resources") {
			limit, err := strconv.Atoi(r.Query.Get("limit"))
			if err != nil {
				return "", 0, fmt.Errorf("listing limit %q: %w", r.Query.Get("limit"), err)
			}
			return r.Query.Get("fields"), limit, nil
		}
	}
	return "", 0, errors.New("no listing request recorded")
}
