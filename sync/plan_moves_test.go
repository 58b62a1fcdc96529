package sync

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/yasyncd/yasyncd/state"
)

// moveScan builds a scan from a synced tree ("d/" a folder, otherwise a file) and what
// each side holds now: new path → the synced path it came from (its identity: same inode
// or resource_id, same bytes). noIDs drops the inodes and resource_ids of files, so a
// rename can be found only by size and md5.
func moveScan(synced []string, local, remote map[string]string, noIDs bool) *scan {
	sc := &scan{exclLocal: map[string]bool{}, exclRemote: map[string]bool{}, listed: true}
	mt := time.Unix(1700000000, 0)
	base := map[string]state.Entry{}
	for i, s := range synced {
		dir := strings.HasSuffix(s, "/")
		key := strings.TrimSuffix(s, "/")
		e := state.Entry{Key: key, LocalPath: key, RemotePath: key, Dir: dir, Inode: uint64(i + 1), ResourceID: "id:" + key}
		if !dir {
			e.Size, e.MD5, e.LocalMtime = int64(len(key)), fmt.Sprintf("%032x", i+1), mt
			if noIDs {
				e.Inode, e.ResourceID = 0, ""
			}
		}
		base[key] = e
		sc.base = append(sc.base, e)
	}
	sort.Slice(sc.base, func(i, j int) bool { return sc.base[i].Key < sc.base[j].Key })
	keys := func(m map[string]string) []string {
		ks := make([]string, 0, len(m))
		for k := range m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return ks
	}
	newDir := state.Entry{Dir: true, Inode: 1000}
	origin := func(p string) state.Entry {
		e, ok := base[p]
		if !ok {
			e = newDir // a new folder
			newDir.Inode++
			newDir.ResourceID = fmt.Sprint("new:", newDir.Inode)
		}
		return e
	}
	for _, p := range keys(local) {
		e := origin(local[p])
		sc.local = append(sc.local, localItem{Key: p, MD5: e.MD5,
			LocalEntry: LocalEntry{Path: p, Dir: e.Dir, Size: e.Size, Mtime: e.LocalMtime, Inode: e.Inode}})
	}
	for _, p := range keys(remote) {
		e := origin(remote[p])
		sc.remote = append(sc.remote, remoteItem{Key: p, Rel: p, Dir: e.Dir, Size: e.Size, MD5: e.MD5, ResourceID: e.ResourceID})
	}
	return sc
}

// same is the synced tree as it is: each path is its own origin.
func same(synced []string) map[string]string {
	m := map[string]string{}
	for _, s := range synced {
		k := strings.TrimSuffix(s, "/")
		m[k] = k
	}
	return m
}

// A rename inside a renamed folder is one more move (remote for a local rename, local for
// a remote one), detected against the base the folder move re-keyed: never a delete plus
// a transfer. The moves run in dependency order, and each records the base where it
// leaves a path, so the state after any prefix of the plan (a crash) is the synced state
// of the paths moved so far: the next pass finds the rest as renames again.
func TestPlanRenameInsideRenamedFolder(t *testing.T) {
	type tc struct {
		name   string
		synced []string
		now    map[string]string // the renaming side: new path → synced path
		want   []string          // jobs: "from → to" on the side that follows
		noIDs  bool
	}
	cases := []tc{{
		name:   "into a sibling subfolder",
		synced: []string{"s/", "s/a/", "s/a/f.txt", "s/b/"},
		now:    map[string]string{"x": "s", "x/a": "s/a", "x/b": "s/b", "x/b/f.txt": "s/a/f.txt"},
		want:   []string{"s → x", "x/a/f.txt → x/b/f.txt"},
	}, {
		name:   "into a sibling subfolder, by size and md5",
		synced: []string{"s/", "s/a/", "s/a/f.txt", "s/b/"},
		now:    map[string]string{"x": "s", "x/a": "s/a", "x/b": "s/b", "x/b/f.txt": "s/a/f.txt"},
		want:   []string{"s → x", "x/a/f.txt → x/b/f.txt"},
		noIDs:  true,
	}, {
		name:   "into the renamed folder's parent (a key before the folder's)",
		synced: []string{"p/", "p/s/", "p/s/a/", "p/s/a/f.txt", "p/s/g"},
		now:    map[string]string{"p": "p", "p/x": "p/s", "p/x/a": "p/s/a", "p/f.txt": "p/s/a/f.txt", "p/x/g": "p/s/g"},
		want:   []string{"p/s → p/x", "p/x/a/f.txt → p/f.txt"},
	}, {
		name:   "out of it entirely, into another folder",
		synced: []string{"s/", "s/a/", "s/a/f.txt", "o/", "o/keep"},
		now:    map[string]string{"x": "s", "x/a": "s/a", "o": "o", "o/keep": "o/keep", "o/f.txt": "s/a/f.txt"},
		want:   []string{"s → x", "x/a/f.txt → o/f.txt"},
	}, {
		name:   "out of it entirely, into a new folder",
		synced: []string{"s/", "s/f.txt", "s/g"},
		now:    map[string]string{"x": "s", "x/g": "s/g", "new": "", "new/deep": "", "new/deep/f.txt": "s/f.txt"},
		want:   []string{"mkdir new", "mkdir new/deep", "s → x", "x/f.txt → new/deep/f.txt"},
	}, {
		name:   "a renamed subfolder of a renamed folder, with a file renamed in it",
		synced: []string{"s/", "s/a/", "s/a/f.txt", "s/a/g", "s/b/"},
		now:    map[string]string{"x": "s", "x/c": "s/a", "x/c/g": "s/a/g", "x/b": "s/b", "x/b/f.txt": "s/a/f.txt"},
		want:   []string{"s → x", "x/a → x/c", "x/c/f.txt → x/b/f.txt"},
	}, {
		name:   "a subfolder moved out of a renamed folder",
		synced: []string{"s/", "s/a/", "s/a/f.txt", "s/g"},
		now:    map[string]string{"x": "s", "x/g": "s/g", "a": "s/a", "a/f.txt": "s/a/f.txt"},
		want:   []string{"s → x", "x/a → a"},
	}}
	for _, c := range cases {
		for _, localSide := range []bool{true, false} {
			name := c.name + ", remote rename"
			if localSide {
				name = c.name + ", local rename"
			}
			t.Run(name, func(t *testing.T) {
				local, remote, op := same(c.synced), c.now, OpMoveLocal
				if localSide {
					local, remote, op = c.now, same(c.synced), OpMoveRemote
				}
				sc := moveScan(c.synced, local, remote, c.noIDs)
				p := planFor(sc)
				checkMovePlan(t, p, c.synced, c.now, op, c.want)
			})
		}
	}
}

// A folder renamed on one side while a file inside it moves on the other: the folder
// moves on the other side, then the file, as if one side had made both renames.
func TestPlanRenameInsideFolderRenamedOnTheOtherSide(t *testing.T) {
	synced := []string{"s/", "s/a/", "s/a/f.txt", "s/b/"}
	local := map[string]string{"s": "s", "s/a": "s/a", "s/b": "s/b", "s/b/f.txt": "s/a/f.txt"}
	remote := map[string]string{"x": "s", "x/a": "s/a", "x/b": "s/b", "x/a/f.txt": "s/a/f.txt"}
	p := planFor(moveScan(synced, local, remote, false))
	var got []string
	for _, j := range p.Jobs {
		got = append(got, j.String())
	}
	want := []string{"move local s → x", "move remote x/a/f.txt → x/b/f.txt"}
	if !slices.Equal(got, want) {
		t.Fatalf("jobs %q, want %q", got, want)
	}
	if !slices.Contains(p.Jobs[1].deps, p.Jobs[0]) {
		t.Errorf("the file move does not wait for the folder move")
	}
	final := map[string]string{"x": "s", "x/a": "s/a", "x/b": "s/b", "x/b/f.txt": "s/a/f.txt"}
	checkBaseAfterEachJob(t, p, synced, final)
}

// checkMovePlan checks that the plan is exactly the wanted moves on the side that
// follows, in an order the executor can run, with no transfer and no delete.
func checkMovePlan(t *testing.T, p *Plan, synced []string, now map[string]string, op Op, want []string) {
	t.Helper()
	var got []string
	for _, j := range p.Jobs {
		if (j.Op == OpMkdirRemote) == (op == OpMoveRemote) && (j.Op == OpMkdirRemote || j.Op == OpMkdirLocal) {
			got = append(got, "mkdir "+j.Key)
			continue
		}
		if j.Op != op {
			t.Errorf("job %v: want only %s", j, op)
			continue
		}
		from, to := j.FromRemote, j.RemotePath
		if op == OpMoveLocal {
			from, to = j.FromLocal, j.LocalPath
		}
		got = append(got, from+" → "+to)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("moves %q, want %q", got, want)
	}
	if p.DeletesLocal != 0 || p.DeletesRemote != 0 {
		t.Errorf("deletes %d/%d", p.DeletesLocal, p.DeletesRemote)
	}
	moves := 0
	for _, j := range p.Jobs {
		if j.Op == op {
			if moves > 0 && len(j.deps) == 0 {
				t.Errorf("%v waits for nothing", j)
			}
			moves++
		}
	}
	checkBaseAfterEachJob(t, p, synced, now)
}

// checkBaseAfterEachJob applies the plan's state writes job by job, as the executor
// does, and checks the order (a job after what it waits for) and the base: after the
// whole plan it is the final tree; after each prefix (a crash there), every synced file
// is in the base exactly once, with the same identity.
func checkBaseAfterEachJob(t *testing.T, p *Plan, synced []string, final map[string]string) {
	t.Helper()
	base := map[string]state.Entry{}
	for _, e := range moveScan(synced, nil, nil, false).base {
		base[e.Key] = e
	}
	for _, k := range p.Forget {
		delete(base, k)
	}
	for _, e := range p.Record {
		base[e.Key] = e
	}
	ran := map[*Job]bool{}
	for _, j := range p.Jobs {
		for _, d := range j.deps {
			if !ran[d] {
				t.Fatalf("%v runs before %v, which it waits for", j, d)
			}
		}
		ran[j] = true
		for _, k := range j.forget {
			delete(base, k)
		}
		for _, e := range j.put {
			base[e.Key] = e
		}
		if j.Op == OpMkdirLocal || j.Op == OpMkdirRemote {
			base[j.Key] = state.Entry{Key: j.Key, LocalPath: j.LocalPath, RemotePath: j.RemotePath, Dir: true}
		}
		files := map[string]int{}
		for k, e := range base {
			if e.Key != k || e.LocalPath != k || e.RemotePath != k {
				t.Errorf("after %v: base %q holds %+v", j, k, e)
			}
			if !e.Dir {
				files[e.MD5]++
			}
		}
		for _, s := range synced {
			if !strings.HasSuffix(s, "/") {
				if md5 := moveMD5(synced, s); files[md5] != 1 {
					t.Errorf("after %v: %s is %d times in the base", j, s, files[md5])
				}
			}
		}
	}
	var got, want []string
	for k := range base {
		got = append(got, k)
	}
	for k := range final {
		want = append(want, k)
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("base after the plan %q, want %q", got, want)
	}
}

func moveMD5(synced []string, s string) string {
	return fmt.Sprintf("%032x", slices.Index(synced, s)+1)
}

// A folder moved into its own subfolder, which was moved out first: taken outermost
// first, the folder's move would wait for the subfolder's, which would wait for it (the
// executor would hang). The plan has no such cycle, and every job runs after the jobs it
// waits for.
func TestPlanFolderMovedIntoItsMovedOutSubfolder(t *testing.T) {
	synced := []string{"s/", "s/a/", "s/a/f.txt", "s/g"}
	now := map[string]string{"a2": "s/a", "a2/f.txt": "s/a/f.txt", "a2/s2": "s", "a2/s2/g": "s/g"}
	for _, localSide := range []bool{true, false} {
		local, remote := same(synced), now
		if localSide {
			local, remote = now, same(synced)
		}
		p := planFor(moveScan(synced, local, remote, false))
		checkBaseAfterEachJob(t, p, synced, now)
	}
}
