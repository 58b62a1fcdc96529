package emulator

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// timeFormat is the wire format of every time (§2.2): whole seconds, numeric offset.
const timeFormat = "2006-01-02T15:04:05+00:00"

func fmtTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// listParams are the paging and sorting parameters of §2.3.
type listParams struct {
	limit, offset int
	sort          string // as requested, echoed in _embedded.sort
}

// render builds the Resource object of §2.2 for n at p, in the key order of the recorded
// responses, with its download link on o. With embed, a folder gets its _embedded
// ResourceList.
func (s *Server) render(o origin, n *node, p rpath, embed *listParams) object {
	ids := object{{"private_resource", n.resourceID}, {"public_resource", n.resourceID}}
	name := p.name()
	if n.origName != "" {
		name = n.origName
	}
	var res object
	if n.dir {
		if embed != nil {
			res = append(res, member{"_embedded", s.renderList(o, n, p, *embed)})
		}
		res = append(res,
			member{"name", name},
			member{"exif", object{}},
			member{"resource_id", n.resourceID})
		if n.propsSet() {
			res = append(res, member{"custom_properties", propsValue(n.props)})
		}
		res = append(res, member{"created", fmtTime(n.created)})
		if n.originPath != "" {
			res = append(res, member{"deleted", fmtTime(n.deleted)}, member{"origin_path", n.originPath})
		}
		res = append(res,
			member{"modified", fmtTime(n.modified)},
			member{"path", p.String()},
			member{"comment_ids", ids},
			member{"type", "dir"},
			member{"revision", n.revision})
		return res
	}
	ti := typeOf(n.name)
	res = object{
		{"antivirus_status", "clean"},
		{"size", n.blob.size},
		{"comment_ids", ids},
		{"name", name},
		{"exif", object{}},
		{"created", fmtTime(n.created)},
	}
	if n.originPath != "" {
		res = append(res, member{"deleted", fmtTime(n.deleted)}, member{"origin_path", n.originPath})
	}
	res = append(res, member{"resource_id", n.resourceID})
	if n.propsSet() {
		res = append(res, member{"custom_properties", propsValue(n.props)})
	}
	res = append(res,
		member{"modified", fmtTime(n.modified)},
		member{"mime_type", ti.mime},
		member{"file", s.downloadURL(o, n, name)},
		member{"path", p.String()},
		member{"media_type", ti.media},
		member{"sha256", n.blob.sha256},
		member{"type", "file"},
		member{"md5", n.blob.md5},
		member{"revision", n.revision})
	return res
}

// renderList builds the ResourceList of a folder: folders first, then files, whatever the
// sort key (§2.3, §9.13).
func (s *Server) renderList(o origin, n *node, p rpath, lp listParams) object {
	kids := sortChildren(n, lp.sort)
	items := []any{}
	for i := lp.offset; i < len(kids) && len(items) < lp.limit; i++ {
		items = append(items, s.render(o, kids[i], p.child(kids[i].name), nil))
	}
	return object{
		{"sort", lp.sort},
		{"items", items},
		{"limit", lp.limit},
		{"offset", lp.offset},
		{"path", p.String()},
		{"total", len(kids)},
	}
}

var sortKeys = map[string]bool{"name": true, "path": true, "created": true, "modified": true, "size": true}

func sortChildren(n *node, key string) []*node {
	kids := n.sortedChildren()
	desc := strings.HasPrefix(key, "-")
	key = strings.TrimPrefix(key, "-")
	less := func(a, b *node) int {
		switch key {
		case "created":
			return a.created.Compare(b.created)
		case "modified":
			return a.modified.Compare(b.modified)
		case "size":
			return cmpInt(nodeSize(a), nodeSize(b))
		}
		return strings.Compare(a.name, b.name)
	}
	sort.SliceStable(kids, func(i, j int) bool {
		a, b := kids[i], kids[j]
		if a.dir != b.dir {
			return a.dir
		}
		c := less(a, b)
		if desc {
			c = -c
		}
		return c < 0
	})
	return kids
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func nodeSize(n *node) int64 {
	if n.dir || n.blob == nil {
		return 0
	}
	return n.blob.size
}

func (n *node) propsSet() bool { return n.props != nil || n.propsCleared }

// propsValue renders custom_properties: an object, or null once every key was removed (§5.8).
func propsValue(p object) any {
	if len(p) == 0 {
		return nil
	}
	return p
}

// Upload and download URLs live on the API's origin under their own paths (§1.1, §4).
// Download URLs are signed rather than stored, so listing 100k files does not grow server
// state.
const (
	downloadPrefix = "/disk/"
	storagePrefix  = "/storage/"
	uploadPrefix   = "/upload-target/"
	downloadTTL    = 4 * time.Hour // the recorded links expired about 4 hours later (§4.1)
	storageTTL     = 10 * time.Minute
)

func (s *Server) sign(parts ...string) string {
	m := hmac.New(sha256.New, s.signKey)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(m.Sum(nil))
}

// downloadURL builds a link on o shaped like the recorded ones (§4.1):
// /disk/<sig>/<hex expiry>/<id> with uid, filename, disposition, content_type, fsize,
// media_type, etag (= md5) in the query. The signature does not cover the origin, so the link
// works through any front that reaches this server.
func (s *Server) downloadURL(o origin, n *node, name string) string {
	exp := strconv.FormatInt(s.now().Add(downloadTTL).Unix(), 16)
	ti := typeOf(name)
	q := url.Values{}
	q.Set("uid", uid)
	q.Set("filename", name)
	q.Set("disposition", "attachment")
	q.Set("hash", "")
	q.Set("limit", "0")
	q.Set("content_type", ti.mime)
	q.Set("owner_uid", uid)
	q.Set("fsize", strconv.FormatInt(n.blob.size, 10))
	h := md5.Sum([]byte(n.resourceID))
	q.Set("hid", hex.EncodeToString(h[:]))
	q.Set("media_type", ti.media)
	q.Set("tknv", "v2")
	q.Set("etag", n.blob.md5)
	sig := s.sign("disk", n.blob.id, exp, name)
	return string(o) + downloadPrefix + sig + "/" + exp + "/" + n.blob.id + "?" + q.Encode()
}

// parseList reads limit/offset/sort (§2.3). Bad values answer 400 FieldValidationError.
func parseList(q url.Values, withSort bool) (listParams, *apiError) {
	lp := listParams{limit: 20}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return lp, errFieldValidation("limit", "must be a non-negative integer")
		}
		lp.limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return lp, errFieldValidation("offset", "must be a non-negative integer")
		}
		lp.offset = n
	}
	if withSort {
		lp.sort = q.Get("sort")
		if lp.sort != "" && !sortKeys[strings.TrimPrefix(lp.sort, "-")] {
			return lp, errFieldValidation("sort", fmt.Sprintf("unknown sort key %q", lp.sort))
		}
	}
	return lp, nil
}
