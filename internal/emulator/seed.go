package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Entry describes one resource for tests that inspect the Disk.
type Entry struct {
	Path             string // disk:/a/b.txt, or trash:/b.txt_<40 hex> for trash entries
	Name             string
	Dir              bool
	Size             int64
	MD5              string
	SHA256           string
	ResourceID       string
	Created          time.Time
	Modified         time.Time
	Revision         int64
	CustomProperties map[string]any // nil when none
	OriginPath       string         // trash entries only
	Deleted          time.Time      // trash entries only
}

func (s *Server) entry(n *node, p rpath) Entry {
	e := Entry{Path: p.String(), Name: p.name(), Dir: n.dir, ResourceID: n.resourceID, Created: n.created,
		Modified: n.modified, Revision: n.revision, OriginPath: n.originPath, Deleted: n.deleted}
	if n.origName != "" {
		e.Name = n.origName
	}
	if n.blob != nil {
		e.Size, e.MD5, e.SHA256 = n.blob.size, n.blob.md5, n.blob.sha256
	}
	if len(n.props) > 0 {
		e.CustomProperties = map[string]any{}
		for _, m := range n.props {
			var v any
			if raw, ok := m.val.(json.RawMessage); ok {
				_ = json.Unmarshal(raw, &v)
			}
			e.CustomProperties[m.key] = v
		}
	}
	return e
}

// seedPath parses a path given to a seeding method: "disk:/a", "/a" or "a".
func (s *Server) seedPath(path string) (rpath, error) {
	p, err := parsePath(path, areaDisk, s.appDir)
	if err != nil {
		return p, fmt.Errorf("emulator: path %q: %w", path, err)
	}
	return p, nil
}

// PutFile stores content at path as another device's upload would: parents are created, an
// existing file is replaced. Locks are not checked.
func (s *Server) PutFile(path string, content []byte) error {
	p, err := s.seedPath(path)
	if err != nil {
		return err
	}
	if p.isRoot() {
		return fmt.Errorf("emulator: put %q: the root is a folder", path)
	}
	b, err := s.storeBlob(bytes.NewReader(content), int64(len(content)))
	if err != nil {
		return fmt.Errorf("emulator: put %q: %w", path, err)
	}
	s.lockTree()
	defer s.mu.Unlock()
	if s.mkdirAll(p.parent()) == nil {
		s.discardBlob(b)
		return fmt.Errorf("emulator: put %q: a parent is a file", path)
	}
	if n := s.lookup(p); n != nil && n.dir {
		s.discardBlob(b)
		return fmt.Errorf("emulator: put %q: a folder is there", path)
	}
	s.commitFile(p, b)
	return nil
}

// Mkdir creates a folder and its parents; an existing folder is fine.
func (s *Server) Mkdir(path string) error {
	p, err := s.seedPath(path)
	if err != nil {
		return err
	}
	s.lockTree()
	defer s.mu.Unlock()
	if s.mkdirAll(p) == nil {
		return fmt.Errorf("emulator: mkdir %q: a file is in the way", path)
	}
	return nil
}

// Remove moves a resource to the trash, as a user deleting it on another device.
func (s *Server) Remove(path string) error { return s.removeSeed(path, false) }

// RemovePermanently deletes a resource without the trash.
func (s *Server) RemovePermanently(path string) error { return s.removeSeed(path, true) }

func (s *Server) removeSeed(path string, permanently bool) error {
	p, err := s.seedPath(path)
	if err != nil {
		return err
	}
	s.lockTree()
	defer s.mu.Unlock()
	n := s.lookup(p)
	if n == nil || p.isRoot() {
		return fmt.Errorf("emulator: remove %q: not found", path)
	}
	s.remove(n, p, permanently)
	return nil
}

// Move renames or moves a resource (keeping its resource_id), creating the destination's
// parents. The destination must be free.
func (s *Server) Move(from, to string) error {
	fp, err := s.seedPath(from)
	if err != nil {
		return err
	}
	tp, err := s.seedPath(to)
	if err != nil {
		return err
	}
	s.lockTree()
	defer s.mu.Unlock()
	n := s.lookup(fp)
	switch {
	case n == nil || fp.isRoot():
		return fmt.Errorf("emulator: move %q: not found", from)
	case tp.within(fp):
		return fmt.Errorf("emulator: move %q to %q: destination inside the source", from, to)
	case s.lookup(tp) != nil:
		return fmt.Errorf("emulator: move %q to %q: destination exists", from, to)
	case s.mkdirAll(tp.parent()) == nil:
		return fmt.Errorf("emulator: move %q to %q: a parent is a file", from, to)
	}
	s.place(n, fp, tp, true)
	return nil
}

// ReadFile returns the content of a file.
func (s *Server) ReadFile(path string) ([]byte, error) {
	p, err := s.seedPath(path)
	if err != nil {
		return nil, err
	}
	s.lockTree()
	n := s.lookup(p)
	var b *blob
	if n != nil && !n.dir {
		b = n.blob
	}
	s.mu.Unlock()
	if b == nil {
		return nil, fmt.Errorf("emulator: read %q: not a file", path)
	}
	f, err := b.open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil {
		return nil, fmt.Errorf("emulator: read %q: %w", path, err)
	}
	return buf.Bytes(), nil
}

// Stat describes the resource at path.
func (s *Server) Stat(path string) (Entry, bool) {
	p, err := s.seedPath(path)
	if err != nil {
		return Entry{}, false
	}
	s.lockTree()
	defer s.mu.Unlock()
	n := s.lookup(p)
	if n == nil {
		return Entry{}, false
	}
	return s.entry(n, p), true
}

// Snapshot returns every resource on the Disk (not the trash, not the root) by path.
func (s *Server) Snapshot() map[string]Entry {
	s.lockTree()
	defer s.mu.Unlock()
	out := map[string]Entry{}
	var walk func(n *node, p rpath)
	walk = func(n *node, p rpath) {
		for _, c := range n.children {
			cp := p.child(c.name)
			out[cp.String()] = s.entry(c, cp)
			if c.dir {
				walk(c, cp)
			}
		}
	}
	walk(s.disk, rpath{area: areaDisk})
	return out
}

// Trash returns the top-level trash entries, sorted by path.
func (s *Server) Trash() []Entry {
	s.lockTree()
	defer s.mu.Unlock()
	var out []Entry
	for _, c := range s.trash.sortedChildren() {
		out = append(out, s.entry(c, rpath{area: areaTrash, segs: []string{c.name}}))
	}
	return out
}

// SetProperty sets one custom property (value nil removes it), as a PATCH would.
func (s *Server) SetProperty(path, key string, value any) error {
	p, err := s.seedPath(path)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("emulator: property %q: %w", key, err)
	}
	s.lockTree()
	defer s.mu.Unlock()
	n := s.lookup(p)
	if n == nil {
		return fmt.Errorf("emulator: set property on %q: not found", path)
	}
	n.props = mergeProps(n.props, object{{key, json.RawMessage(raw)}})
	if len(n.props) == 0 {
		n.props, n.propsCleared = nil, true
	}
	n.revision = s.nextRevision()
	return nil
}

// Revision returns the current Disk revision (§10).
func (s *Server) Revision() int64 {
	s.lockTree()
	defer s.mu.Unlock()
	return s.rev
}

// SetQuota changes total_space; uploads beyond it answer 507.
func (s *Server) SetQuota(total int64) {
	s.lockTree()
	s.quota = total
	s.mu.Unlock()
}

// Usage returns used_space and trash_size.
func (s *Server) Usage() (used, trash int64) {
	s.lockTree()
	defer s.mu.Unlock()
	return s.usedBytes, s.trashBytes
}

// Lock makes writes touching path (or its subtree, or its parents' deletion) answer 423
// until Unlock, as a resource busy with another operation (§9.8).
func (s *Server) Lock(path string) error {
	p, err := s.seedPath(path)
	if err != nil {
		return err
	}
	s.lockTree()
	s.locks = append(s.locks, &lock{p: p})
	s.mu.Unlock()
	return nil
}

// Unlock removes the locks Lock put on path.
func (s *Server) Unlock(path string) error {
	p, err := s.seedPath(path)
	if err != nil {
		return err
	}
	s.lockTree()
	defer s.mu.Unlock()
	var rel []*lock
	for _, l := range s.locks {
		if l.p.String() == p.String() && l.until.IsZero() && !s.ownedByOperation(l) {
			rel = append(rel, l)
		}
	}
	s.releaseLocks(rel)
	return nil
}

func (s *Server) ownedByOperation(l *lock) bool {
	for _, op := range s.pending {
		for _, ol := range op.locks {
			if ol == l {
				return true
			}
		}
	}
	return false
}

// PendingOperations reports how many asynchronous operations are still in progress.
func (s *Server) PendingOperations() int {
	s.lockTree()
	defer s.mu.Unlock()
	return len(s.pending)
}
