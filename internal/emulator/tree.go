package emulator

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// uid is the account id that prefixes every resource_id (§2.2).
const uid = "1130000001"

// blob is the immutable content of a file version. Copies share one blob; it is freed when
// the last file referring to it is gone. Its fields never change after creation, so it may
// be read without the tree mutex.
type blob struct {
	id     string
	size   int64
	md5    string
	sha256 string
	data   []byte // in memory when Options.DataDir is empty
	file   string // on disk otherwise
	refs   int    // guarded by Server.mu
}

// open returns a reader over the content.
func (b *blob) open() (io.ReadSeekCloser, error) {
	if b.file == "" {
		return nopCloser{bytes.NewReader(b.data)}, nil
	}
	f, err := os.Open(b.file)
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", b.id, err)
	}
	return f, nil
}

type nopCloser struct{ io.ReadSeeker }

func (nopCloser) Close() error { return nil }

// node is a file or folder in the Disk tree or the trash.
type node struct {
	name       string
	dir        bool
	parent     *node
	children   map[string]*node
	resourceID string
	created    time.Time
	modified   time.Time
	revision   int64
	blob       *blob
	props      object // custom_properties; nil when none (§5.8)
	// propsCleared records that properties were set and all removed again: the key then
	// stays in responses as null (§5.8).
	propsCleared bool

	// Set on top-level trash entries (§2.6): their path name is <name>_<40 hex>, origName
	// keeps the name they had.
	origName   string
	originPath string
	deleted    time.Time

	uploadSeq  int64     // order for /resources/last-uploaded; 0 = never uploaded
	uploadedAt time.Time // for the §9.1/§9.2 windows
	patches    int       // PATCH attempts inside the §9.1 window
}

func (n *node) sortedChildren() []*node {
	out := make([]*node, 0, len(n.children))
	for _, c := range n.children {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// pathOf rebuilds the path of n from its parents.
func (s *Server) pathOf(n *node) rpath {
	var segs []string
	a := areaDisk
	for c := n; c != nil; c = c.parent {
		if c.parent == nil {
			if c == s.trash {
				a = areaTrash
			}
			break
		}
		segs = append(segs, c.name)
	}
	for i, j := 0, len(segs)-1; i < j; i, j = i+1, j-1 {
		segs[i], segs[j] = segs[j], segs[i]
	}
	return rpath{area: a, segs: segs}
}

func (s *Server) rootOf(a area) *node {
	if a == areaTrash {
		return s.trash
	}
	return s.disk
}

// lookup finds the node at p, or nil. Callers hold s.mu.
func (s *Server) lookup(p rpath) *node {
	n := s.rootOf(p.area)
	for _, seg := range p.segs {
		if !n.dir {
			return nil
		}
		c, ok := n.children[seg]
		if !ok {
			return nil
		}
		n = c
	}
	return n
}

// nextRevision advances the Disk revision. It is microseconds since the epoch when the clock
// allows and strictly increasing always (§2.1, §10).
func (s *Server) nextRevision() int64 {
	r := s.now().UnixMicro()
	if r <= s.rev {
		r = s.rev + 1
	}
	s.rev = r
	return r
}

func newResourceID() string { return uid + ":" + randomHex(32) }

func randomHex(nbytes int) string {
	b := make([]byte, nbytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

func (s *Server) newDir(name string) *node {
	t := s.now().Truncate(time.Second)
	return &node{name: name, dir: true, children: map[string]*node{}, resourceID: newResourceID(),
		created: t, modified: t, revision: s.nextRevision()}
}

// attach puts n under parent. Callers hold s.mu.
func (s *Server) attach(parent, n *node) {
	n.parent = parent
	parent.children[n.name] = n
	s.account(n, +1)
}

// detach removes n from its parent without freeing its content.
func (s *Server) detach(n *node) {
	if n.parent == nil {
		return
	}
	s.account(n, -1)
	delete(n.parent.children, n.name)
	n.parent = nil
}

// account adds or subtracts the subtree's bytes to the Disk's used space (§2.1: the trash
// counts in used_space).
func (s *Server) account(n *node, sign int64) {
	size := subtreeSize(n)
	if s.pathOf(n.parent).area == areaTrash {
		s.trashBytes += sign * size
	}
	s.usedBytes += sign * size
}

func subtreeSize(n *node) int64 {
	if !n.dir {
		if n.blob == nil {
			return 0
		}
		return n.blob.size
	}
	var t int64
	for _, c := range n.children {
		t += subtreeSize(c)
	}
	return t
}

func hasChildren(n *node) bool { return n.dir && len(n.children) > 0 }

// destroy frees a detached subtree for good.
func (s *Server) destroy(n *node) {
	if n.dir {
		for _, c := range n.children {
			s.destroy(c)
		}
		return
	}
	s.unref(n.blob)
}

func (s *Server) ref(b *blob) {
	if b != nil {
		b.refs++
		s.blobs[b.id] = b
	}
}

func (s *Server) unref(b *blob) {
	if b == nil {
		return
	}
	b.refs--
	if b.refs > 0 {
		return
	}
	delete(s.blobs, b.id)
	if b.file != "" {
		// An open download keeps reading an unlinked file on POSIX systems.
		if err := os.Remove(b.file); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.logf("emulator: remove blob %s: %v", b.id, err)
		}
	}
}

// clone deep-copies a subtree for a copy (§5.2): new resource ids, same content, hashes and
// custom properties (§9.21), created = modified = now.
func (s *Server) clone(n *node, name string) *node {
	t := s.now().Truncate(time.Second)
	c := &node{name: name, dir: n.dir, resourceID: newResourceID(), created: t, modified: t,
		revision: s.nextRevision(), blob: n.blob, props: cloneProps(n.props), uploadSeq: n.uploadSeq}
	s.ref(c.blob)
	if n.dir {
		c.children = make(map[string]*node, len(n.children))
		for _, ch := range n.children {
			cc := s.clone(ch, ch.name)
			cc.parent = c
			c.children[cc.name] = cc
		}
	}
	return c
}

func cloneProps(p object) object {
	if p == nil {
		return nil
	}
	return append(object(nil), p...)
}

// storeBlob reads r into a new blob, hashing as it goes. It runs without the tree mutex.
// limit is the largest accepted size; reading more returns errTooBig. A read error is
// returned together with the blob of what arrived, so callers can keep a truncated body
// (§9.4).
func (s *Server) storeBlob(r io.Reader, limit int64) (*blob, error) {
	b := &blob{id: randomHex(16)}
	hm, hs := md5.New(), sha256.New()
	var sink io.Writer
	var mem bytes.Buffer
	var f *os.File
	if s.opts.DataDir != "" {
		dir := filepath.Join(s.opts.DataDir, "blobs")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store blob: %w", err)
		}
		b.file = filepath.Join(dir, b.id)
		var err error
		f, err = os.OpenFile(b.file, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, fmt.Errorf("store blob: %w", err)
		}
		sink = f
	} else {
		sink = &mem
	}
	n, rerr := io.Copy(io.MultiWriter(sink, hm, hs), io.LimitReader(r, limit+1))
	if f != nil {
		if err := f.Close(); err != nil && rerr == nil {
			rerr = err
		}
	}
	if n > limit {
		s.discardBlob(b)
		return nil, errTooBig
	}
	b.size = n
	b.md5 = hex.EncodeToString(hm.Sum(nil))
	b.sha256 = hex.EncodeToString(hs.Sum(nil))
	if f == nil {
		b.data = mem.Bytes()
	}
	return b, rerr
}

var errTooBig = errors.New("file exceeds max_file_size")

// discardBlob drops a blob that was never attached.
func (s *Server) discardBlob(b *blob) {
	if b != nil && b.file != "" {
		_ = os.Remove(b.file)
	}
}
