package sync

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/yasyncd/yasyncd/state"
)

// synthetic builds a scan of n files in n/100 folders, identical on all three sides.
func synthetic(n int) *scan {
	sc := &scan{exclLocal: map[string]bool{}, exclRemote: map[string]bool{}, listed: true}
	mt := time.Unix(1700000000, 0)
	add := func(key string, dir bool, md5 string) {
		e := state.Entry{Key: key, LocalPath: key, RemotePath: key, Dir: dir, Inode: uint64(len(sc.base) + 1), ResourceID: "id:" + key}
		l := localItem{Key: key, LocalEntry: LocalEntry{Path: key, Dir: dir, Inode: e.Inode}}
		r := remoteItem{Key: key, Rel: key, Dir: dir, ResourceID: e.ResourceID}
		if !dir {
			e.Size, e.MD5, e.LocalMtime = 1, md5, mt
			l.Size, l.MD5, l.Mtime = 1, md5, mt
			r.Size, r.MD5 = 1, md5
		}
		sc.base = append(sc.base, e)
		sc.local = append(sc.local, l)
		sc.remote = append(sc.remote, r)
	}
	for d := 0; d < n/100; d++ {
		dir := fmt.Sprintf("dir%05d", d)
		add(dir, true, "")
		for f := range 100 {
			add(fmt.Sprintf("%s/file%03d", dir, f), false, fmt.Sprintf("%032x", d*100+f))
		}
	}
	return sc
}

func planFor(sc *scan) *Plan {
	o := Options{Mode: TwoWay, Conflict: KeepBoth, Host: "h", Now: func() time.Time { return testNow }}
	return newPlanner(&o, sc).build()
}

// 100k unchanged files plan to nothing, in well under the CI budget.
func TestPlanLargeUnchanged(t *testing.T) {
	n := 20_000
	if os.Getenv("YASYNCD_FULL") != "" {
		n = 100_000
	}
	sc := synthetic(n)
	start := time.Now()
	p := planFor(sc)
	if len(p.Jobs) != 0 || len(p.Record) != 0 || len(p.Forget) != 0 {
		t.Fatalf("jobs %d record %d forget %d", len(p.Jobs), len(p.Record), len(p.Forget))
	}
	if p.Tracked != n {
		t.Errorf("tracked %d", p.Tracked)
	}
	t.Logf("planned %d paths in %v", len(sc.base), time.Since(start))
}

// Renaming a folder of 100 files locally is one move and no delete.
func TestPlanFolderRename(t *testing.T) {
	sc := synthetic(1000)
	// Local: dir00003 → zz (same inode for the folder and files).
	var local []localItem
	var moved []localItem
	for _, it := range sc.local {
		if it.Key == "dir00003" || len(it.Key) > 8 && it.Key[:9] == "dir00003/" {
			it.Key = "zz" + it.Key[8:]
			it.Path = it.Key
			moved = append(moved, it)
			continue
		}
		local = append(local, it)
	}
	sc.local = append(local, moved...)
	p := planFor(sc)
	if len(p.Jobs) != 1 || p.Jobs[0].Op != OpMoveRemote || p.Jobs[0].FromRemote != "dir00003" || p.Jobs[0].RemotePath != "zz" {
		for _, j := range p.Jobs {
			t.Log(j)
		}
		t.Fatalf("want one remote move dir00003 → zz")
	}
	if p.DeletesRemote != 0 || p.DeletesLocal != 0 {
		t.Errorf("deletes %d/%d", p.DeletesLocal, p.DeletesRemote)
	}
	if n := len(p.Jobs[0].forget); n != 101 {
		t.Errorf("move forgets %d keys, want 101", n)
	}
	if n := len(p.Jobs[0].put); n != 101 {
		t.Errorf("move records %d keys, want 101", n)
	}
}

// A deleted folder is one delete, counted as its files for the guard.
func TestPlanFolderDeleteIsOneJob(t *testing.T) {
	sc := synthetic(300)
	var local []localItem
	for _, it := range sc.local {
		if it.Key != "dir00001" && (len(it.Key) < 9 || it.Key[:9] != "dir00001/") {
			local = append(local, it)
		}
	}
	sc.local = local
	p := planFor(sc)
	if len(p.Jobs) != 1 || p.Jobs[0].Op != OpDeleteRemote || !p.Jobs[0].Dir {
		t.Fatalf("jobs %v", p.Jobs)
	}
	if p.DeletesRemote != 100 || len(p.Jobs[0].forget) != 101 {
		t.Errorf("deletes %d forget %d", p.DeletesRemote, len(p.Jobs[0].forget))
	}
}
