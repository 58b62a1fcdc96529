package sync

import (
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/yasyncd/yasyncd/internal/pathname"
	"github.com/yasyncd/yasyncd/state"
)

// Op is what a job does.
type Op string

const (
	OpUpload       Op = "upload"
	OpDownload     Op = "download"
	OpMkdirLocal   Op = "mkdir-local"
	OpMkdirRemote  Op = "mkdir-remote"
	OpDeleteLocal  Op = "delete-local"
	OpDeleteRemote Op = "delete-remote"
	// OpMoveLocal renames a local path after a remote rename; OpMoveRemote moves a remote
	// path after a local rename.
	OpMoveLocal  Op = "move-local"
	OpMoveRemote Op = "move-remote"
	// OpRenameLocal / OpRenameRemote give a path a conflict name on that side (a
	// conflict, or a name collision after normalisation); the copy is then synced as new.
	OpRenameLocal  Op = "rename-local"
	OpRenameRemote Op = "rename-remote"
)

// Job is one step of a plan. Its exported fields describe it for display; the engine
// keeps what it needs to execute it (what the plan saw on each side) unexported.
type Job struct {
	ID  int
	Op  Op
	Key string
	// LocalPath and RemotePath are the target, relative to the roots, in each side's spelling.
	LocalPath, RemotePath string
	// FromLocal / FromRemote are the source of a move or rename.
	FromLocal, FromRemote string
	Dir                   bool
	Size                  int64
	// Conflict marks the rename that keeps the losing side of a conflict.
	Conflict bool

	local      *localItem  // the local item the plan saw at the source/target
	remote     *remoteItem // the remote item the plan saw
	replaceMD5 string      // upload/mkdir-remote: delete this remote file (conditionally) first
	replaceDir bool        // upload: the remote folder here is removed first
	trashLocal bool        // download/mkdir-local: the local item here goes to the trash first
	forget     []string    // base keys dropped when the job succeeds
	put        []state.Entry
	deps       []*Job
	// keepJournal: the job's journal record outlives it and is cleared by closes' owner:
	// a conflict rename is half of a step, and until the path that lost its name is
	// written again, a crash must not let the renamed copy look like a user's rename.
	keepJournal bool
	journalID   uint64
	closes      *Job
	fromKey     string // a move's source key
	done        chan struct{}
	err         error

	// after are the moves whose result this move moves again (a file renamed inside a
	// renamed folder): they run first, and they record the base at the path in between,
	// so a crash between the two leaves a base that the next pass sees as one rename.
	after []*Job
}

// Plan is what a pass will do.
type Plan struct {
	Jobs []*Job
	// Record and Forget are state-only updates (both sides already agree).
	Record []state.Entry
	Forget []string
	// DeletesLocal / DeletesRemote count the files each side would lose to deletes
	// (renames excluded); Tracked is the number of files in the base.
	DeletesLocal, DeletesRemote, Tracked int
	Skipped                              []Skip
}

// Write prints the plan, one line per job, for --dry-run.
func (p *Plan) Write(w io.Writer) {
	for _, j := range p.Jobs {
		fmt.Fprintln(w, j.String())
	}
	if len(p.Jobs) == 0 {
		fmt.Fprintln(w, "nothing to transfer")
	}
	if n := len(p.Record) + len(p.Forget); n > 0 {
		fmt.Fprintf(w, "%d path(s) already agree: state updated only\n", n)
	}
	for _, s := range p.Skipped {
		fmt.Fprintf(w, "skip %s: %s\n", s.Path, s.Reason)
	}
}

func (j *Job) String() string {
	switch j.Op {
	case OpUpload:
		return fmt.Sprintf("upload %s (%s)", j.LocalPath, FormatBytes(j.Size))
	case OpDownload:
		return fmt.Sprintf("download %s (%s)", j.RemotePath, FormatBytes(j.Size))
	case OpMkdirLocal:
		return "mkdir local " + j.LocalPath
	case OpMkdirRemote:
		return "mkdir remote " + j.RemotePath
	case OpDeleteLocal:
		return fmt.Sprintf("delete local %s (to trash)", j.LocalPath)
	case OpDeleteRemote:
		return fmt.Sprintf("delete remote %s (to trash)", j.RemotePath)
	case OpMoveLocal:
		return fmt.Sprintf("move local %s → %s", j.FromLocal, j.LocalPath)
	case OpMoveRemote:
		return fmt.Sprintf("move remote %s → %s", j.FromRemote, j.RemotePath)
	case OpRenameLocal:
		return fmt.Sprintf("conflict %s → %s", j.FromLocal, j.LocalPath)
	case OpRenameRemote:
		return fmt.Sprintf("conflict remote %s → %s", j.FromRemote, j.RemotePath)
	}
	return string(j.Op) + " " + j.Key
}

// FormatBytes formats a size in IEC units ("1.5 MiB"), as the Disk's own apps show sizes.
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// node is one key of the merged trees.
type node struct {
	Key string
	B   *state.Entry
	L   *localItem
	R   *remoteItem
	// via is the move job that re-keyed this node's base and one side (it must run first).
	via  *Job
	act  Action
	skip bool
}

// planner turns the three sorted listings into a Plan. It does no I/O.
type planner struct {
	o     *Options
	sc    *scan
	now   time.Time
	nodes []*node
	index map[string]*node
	// taken holds keys allocated by this plan (conflict names), besides existing nodes.
	taken  map[string]bool
	plan   *Plan
	nextID int
	// dirJob is the job that makes a folder exist at its key (mkdir, move, conflict);
	// jobs below it wait for it.
	dirJob map[string]*Job
	// moveRoot maps a move job's target key to the job, to schedule it in key order.
	moveRoot map[string]*Job
	// noMove are keys never taken as the source or target of a rename.
	noMove map[string]bool
	// journal holds the jobs an interrupted pass left unfinished.
	journal []state.JournalRecord
	// late are jobs that remove a whole folder: scheduled after everything else, and
	// after the moves that take something out of that folder.
	late []*Job
	// nested: some move waits for an earlier move (see Job.after), so key order may not
	// put every job after the jobs it waits for.
	nested bool
}

func newPlanner(o *Options, sc *scan) *planner {
	return &planner{
		o: o, sc: sc, now: o.Now(), taken: map[string]bool{}, plan: &Plan{},
		dirJob: map[string]*Job{}, moveRoot: map[string]*Job{},
	}
}

func (p *planner) newJob(op Op, key string) *Job {
	p.nextID++
	return &Job{ID: p.nextID, Op: op, Key: key, done: make(chan struct{})}
}

func (p *planner) build() *Plan {
	for i := range p.sc.base {
		if !p.sc.base[i].Dir {
			p.plan.Tracked++
		}
	}
	p.collisions()
	p.merge()
	if len(p.sc.base) > 0 {
		p.replayMoves()
		// Folders first, outermost first: each round detects the renames inside the
		// folders the previous one moved (against the re-keyed base), until none is left.
		for p.findMoves(true) {
		}
		p.findMoves(false)
	}
	p.decide()
	p.schedule()
	p.plan.Skipped = append(p.plan.Skipped, p.sc.skipped...)
	return p.plan
}

// merge is the merge-join of the three sorted listings: one pass, O(n).
func (p *planner) merge() {
	b, l, r := p.sc.base, p.sc.local, p.sc.remote
	i, j, k := 0, 0, 0
	p.nodes = make([]*node, 0, max(len(b), len(l), len(r)))
	p.index = make(map[string]*node, cap(p.nodes))
	for i < len(b) || j < len(l) || k < len(r) {
		key := ""
		first := true
		pick := func(s string) {
			if first || s < key {
				key, first = s, false
			}
		}
		if i < len(b) {
			pick(b[i].Key)
		}
		if j < len(l) {
			pick(l[j].Key)
		}
		if k < len(r) {
			pick(r[k].Key)
		}
		n := &node{Key: key}
		if i < len(b) && b[i].Key == key {
			n.B = &b[i]
			i++
		}
		if j < len(l) && l[j].Key == key {
			n.L = &l[j]
			j++
		}
		if k < len(r) && r[k].Key == key {
			n.R = &r[k]
			k++
		}
		p.nodes = append(p.nodes, n)
		p.index[key] = n
	}
}

// isTaken reports whether a key is used on any side or allocated by this plan.
func (p *planner) isTaken(key string) bool {
	if p.taken[key] {
		return true
	}
	if p.index != nil {
		if n := p.index[key]; n != nil && (n.B != nil || n.L != nil || n.R != nil) {
			return true
		}
		return false
	}
	has := func(n int, at func(int) string) bool {
		i := sort.Search(n, func(i int) bool { return at(i) >= key })
		return i < n && at(i) == key
	}
	return has(len(p.sc.base), func(i int) string { return p.sc.base[i].Key }) ||
		has(len(p.sc.local), func(i int) string { return p.sc.local[i].Key }) ||
		has(len(p.sc.remote), func(i int) string { return p.sc.remote[i].Key })
}

// conflictName picks a free conflict name next to rel (a path in some side's spelling)
// and returns the new relative path and its key.
func (p *planner) conflictName(rel string) (string, string) {
	dir, name := path.Split(rel)
	dir = strings.TrimSuffix(dir, "/")
	dirKey := pathname.Key(dir)
	newName := pathname.ConflictName(name, p.now, p.o.Host, func(n string) bool {
		return p.isTaken(joinRel(dirKey, pathname.Key(n)))
	})
	newRel := joinRel(dir, newName)
	key := pathname.Key(newRel)
	p.taken[key] = true
	return newRel, key
}

// collisions finds names that are equal after NFC on one side (or after case folding
// between the remote and a case-insensitive local side). They are never merged: the
// second one is renamed to a conflict name on its own side and synced as a new path.
func (p *planner) collisions() {
	resortL, resortR := false, false
	var renamedL, renamedR []*Job // renamed folders: their content moves with them
	oldL, oldR := map[string]bool{}, map[string]bool{}
	for i := 1; i < len(p.sc.local); i++ {
		a, b := &p.sc.local[i-1], &p.sc.local[i]
		if a.Key != b.Key || underAny(a.Path, oldL) || underAny(b.Path, oldL) {
			continue // distinct, or resolved by renaming a folder above
		}
		if base := findBase(p.sc.base, b.Key); base != nil && base.LocalPath == b.Path {
			a, b = b, a // the synced spelling keeps its name
		}
		newRel, key := p.conflictName(b.Path)
		j := p.newJob(OpRenameLocal, key)
		j.FromLocal, j.LocalPath, j.Dir, j.Conflict = b.Path, newRel, b.Dir, true
		le := b.LocalEntry
		j.local = &localItem{Key: b.Key, LocalEntry: le, MD5: b.MD5}
		p.plan.Jobs = append(p.plan.Jobs, j)
		p.plan.Skipped = append(p.plan.Skipped, Skip{Path: b.Path,
			Reason: fmt.Sprintf("name equals %q after Unicode normalisation; renamed to %q", a.Path, newRel)})
		b.Path, b.Key, b.via = newRel, key, j
		if b.Dir {
			renamedL = append(renamedL, j)
			oldL[j.FromLocal] = true
		}
		resortL = true
	}
	fold := map[string]string{}
	if p.o.CaseInsensitive {
		for i := range p.sc.local {
			fold[pathname.FoldKey(p.sc.local[i].Key)] = p.sc.local[i].Key
		}
	}
	for i := range p.sc.remote {
		r := &p.sc.remote[i]
		if underAny(r.Rel, oldR) {
			continue
		}
		dup := i > 0 && p.sc.remote[i-1].Key == r.Key && !underAny(p.sc.remote[i-1].Rel, oldR)
		if base := findBase(p.sc.base, r.Key); dup && base != nil && base.RemotePath == r.Rel {
			r = &p.sc.remote[i-1] // the synced spelling keeps its name
		}
		if !dup && p.o.CaseInsensitive && findBase(p.sc.base, r.Key) == nil {
			if other, ok := fold[pathname.FoldKey(r.Key)]; ok && other != r.Key {
				dup = true
			}
		}
		if p.o.CaseInsensitive {
			if _, ok := fold[pathname.FoldKey(r.Key)]; !ok {
				fold[pathname.FoldKey(r.Key)] = r.Key
			}
		}
		if !dup {
			continue
		}
		newRel, key := p.conflictName(r.Rel)
		j := p.newJob(OpRenameRemote, key)
		j.FromRemote, j.RemotePath, j.Dir, j.Conflict = r.Rel, newRel, r.Dir, true
		j.remote = &remoteItem{Key: r.Key, Rel: r.Rel, Dir: r.Dir}
		p.plan.Jobs = append(p.plan.Jobs, j)
		p.plan.Skipped = append(p.plan.Skipped, Skip{Path: r.Rel,
			Reason: fmt.Sprintf("remote name collides with another after normalisation or case folding; renamed to %q", newRel)})
		r.Rel, r.Key, r.via = newRel, key, j
		if p.o.CaseInsensitive {
			fold[pathname.FoldKey(key)] = key
		}
		if r.Dir {
			renamedR = append(renamedR, j)
			oldR[j.FromRemote] = true
		}
		resortR = true
	}
	for _, j := range renamedL {
		for i := range p.sc.local {
			it := &p.sc.local[i]
			if it.via == nil && strings.HasPrefix(it.Path, j.FromLocal+"/") {
				it.Path = j.LocalPath + it.Path[len(j.FromLocal):]
				it.Key, it.via = pathname.Key(it.Path), j
			}
		}
	}
	for _, j := range renamedR {
		for i := range p.sc.remote {
			it := &p.sc.remote[i]
			if it.via == nil && strings.HasPrefix(it.Rel, j.FromRemote+"/") {
				it.Rel = j.RemotePath + it.Rel[len(j.FromRemote):]
				it.Key, it.via = pathname.Key(it.Rel), j
			}
		}
	}
	if resortL {
		sort.SliceStable(p.sc.local, func(i, j int) bool { return p.sc.local[i].Key < p.sc.local[j].Key })
	}
	if resortR {
		sort.SliceStable(p.sc.remote, func(i, j int) bool { return p.sc.remote[i].Key < p.sc.remote[j].Key })
	}
}

// localPathOf is where key is (or will be) on the local side, in its spelling: new paths
// take their parent's local spelling and the other side's name.
func (p *planner) localPathOf(key string) string {
	if key == "" {
		return ""
	}
	n := p.index[key]
	switch {
	case n == nil:
		return key
	case n.L != nil:
		return n.L.Path
	case n.B != nil && n.via == nil:
		return n.B.LocalPath
	case n.R != nil:
		return joinRel(p.localPathOf(parentKey(key)), baseName(n.R.Rel))
	case n.B != nil:
		return n.B.LocalPath
	}
	return key
}

// remotePathOf is where key is (or will be) on the remote side, relative to the root.
func (p *planner) remotePathOf(key string) string {
	if key == "" {
		return ""
	}
	n := p.index[key]
	switch {
	case n == nil:
		return key
	case n.R != nil:
		return n.R.Rel
	case n.B != nil && n.via == nil:
		return n.B.RemotePath
	case n.L != nil:
		return joinRel(p.remotePathOf(parentKey(key)), baseName(n.L.Path))
	case n.B != nil:
		return n.B.RemotePath
	}
	return key
}

// findMoves detects renames of folders (dirs=true) or files on either side and re-keys
// the base and the other side's items to the new path, so the moved paths are then
// decided like any other (a move plus an edit becomes a move, then the edit).
//
// A local rename: a base path gone locally but still on the remote, and a new local path
// absent from the base and the remote, with the same inode (or, for files, the same size
// and md5, when that pair is unique). A remote rename: the same with resource_id.
// A move is detected only when the other side still has the source: a move against a
// delete is then a delete plus a new path, so the moved file survives.
//
// A source may be a path that an earlier move re-keyed (a file renamed inside a renamed
// folder): it is then matched against the re-keyed base exactly like any other, and its
// move waits for the earlier one (rekey). It reports whether it found a move; folders
// are searched again until it finds none, so renames nest to any depth.
func (p *planner) findMoves(dirs bool) bool {
	type cand struct{ src, dst []*node }
	localByInode := map[uint64][]*node{}
	remoteByID := map[string][]*node{}
	localByHash := map[string]*cand{}
	remoteByHash := map[string]*cand{}
	hashKey := func(size int64, md5 string) string { return fmt.Sprintf("%d:%s", size, md5) }
	allowLocal := p.o.Mode != DownloadOnly // a local rename changes the remote
	allowRemote := p.o.Mode != UploadOnly

	var lsrc, rsrc []*node
	for _, n := range p.nodes {
		if p.noMove[n.Key] {
			continue
		}
		switch {
		case n.B != nil && n.B.Dir == dirs && n.L == nil && n.R != nil && n.R.Dir == dirs && n.R.via == nil && allowLocal:
			lsrc = append(lsrc, n)
			if !dirs {
				c := localByHash[hashKey(n.B.Size, n.B.MD5)]
				if c == nil {
					c = &cand{}
					localByHash[hashKey(n.B.Size, n.B.MD5)] = c
				}
				c.src = append(c.src, n)
			}
		case n.B == nil && n.L != nil && n.L.Dir == dirs && n.R == nil && !n.L.unstable && n.L.via == nil && allowLocal:
			if n.L.Inode != 0 {
				localByInode[n.L.Inode] = append(localByInode[n.L.Inode], n)
			}
			if !dirs {
				c := localByHash[hashKey(n.L.Size, n.L.MD5)]
				if c == nil {
					c = &cand{}
					localByHash[hashKey(n.L.Size, n.L.MD5)] = c
				}
				c.dst = append(c.dst, n)
			}
		}
		switch {
		case n.B != nil && n.B.Dir == dirs && n.R == nil && n.L != nil && n.L.Dir == dirs && !n.L.unstable && n.L.via == nil && allowRemote:
			rsrc = append(rsrc, n)
			if !dirs {
				c := remoteByHash[hashKey(n.B.Size, n.B.MD5)]
				if c == nil {
					c = &cand{}
					remoteByHash[hashKey(n.B.Size, n.B.MD5)] = c
				}
				c.src = append(c.src, n)
			}
		case n.B == nil && n.R != nil && n.R.Dir == dirs && n.L == nil && n.R.via == nil && allowRemote:
			if n.R.ResourceID != "" {
				remoteByID[n.R.ResourceID] = append(remoteByID[n.R.ResourceID], n)
			}
			if !dirs && n.R.MD5 != "" {
				c := remoteByHash[hashKey(n.R.Size, n.R.MD5)]
				if c == nil {
					c = &cand{}
					remoteByHash[hashKey(n.R.Size, n.R.MD5)] = c
				}
				c.dst = append(c.dst, n)
			}
		}
	}
	used := map[*node]bool{}
	var moved []string // source keys already moved: their descendants move with them
	under := func(key string) bool {
		for _, m := range moved {
			if strings.HasPrefix(key, m+"/") {
				return true
			}
		}
		return false
	}
	changed := false
	try := func(src, dst *node, local bool) {
		if used[src] || used[dst] || under(src.Key) || under(dst.Key) || strings.HasPrefix(dst.Key, src.Key+"/") {
			return
		}
		if p.rekey(src, dst, local) {
			used[src], used[dst] = true, true
			moved = append(moved, src.Key)
			changed = true
		}
	}
	for _, s := range lsrc {
		if s.B == nil { // already moved with its folder
			continue
		}
		var dst *node
		if c := localByInode[s.B.Inode]; s.B.Inode != 0 && len(c) == 1 {
			dst = c[0]
		} else if c := localByHash[hashKey(s.B.Size, s.B.MD5)]; !dirs && c != nil && len(c.src) == 1 && len(c.dst) == 1 {
			dst = c.dst[0]
		}
		// Edited on both ends of a rename is not taken for one: the remote edit stays
		// at its path and the renamed copy is a new file (both kept).
		if dst != nil && (s.R.version().Same(baseVersion(s.B)) || dst.L.version().Same(baseVersion(s.B))) {
			try(s, dst, true)
		}
	}
	for _, s := range rsrc {
		if s.B == nil { // already moved with its folder
			continue
		}
		var dst *node
		if c := remoteByID[s.B.ResourceID]; s.B.ResourceID != "" && len(c) == 1 {
			dst = c[0]
		} else if c := remoteByHash[hashKey(s.B.Size, s.B.MD5)]; !dirs && c != nil && len(c.src) == 1 && len(c.dst) == 1 {
			dst = c.dst[0]
		}
		if dst != nil && (s.L.version().Same(baseVersion(s.B)) || dst.R.version().Same(baseVersion(s.B))) {
			try(s, dst, false)
		}
	}
	if changed {
		p.compact()
	}
	return changed
}

// replayMoves finishes, in the base, the moves an interrupted pass made on one side but
// did not record: the moved path is then the same file on both sides, not a new file on
// each (which would be a spurious conflict when the moved file was also edited).
func (p *planner) replayMoves() {
	changed := false
	for _, rec := range p.journal {
		op := Op(rec.Op)
		if op != OpMoveLocal && op != OpMoveRemote {
			continue
		}
		src, dst := p.index[pathname.Key(rec.From)], p.index[rec.Key]
		if src == nil || dst == nil || src == dst || src.B == nil || dst.B != nil || src.via != nil {
			continue
		}
		var newL, newR string
		switch {
		case op == OpMoveRemote && src.R == nil && dst.R != nil && dst.L != nil:
			newL, newR = dst.L.Path, dst.R.Rel
		case op == OpMoveLocal && src.L == nil && dst.L != nil && dst.R != nil:
			newL, newR = dst.L.Path, dst.R.Rel
		default:
			continue // not done: detected again as a move, or planned afresh
		}
		oldL, oldR := src.B.LocalPath, src.B.RemotePath
		subtree := p.subtree(src)
		for _, n := range subtree {
			if n.B == nil {
				continue
			}
			key := dst.Key + n.Key[len(src.Key):]
			t := p.index[key]
			if t == nil {
				t = &node{Key: key}
				p.index[key] = t
				p.nodes = append(p.nodes, t)
			}
			if t.B != nil {
				continue
			}
			b := *n.B
			b.Key = key
			b.LocalPath = swapPrefix(b.LocalPath, oldL, newL)
			b.RemotePath = swapPrefix(b.RemotePath, oldR, newR)
			t.B, n.B = &b, nil
			// Record what the interrupted move job would have: the base under the new
			// key, before any job for it runs.
			p.plan.Forget = append(p.plan.Forget, n.Key)
			p.plan.Record = append(p.plan.Record, b)
		}
		changed = true
	}
	if changed {
		p.compact()
	}
}

// subtree is n and every node below it. The keys below n are one contiguous run
// starting at n.Key+"/", but not always right after n: "c (1)" sorts between "c" and "c/x".
func (p *planner) subtree(n *node) []*node {
	out := []*node{n}
	prefix := n.Key + "/"
	lo := sort.Search(len(p.nodes), func(i int) bool { return p.nodes[i].Key >= prefix })
	for i := lo; i < len(p.nodes) && strings.HasPrefix(p.nodes[i].Key, prefix); i++ {
		out = append(out, p.nodes[i])
	}
	return out
}

// compact drops emptied nodes and restores key order.
func (p *planner) compact() {
	out := p.nodes[:0]
	for _, n := range p.nodes {
		if n.B != nil || n.L != nil || n.R != nil {
			out = append(out, n)
		} else {
			delete(p.index, n.Key)
		}
	}
	p.nodes = out
	sort.Slice(p.nodes, func(i, j int) bool { return p.nodes[i].Key < p.nodes[j].Key })
}

func swapPrefix(p, oldPrefix, newPrefix string) string {
	if p == oldPrefix {
		return newPrefix
	}
	if strings.HasPrefix(p, oldPrefix+"/") {
		return newPrefix + p[len(oldPrefix):]
	}
	return p
}

// rekey applies one detected move from src to dst. local says the user renamed on the
// local side (so the remote side moves). The base entries and the other side's items at
// and below src move to dst's key; the job that performs the move is attached to them.
// When an earlier move of this plan re-keyed some of them, the new move waits for it, and
// the earlier move records their base where it leaves them (the path in between).
func (p *planner) rekey(src, dst *node, local bool) bool {
	subtree := p.subtree(src)
	target := func(key string) string { return dst.Key + key[len(src.Key):] }
	// after: the moves that re-keyed what this one moves again (a rename inside a renamed
	// folder), or that put dst's items where they are.
	var after []*Job
	addAfter := func(m *Job) {
		if m != nil && !slices.Contains(after, m) {
			after = append(after, m)
		}
	}
	for _, n := range subtree {
		t := p.index[target(n.Key)]
		if t != nil && t != dst && (t.B != nil || (local && t.R != nil) || (!local && t.L != nil)) {
			return false // the target tree is not free: not a clean move
		}
		if n.via != nil && p.moveRoot[n.Key] == n.via {
			return false // the target of another move: moved once only
		}
		addAfter(n.via)
		if t != nil {
			addAfter(t.via)
		}
	}
	if waitsFor(after, dst.Key) {
		// An earlier move puts its path below dst, so it would wait for this move's
		// folder while this move waits for it: a folder moved into its own subfolder that
		// had been moved out first. Not taken for a move: planned as before (the paths
		// are transferred again, nothing is lost).
		return false
	}
	var j *Job
	var oldL, newL, oldR, newR string
	if local {
		j = p.newJob(OpMoveRemote, dst.Key)
		oldR = src.R.Rel
		newR = joinRel(p.remotePathOf(parentKey(dst.Key)), baseName(dst.L.Path))
		oldL, newL = src.B.LocalPath, dst.L.Path
		j.FromRemote, j.RemotePath, j.LocalPath = oldR, newR, newL
	} else {
		j = p.newJob(OpMoveLocal, dst.Key)
		oldL = src.L.Path
		newL = joinRel(p.localPathOf(parentKey(dst.Key)), baseName(dst.R.Rel))
		oldR, newR = src.B.RemotePath, dst.R.Rel
		j.FromLocal, j.LocalPath, j.RemotePath = oldL, newL, newR
		le := src.L.LocalEntry
		j.local = &localItem{Key: src.L.Key, LocalEntry: le, MD5: src.L.MD5}
	}
	j.Dir = dst.Key != "" && src.B.Dir
	if !j.Dir {
		j.Size = src.B.Size
	}
	j.after = after
	j.deps = append(j.deps, after...)
	p.nested = p.nested || len(after) > 0
	for _, n := range subtree {
		key := target(n.Key)
		t := p.index[key]
		if t == nil {
			t = &node{Key: key}
			p.index[key] = t
			p.nodes = append(p.nodes, t)
		}
		if n.B != nil {
			if n.via != nil {
				// The earlier move records the base where it leaves the path; this one
				// moves it on from there.
				n.via.put = append(n.via.put, *n.B)
			}
			b := *n.B
			j.forget = append(j.forget, b.Key)
			b.Key = key
			b.LocalPath = swapPrefix(b.LocalPath, oldL, newL)
			b.RemotePath = swapPrefix(b.RemotePath, oldR, newR)
			t.B, n.B = &b, nil
		}
		if local && n.R != nil {
			r := *n.R
			r.Key, r.Rel = key, swapPrefix(r.Rel, oldR, newR)
			t.R, n.R = &r, nil
		}
		if !local && n.L != nil {
			l := *n.L
			l.Key, l.Path = key, swapPrefix(l.Path, oldL, newL)
			t.L, n.L = &l, nil
		}
		t.via = j
	}
	j.fromKey = src.Key
	p.moveRoot[dst.Key] = j
	return true
}

// waitsFor reports whether one of the moves, or a move they wait for, puts its path at
// or below key: a job there waits for the job that makes key's folder exist.
func waitsFor(moves []*Job, key string) bool {
	for _, m := range moves {
		if m.Key == key || strings.HasPrefix(m.Key, key+"/") || waitsFor(m.after, key) {
			return true
		}
	}
	return false
}

// decide runs the reconciler on every node, children before parents, and enforces the
// folder rule: a folder is deleted only when everything under it goes with it.
func (p *planner) decide() {
	// keepL/keepR: some path below the key will exist on that side after the pass.
	keepL, keepR := map[string]bool{}, map[string]bool{}
	for k := range p.sc.exclLocal {
		keepL[k] = true
	}
	for k := range p.sc.exclRemote {
		keepR[k] = true
	}
	for i := len(p.nodes) - 1; i >= 0; i-- {
		n := p.nodes[i]
		b, l, r := baseVersion(n.B), n.L.version(), n.R.version()
		act := Decide(b, l, r)
		if n.L != nil && n.L.unstable {
			act, n.skip = ActNone, true
		}
		if act == ActWait {
			p.plan.Skipped = append(p.plan.Skipped, Skip{Path: n.R.Rel, Reason: "the Disk has not computed the file's hash yet; checked again on the next pass"})
			act, n.skip = ActNone, true
		}
		act = p.policy(n, act)
		switch {
		case act == ActDeleteRemote && n.R.Dir && keepR[n.Key]:
			act = ActMkdirLocal // something below stays on the remote: recreate the folder
		case act == ActDeleteLocal && n.L.Dir && keepL[n.Key]:
			act = ActMkdirRemote
		case act == ActUpload && n.R != nil && n.R.Dir && keepR[n.Key]:
			act = ActConflictLocalFile
		case act == ActDownload && n.L != nil && n.L.Dir && keepL[n.Key]:
			act = ActConflictRemoteFile
		}
		act = p.restrict(n, act)
		n.act = act

		afterL, afterR := n.L != nil, n.R != nil
		if !n.skip {
			switch act {
			case ActForget, ActDeleteLocal, ActDeleteRemote:
				afterL, afterR = false, false
			case ActDownload, ActUpload, ActMkdirLocal, ActMkdirRemote, ActConflict,
				ActConflictLocalFile, ActConflictRemoteFile:
				afterL, afterR = true, true
			}
		}
		pk := parentKey(n.Key)
		if afterL || keepL[n.Key] {
			keepL[pk] = true
		}
		if afterR || keepR[n.Key] {
			keepR[pk] = true
		}
	}
}

// policy resolves a two-file conflict by the configured policy: keep-both stays a
// conflict; otherwise the winner replaces the loser, whose bytes go to a trash.
func (p *planner) policy(n *node, act Action) Action {
	if act != ActConflict {
		return act
	}
	switch p.o.Mode {
	case UploadOnly:
		return ActUpload
	case DownloadOnly:
		return ActDownload
	}
	switch p.o.Conflict {
	case LocalWins:
		return ActUpload
	case RemoteWins:
		return ActDownload
	case Newer:
		lt, rt := n.L.Mtime, n.R.fileMtime()
		switch {
		case lt.After(rt):
			return ActUpload
		case rt.After(lt):
			return ActDownload
		}
	}
	return ActConflict
}

// restrict enforces the mode: upload-only never changes the local side, download-only
// never the remote side. A restricted action leaves the path alone (and the base as is).
func (p *planner) restrict(n *node, act Action) Action {
	var blocked bool
	switch p.o.Mode {
	case UploadOnly:
		switch act {
		case ActDownload, ActMkdirLocal, ActDeleteLocal, ActConflictLocalFile, ActConflictRemoteFile:
			blocked = true
		}
	case DownloadOnly:
		switch act {
		case ActUpload, ActMkdirRemote, ActDeleteRemote, ActConflictLocalFile, ActConflictRemoteFile:
			blocked = true
		}
	}
	if !blocked {
		return act
	}
	if act == ActConflictLocalFile || act == ActConflictRemoteFile {
		p.plan.Skipped = append(p.plan.Skipped, Skip{Path: n.Key, Reason: "a file and a folder conflict; resolve it in two-way mode"})
	}
	n.skip = true
	return ActNone
}

// schedule turns the decisions into jobs in key order, so a folder's job always comes
// before the jobs below it (and the executor can wait on it without deadlock).
func (p *planner) schedule() {
	pre := p.preMoveDeletes()
	coveredBy := map[string]*Job{} // folder key → the job deleting the whole folder
	for _, n := range p.nodes {
		if pre[n] {
			continue
		}
		if mj := p.moveRoot[n.Key]; mj != nil {
			p.deps(mj, n.Key)
			p.plan.Jobs = append(p.plan.Jobs, mj)
			if mj.Dir {
				p.dirJob[n.Key] = mj
			}
		}
		if cj := coveredBy[parentKey(n.Key)]; cj != nil {
			// Deleted with its folder in one operation (the folder rule guarantees that
			// this path is being deleted on the same side, or is already gone).
			if n.B != nil {
				cj.forget = append(cj.forget, n.Key)
				if !n.B.Dir {
					p.countDelete(cj.Op)
				}
			}
			coveredBy[n.Key] = cj
			continue
		}
		if n.skip {
			if n.via != nil && n.B != nil {
				n.via.put = append(n.via.put, *n.B) // the base moves even if the path waits
			}
			continue
		}
		p.jobsFor(n, coveredBy)
	}
	// Nothing waits for a job that removes a folder, so they can all go last; each waits
	// for the moves out of its folder, or the move would find its source gone.
	for _, j := range p.late {
		localSide := j.Op == OpDeleteLocal || j.Op == OpDownload
		for _, m := range p.moveRoot {
			if (m.Op == OpMoveLocal) == localSide && strings.HasPrefix(m.fromKey, j.Key+"/") {
				j.deps = append(j.deps, m)
			}
		}
		p.add(j)
	}
	if p.nested {
		p.plan.Jobs = depsFirst(p.plan.Jobs)
	}
}

// depsFirst reorders jobs so that each comes after the jobs it depends on (the executor
// needs that to never deadlock), keeping the key order otherwise. Key order alone is
// not enough when a move moves again what another move re-keyed: a file renamed out of
// a renamed folder to a key that sorts before the folder's new key.
func depsFirst(jobs []*Job) []*Job {
	const pending, visiting, placed = 1, 2, 3
	mark := make(map[*Job]int8, len(jobs)) // 0: not in this plan
	for _, j := range jobs {
		mark[j] = pending
	}
	out := make([]*Job, 0, len(jobs))
	var visit func(j *Job)
	visit = func(j *Job) {
		if mark[j] != pending {
			return // placed, not in the plan, or a cycle (which the planner never makes)
		}
		mark[j] = visiting
		for _, d := range j.deps {
			visit(d)
		}
		mark[j] = placed
		out = append(out, j)
	}
	for _, j := range jobs {
		visit(j)
	}
	return out
}

// countDelete counts one file lost to a delete on the side that op changes (a download
// or upload replacing a whole folder deletes below it too).
// preMoveDeletes plans, before any move, the deletes inside a moved folder that the move
// would otherwise carry to the new path first: a local folder rename plus a file deleted
// in it deletes the remote file at its old path, then moves the folder. So a crash between
// the two never leaves a path on one side that neither side had before.
func (p *planner) preMoveDeletes() map[*node]bool {
	pre := map[*node]bool{}
	preDir := map[string]*Job{} // new key of a pre-deleted folder → its job
	for _, n := range p.nodes {
		via := n.via
		if via == nil || n.skip || n.Key == via.Key {
			continue
		}
		oldKey := via.fromKey + n.Key[len(via.Key):]
		if dj := preDir[parentKey(n.Key)]; dj != nil {
			pre[n] = true
			if n.B != nil {
				dj.forget = append(dj.forget, oldKey)
				if !n.B.Dir {
					p.countDelete(dj.Op)
				}
			}
			if n.L != nil && n.L.Dir || n.R != nil && n.R.Dir {
				preDir[n.Key] = dj
			}
			continue
		}
		localDel := n.act == ActDeleteLocal && via.Op == OpMoveLocal
		if dir := localDel && n.L.Dir || n.act == ActDeleteRemote && via.Op == OpMoveRemote && n.R.Dir; dir && p.movesOutOf(n.Key, localDel) {
			// A later move takes something out of this folder (a rename inside a renamed
			// folder): the folder goes after it, at its new path, as a late job.
			continue
		}
		var j *Job
		switch {
		case n.act == ActDeleteRemote && via.Op == OpMoveRemote:
			j = p.newJob(OpDeleteRemote, oldKey)
			j.RemotePath = via.FromRemote + n.R.Rel[len(via.RemotePath):]
			j.LocalPath, j.Dir, j.Size, j.remote = n.L.pathOr(j.RemotePath), n.R.Dir, n.R.Size, n.R
		case n.act == ActDeleteLocal && via.Op == OpMoveLocal:
			j = p.newJob(OpDeleteLocal, oldKey)
			j.LocalPath = via.FromLocal + n.L.Path[len(via.LocalPath):]
			j.RemotePath, j.Dir, j.Size, j.local = j.LocalPath, n.L.Dir, n.L.Size, n.L
		default:
			continue
		}
		// The old path exists once the moves before via have run (a delete inside a
		// folder renamed twice, or inside a renamed folder's renamed subfolder).
		j.deps = append(j.deps, via.after...)
		pre[n] = true
		if n.B != nil {
			j.forget = append(j.forget, oldKey)
			if !n.B.Dir {
				p.countDelete(j.Op)
			}
		}
		if j.Dir {
			preDir[n.Key] = j
		}
		via.deps = append(via.deps, j)
		p.add(j)
	}
	return pre
}

// movesOutOf reports whether a move on that side (local: a local rename) takes a path
// out from below key.
func (p *planner) movesOutOf(key string, local bool) bool {
	for _, m := range p.moveRoot {
		if (m.Op == OpMoveLocal) == local && strings.HasPrefix(m.fromKey, key+"/") {
			return true
		}
	}
	return false
}

func (it *localItem) pathOr(alt string) string {
	if it == nil {
		return alt
	}
	return it.Path
}

func (p *planner) countDelete(op Op) {
	if op == OpDeleteLocal || op == OpDownload {
		p.plan.DeletesLocal++
	} else {
		p.plan.DeletesRemote++
	}
}

// entryFor is the base entry for a path both sides agree on.
func entryFor(key string, l *localItem, r *remoteItem) state.Entry {
	e := state.Entry{Key: key, LocalPath: l.Path, RemotePath: r.Rel, Dir: l.Dir, Inode: l.Inode,
		ResourceID: r.ResourceID, RemoteModified: r.Modified, RemoteRevision: r.Revision}
	if !l.Dir {
		e.Size, e.MD5, e.SHA256, e.LocalMtime = l.Size, l.MD5, r.SHA256, l.Mtime
	}
	return e
}

// stale reports whether the base entry's bookkeeping (paths, cheap-filter fields, ids)
// differs from what the sides hold now although the content is the same.
func stale(b *state.Entry, e state.Entry) bool {
	return b.LocalPath != e.LocalPath || b.RemotePath != e.RemotePath || b.Inode != e.Inode ||
		!b.LocalMtime.Equal(e.LocalMtime) || b.ResourceID != e.ResourceID || b.Dir != e.Dir
}

// deps makes n wait for the job that makes its nearest folder exist (a mkdir, a move
// of a folder above it, a conflict's folder) and for the extra jobs.
func (p *planner) deps(n *Job, key string, extra ...*Job) {
	for k := parentKey(key); ; k = parentKey(k) {
		if pj := p.dirJob[k]; pj != nil {
			n.deps = append(n.deps, pj)
			break
		}
		if k == "" {
			break
		}
	}
	for _, x := range extra {
		if x != nil && x != n {
			n.deps = append(n.deps, x)
		}
	}
}

func (p *planner) add(j *Job) { p.plan.Jobs = append(p.plan.Jobs, j) }

func itemVia(n *node) []*Job {
	var v []*Job
	v = append(v, n.via)
	if n.L != nil {
		v = append(v, n.L.via)
	}
	if n.R != nil {
		v = append(v, n.R.via)
	}
	return v
}

func (p *planner) jobsFor(n *node, coveredBy map[string]*Job) {
	lp, rp := p.localPathOf(n.Key), p.remotePathOf(n.Key)
	via := itemVia(n)
	switch n.act {
	case ActNone, ActRecord:
		if n.L == nil || n.R == nil {
			return
		}
		e := entryFor(n.Key, n.L, n.R)
		switch {
		case n.via != nil:
			n.via.put = append(n.via.put, e)
		case n.act == ActRecord || n.B == nil || stale(n.B, e):
			p.plan.Record = append(p.plan.Record, e)
		}
		return
	case ActForget:
		if n.B != nil && n.via == nil {
			p.plan.Forget = append(p.plan.Forget, n.Key)
		}
		return
	}
	if n.via != nil && n.B != nil {
		// The move job records the moved base; this job then updates it.
		n.via.put = append(n.via.put, *n.B)
	}
	switch n.act {
	case ActDownload:
		j := p.newJob(OpDownload, n.Key)
		j.LocalPath, j.RemotePath, j.Size, j.remote = lp, rp, n.R.Size, n.R
		if n.L != nil {
			j.local = n.L
			j.trashLocal = n.L.Dir
			if n.L.Dir {
				coveredBy[n.Key] = j
			}
		}
		p.deps(j, n.Key, via...)
		if j.trashLocal {
			p.late = append(p.late, j)
		} else {
			p.add(j)
		}
	case ActUpload:
		j := p.newJob(OpUpload, n.Key)
		j.LocalPath, j.RemotePath, j.Size, j.local = lp, rp, n.L.Size, n.L
		if n.R != nil {
			j.remote = n.R
			if n.R.Dir {
				j.replaceDir = true // the folder rule made sure nothing below it stays
				coveredBy[n.Key] = j
			} else {
				j.replaceMD5 = n.R.MD5
			}
		}
		p.deps(j, n.Key, via...)
		if j.replaceDir {
			p.late = append(p.late, j)
		} else {
			p.add(j)
		}
	case ActMkdirLocal:
		j := p.newJob(OpMkdirLocal, n.Key)
		j.LocalPath, j.RemotePath, j.Dir, j.remote = lp, rp, true, n.R
		if n.L != nil && !n.L.Dir {
			j.local, j.trashLocal = n.L, true
		}
		p.deps(j, n.Key, via...)
		p.add(j)
		p.dirJob[n.Key] = j
	case ActMkdirRemote:
		j := p.newJob(OpMkdirRemote, n.Key)
		j.LocalPath, j.RemotePath, j.Dir, j.local = lp, rp, true, n.L
		if n.R != nil && !n.R.Dir {
			j.remote, j.replaceMD5 = n.R, n.R.MD5
		}
		p.deps(j, n.Key, via...)
		p.add(j)
		p.dirJob[n.Key] = j
	case ActDeleteLocal:
		j := p.newJob(OpDeleteLocal, n.Key)
		j.LocalPath, j.RemotePath, j.Dir, j.local = lp, rp, n.L.Dir, n.L
		j.Size = n.L.Size
		if n.B != nil {
			j.forget = append(j.forget, n.Key)
			if !n.B.Dir {
				p.countDelete(OpDeleteLocal)
			}
		}
		p.deps(j, n.Key, via...)
		if n.L.Dir {
			coveredBy[n.Key] = j
			p.late = append(p.late, j)
		} else {
			p.add(j)
		}
	case ActDeleteRemote:
		j := p.newJob(OpDeleteRemote, n.Key)
		j.LocalPath, j.RemotePath, j.Dir, j.remote = lp, rp, n.R.Dir, n.R
		j.Size = n.R.Size
		if n.B != nil {
			j.forget = append(j.forget, n.Key)
			if !n.B.Dir {
				p.countDelete(OpDeleteRemote)
			}
		}
		p.deps(j, n.Key, via...)
		if n.R.Dir {
			coveredBy[n.Key] = j
			p.late = append(p.late, j)
		} else {
			p.add(j)
		}
	case ActConflict, ActConflictLocalFile:
		// Keep both: the remote version keeps the name; the local one is renamed to a
		// conflict name and uploaded as a new file. File vs folder: the folder keeps it.
		newRel, key := p.conflictName(lp)
		rn := p.newJob(OpRenameLocal, key)
		rn.FromLocal, rn.LocalPath, rn.Conflict, rn.local = lp, newRel, true, n.L
		rn.keepJournal = true
		p.deps(rn, n.Key, via...)
		p.add(rn)
		up := p.newJob(OpUpload, key)
		moved := *n.L
		moved.Key, moved.Path = key, newRel
		up.LocalPath, up.RemotePath, up.Size, up.local = newRel, joinRel(p.remotePathOf(parentKey(n.Key)), baseName(newRel)), n.L.Size, &moved
		up.deps = []*Job{rn}
		if n.act == ActConflict {
			dl := p.newJob(OpDownload, n.Key)
			dl.LocalPath, dl.RemotePath, dl.Size, dl.remote = lp, rp, n.R.Size, n.R
			dl.deps, dl.closes = []*Job{rn}, rn
			p.add(dl)
		} else {
			mk := p.newJob(OpMkdirLocal, n.Key)
			mk.LocalPath, mk.RemotePath, mk.Dir, mk.remote = lp, rp, true, n.R
			mk.deps, mk.closes = []*Job{rn}, rn
			p.add(mk)
			p.dirJob[n.Key] = mk
		}
		p.add(up)
	case ActConflictRemoteFile:
		// A remote file against a local folder: the folder keeps the name, the remote
		// file moves to a conflict name and is downloaded from there.
		newRel, key := p.conflictName(rp)
		rn := p.newJob(OpRenameRemote, key)
		rn.FromRemote, rn.RemotePath, rn.Conflict, rn.remote = rp, newRel, true, n.R
		rn.keepJournal = true
		p.deps(rn, n.Key, via...)
		p.add(rn)
		mk := p.newJob(OpMkdirRemote, n.Key)
		mk.LocalPath, mk.RemotePath, mk.Dir, mk.local = lp, rp, true, n.L
		mk.deps, mk.closes = []*Job{rn}, rn
		p.add(mk)
		p.dirJob[n.Key] = mk
		moved := *n.R
		moved.Key, moved.Rel = key, newRel
		dl := p.newJob(OpDownload, key)
		dl.LocalPath = joinRel(p.localPathOf(parentKey(n.Key)), baseName(newRel))
		dl.RemotePath, dl.Size, dl.remote = newRel, n.R.Size, &moved
		dl.deps = []*Job{rn}
		p.add(dl)
	}
}
