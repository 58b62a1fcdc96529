package sync

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/yasyncd/yasyncd/client"
	"github.com/yasyncd/yasyncd/internal/pathname"
	"github.com/yasyncd/yasyncd/state"
)

// mtimeProperty is the custom property that carries a file's local modification time on
// the Disk (whose own `modified` is the upload time and cannot be set).
const mtimeProperty = "yasyncd_mtime"

// localItem is one local path as the pass sees it: the walk's entry plus its md5.
type localItem struct {
	Key string
	LocalEntry
	MD5 string
	// unstable: the file kept changing or could not be read; the path is left alone
	// this pass (and never taken for deleted).
	unstable bool
	// via is a job that must finish before this item is at Path (a collision rename).
	via *Job
}

func (it *localItem) version() Version {
	if it == nil {
		return Version{}
	}
	if it.Dir {
		return Version{Kind: Dir}
	}
	return Version{Kind: File, Size: it.Size, MD5: it.MD5}
}

// remoteItem is one remote path: Rel is relative to the remote root, in the Disk's spelling.
type remoteItem struct {
	Key, Rel   string
	Dir        bool
	Size       int64
	MD5        string
	SHA256     string
	ResourceID string
	Modified   time.Time
	Mtime      time.Time // from the yasyncd_mtime property; zero when absent
	Revision   int64
	via        *Job
}

func (it *remoteItem) version() Version {
	if it == nil {
		return Version{}
	}
	if it.Dir {
		return Version{Kind: Dir}
	}
	return Version{Kind: File, Size: it.Size, MD5: it.MD5}
}

// fileMtime is the modification time a download gives the local file.
func (it *remoteItem) fileMtime() time.Time {
	if !it.Mtime.IsZero() {
		return it.Mtime
	}
	return it.Modified
}

func baseVersion(b *state.Entry) Version {
	if b == nil {
		return Version{}
	}
	if b.Dir {
		return Version{Kind: Dir}
	}
	return Version{Kind: File, Size: b.Size, MD5: b.MD5}
}

// scan is everything one pass learned about the three trees, each sorted by Key.
type scan struct {
	base   []state.Entry
	local  []localItem
	remote []remoteItem
	// Keys of folders holding excluded or refused entries on each side: such a folder
	// is never deleted as a whole, so excludes never cause deletes.
	exclLocal, exclRemote map[string]bool
	// forgetExcluded are base keys that became excluded: dropped from the state only.
	forgetExcluded []string
	localRootEmpty bool
	remoteEmpty    bool
	listed         bool // the remote tree was listed (not taken from the base)
	revision       int64
	skipped        []Skip
}

// loadBase reads the state sorted by key. With fresh (first sync or --resync) the base is
// empty: both sides count as having been empty, so nothing is ever deleted. n is the
// state's number of entries (State.Len), to size the base in one allocation.
func (e *Engine) loadBase(fresh bool, n int, sc *scan) error {
	if fresh {
		return nil
	}
	sc.base = make([]state.Entry, 0, n)
	cache := map[string]bool{}
	return e.o.State.ForEach(func(en state.Entry) error {
		if e.excludedPath(en.LocalPath, en.Dir, cache) {
			sc.forgetExcluded = append(sc.forgetExcluded, en.Key)
			return nil
		}
		sc.base = append(sc.base, en)
		return nil
	})
}

// underAny reports whether one of p's folders is in dirs: O(depth), not O(len(dirs)).
func underAny(p string, dirs map[string]bool) bool {
	if len(dirs) == 0 {
		return false
	}
	for i := strings.LastIndexByte(p, '/'); i > 0; i = strings.LastIndexByte(p[:i], '/') {
		if dirs[p[:i]] {
			return true
		}
	}
	return false
}

// excludedPath reports whether rel or one of its folders is excluded: the walks prune
// excluded folders, so a base entry below one must count as excluded too. cache
// remembers the answer for folders (the base is sorted, so they repeat).
func (e *Engine) excludedPath(rel string, dir bool, cache map[string]bool) bool {
	if e.o.Exclude(rel, dir) {
		return true
	}
	i := strings.LastIndexByte(rel, '/')
	if i <= 0 {
		return false
	}
	parent := rel[:i]
	ex, ok := cache[parent]
	if !ok {
		ex = e.excludedPath(parent, true, cache)
		cache[parent] = ex
	}
	return ex
}

func findBase(base []state.Entry, key string) *state.Entry {
	i := sort.Search(len(base), func(i int) bool { return base[i].Key >= key })
	if i < len(base) && base[i].Key == key {
		return &base[i]
	}
	return nil
}

// scanLocal walks the local tree and hashes what the cheap filter (size, mtime, inode)
// cannot vouch for. force lists keys whose state must not be trusted (crash recovery).
func (e *Engine) scanLocal(ctx context.Context, sc *scan, rootExists bool, force map[string]bool) error {
	sc.exclLocal = map[string]bool{}
	if !rootExists {
		sc.localRootEmpty = true
		return nil
	}
	excludedDirs := map[string]bool{}
	sc.local = make([]localItem, 0, len(sc.base)) // a quiet pass lists what the base holds
	err := e.o.Local.Walk(ctx, func(le LocalEntry) error {
		if underAny(le.Path, excludedDirs) {
			return nil
		}
		if e.o.Exclude(le.Path, le.Dir) {
			if le.Dir {
				excludedDirs[le.Path] = true
			}
			sc.exclLocal[parentKey(pathname.Key(le.Path))] = true
			return nil
		}
		sc.local = append(sc.local, localItem{Key: pathname.Key(le.Path), LocalEntry: le})
		return nil
	}, func(p, reason string) {
		sc.skipped = append(sc.skipped, Skip{Path: p, Reason: reason})
		// Something unreadable is there: its folder must not be deleted as a whole.
		sc.exclLocal[parentKey(pathname.Key(p))] = true
	})
	if err != nil {
		return fmt.Errorf("local scan: %w", err)
	}
	sc.localRootEmpty = len(sc.local) == 0
	sort.SliceStable(sc.local, func(i, j int) bool { return sc.local[i].Key < sc.local[j].Key })

	// The cheap filter: a file whose size, mtime and inode equal the base is unchanged.
	var toHash []int
	for i := range sc.local {
		it := &sc.local[i]
		if it.Dir {
			continue
		}
		if b := findBase(sc.base, it.Key); b != nil && !b.Dir && !force[it.Key] &&
			b.Size == it.Size && b.LocalMtime.Equal(it.Mtime) && b.Inode == it.Inode {
			it.MD5 = b.MD5
			continue
		}
		toHash = append(toHash, i)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(e.o.Transfers, 2))
	for _, i := range toHash {
		it := &sc.local[i]
		g.Go(func() error {
			var err error
			for attempt := 1; attempt <= 3; attempt++ {
				var md5 string
				var le LocalEntry
				md5, le, err = e.o.Local.Hash(gctx, it.Path)
				if err == nil {
					it.MD5 = md5
					it.LocalEntry = le
					return nil
				}
				if gctx.Err() != nil {
					return gctx.Err()
				}
				if !errors.Is(err, ErrLocalChanged) {
					break
				}
				e.log.Debug("file changed while hashed", zap.String("path", it.Path), zap.Int("attempt", attempt))
			}
			it.unstable = true
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("local scan: %w", err)
	}
	for i := range sc.local {
		it := &sc.local[i]
		if it.unstable {
			sc.skipped = append(sc.skipped, Skip{Path: it.Path, Reason: "changed while it was read, or unreadable; left for the next pass"})
		}
	}
	return nil
}

// scanRemote lists the remote tree, or takes it from the base when the Disk revision says
// nothing changed (API document §10). A path missing from a listing counts as deleted only
// when the revision did not move during the listing or the path answers 404 (a listing
// paged while the Disk changes can skip items).
func (e *Engine) scanRemote(ctx context.Context, sc *scan, fresh, forceList bool) error {
	sc.exclRemote = map[string]bool{}
	rev0, err := e.o.Remote.Revision(ctx)
	if err != nil {
		return fmt.Errorf("remote revision: %w", err)
	}
	sc.revision = rev0
	sc.remote = make([]remoteItem, 0, len(sc.base)) // a quiet pass lists what the base holds
	if !fresh && !forceList && !e.o.FullListing && e.o.ListingMaxAge > 0 {
		cur, err := e.o.State.Cursor()
		if err != nil {
			return err
		}
		if cur.Revision == rev0 && cur.Revision != 0 && e.o.Now().Sub(cur.ListedAt) < e.o.ListingMaxAge {
			for i := range sc.base {
				sc.remote = append(sc.remote, remoteFromBase(&sc.base[i]))
			}
			return nil
		}
	}
	sc.listed = true
	refused := map[string]bool{} // folders whose content is left out
	isRefused := func(rel string) bool { return underAny(rel, refused) }
	err = e.o.Remote.Walk(ctx, e.o.RemoteRoot, func(r client.Resource) error {
		raw := strings.TrimPrefix(strings.TrimPrefix(r.Path, strings.TrimSuffix(e.o.RemoteRoot, "/")), "/")
		if isRefused(raw) {
			return nil
		}
		rel, err := pathname.RemoteRel(e.o.RemoteRoot, r.Path)
		if err != nil {
			// A name that could escape the root or cannot be a local name is never
			// written anywhere; its folder is never deleted as a whole.
			refused[raw] = true
			sc.skipped = append(sc.skipped, Skip{Path: raw, Reason: "remote name refused: " + err.Error()})
			sc.exclRemote[parentKey(pathname.Key(raw))] = true
			return nil
		}
		if e.o.Exclude(rel, r.IsDir()) {
			if r.IsDir() {
				refused[rel] = true
			}
			sc.exclRemote[parentKey(pathname.Key(rel))] = true
			return nil
		}
		sc.remote = append(sc.remote, remoteFromResource(rel, &r))
		return nil
	})
	switch {
	case errors.Is(err, client.ErrNotFound):
		if !fresh {
			return &GuardError{Kind: GuardMissingRoot, Msg: fmt.Sprintf(
				"remote folder %s is missing but the state has synced files; nothing was changed. "+
					"If it was moved, point remote_dir at it; to start over from the local side, run with --resync", e.o.RemoteRoot)}
		}
		sc.remote = nil
	case err != nil:
		return fmt.Errorf("remote listing: %w", err)
	}
	sc.remoteEmpty = len(sc.remote) == 0
	sort.SliceStable(sc.remote, func(i, j int) bool { return sc.remote[i].Key < sc.remote[j].Key })

	rev1, err := e.o.Remote.Revision(ctx)
	if err != nil {
		return fmt.Errorf("remote revision: %w", err)
	}
	if rev1 == rev0 || len(sc.base) == 0 {
		return nil
	}
	// The Disk changed during the listing: confirm every base path the listing missed.
	var extra []remoteItem
	for i := range sc.base {
		b := &sc.base[i]
		if findRemote(sc.remote, b.Key) != nil || isRefused(b.RemotePath) {
			continue
		}
		res, err := e.o.Remote.Stat(ctx, pathname.RemotePath(e.o.RemoteRoot, b.RemotePath))
		if errors.Is(err, client.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("remote stat %s: %w", b.RemotePath, err)
		}
		extra = append(extra, remoteFromResource(b.RemotePath, res))
	}
	if len(extra) > 0 {
		sc.remote = append(sc.remote, extra...)
		sort.SliceStable(sc.remote, func(i, j int) bool { return sc.remote[i].Key < sc.remote[j].Key })
		sc.remoteEmpty = false
	}
	return nil
}

func findRemote(rs []remoteItem, key string) *remoteItem {
	i := sort.Search(len(rs), func(i int) bool { return rs[i].Key >= key })
	if i < len(rs) && rs[i].Key == key {
		return &rs[i]
	}
	return nil
}

func remoteFromResource(rel string, r *client.Resource) remoteItem {
	it := remoteItem{
		Key: pathname.Key(rel), Rel: rel, Dir: r.IsDir(), Size: r.Size, MD5: r.MD5,
		SHA256: r.SHA256, ResourceID: r.ResourceID, Modified: r.Modified, Revision: r.Revision,
	}
	if it.Dir {
		it.Size, it.MD5, it.SHA256 = 0, "", ""
	}
	if s, ok := r.CustomProperties[mtimeProperty].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			it.Mtime = t
		}
	}
	return it
}

func remoteFromBase(b *state.Entry) remoteItem {
	return remoteItem{
		Key: b.Key, Rel: b.RemotePath, Dir: b.Dir, Size: b.Size, MD5: b.MD5, SHA256: b.SHA256,
		ResourceID: b.ResourceID, Modified: b.RemoteModified, Mtime: b.LocalMtime, Revision: b.RemoteRevision,
	}
}

// parentKey is the key of the folder holding key ("" for the root).
func parentKey(key string) string {
	if i := strings.LastIndexByte(key, '/'); i >= 0 {
		return key[:i]
	}
	return ""
}

// joinRel joins a relative folder and a name ("" is the root).
func joinRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func baseName(p string) string { return path.Base(p) }
