package sync

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/yasyncd/yasyncd/client"
	"github.com/yasyncd/yasyncd/internal/emulator"
	"github.com/yasyncd/yasyncd/state"
)

func manyFiles(n int) tree {
	tr := tree{}
	for i := range n {
		tr[fmt.Sprintf("f%02d.txt", i)] = fmt.Sprint(i)
	}
	return tr
}

func expectGuard(t *testing.T, err error, kind string) {
	t.Helper()
	var g *GuardError
	if !errors.As(err, &g) || !errors.Is(err, ErrGuard) {
		t.Fatalf("err = %v, want a %s guard", err, kind)
	}
	if g.Kind != kind {
		t.Fatalf("guard kind %q, want %q (%v)", g.Kind, kind, err)
	}
}

func TestGuardMissingLocalRoot(t *testing.T) {
	w := newWorld(t)
	w.writeLocal(tree{"a": "1"})
	w.sync()
	if err := os.Rename(w.root, w.root+".moved"); err != nil {
		t.Fatal(err)
	}
	w.srv.ResetRequests()
	_, err := w.run()
	expectGuard(t, err, GuardMissingRoot)
	if !strings.Contains(err.Error(), "--resync") {
		t.Errorf("message does not say how to proceed: %v", err)
	}
	for _, r := range w.srv.Requests() {
		if mutating(r) {
			t.Errorf("guarded pass sent %s %s", r.Method, r.Path)
		}
	}
	if _, ok := w.remoteTree()["a"]; !ok {
		t.Error("remote file deleted")
	}
}

func TestGuardMissingMarker(t *testing.T) {
	w := newWorld(t)
	w.writeLocal(tree{"a": "1"})
	w.sync()
	if err := os.RemoveAll(filepath.Join(w.root, ".yasyncd")); err != nil {
		t.Fatal(err)
	}
	_, err := w.run()
	expectGuard(t, err, GuardMissingRoot)
}

func TestGuardMissingRemoteRoot(t *testing.T) {
	w := newWorld(t)
	w.writeLocal(tree{"a": "1"})
	w.sync()
	if err := w.srv.Remove(testRoot); err != nil {
		t.Fatal(err)
	}
	_, err := w.run()
	expectGuard(t, err, GuardMissingRoot)
	if d := diffTrees(w.localTree(), tree{"a": "1"}); d != "" {
		t.Errorf("local changed:\n%s", d)
	}
}

func TestGuardEmptySide(t *testing.T) {
	for _, side := range []byte{'L', 'R'} {
		t.Run(string(side), func(t *testing.T) {
			w := newWorld(t)
			w.writeLocal(tree{"a": "1", "b": "2"})
			w.sync()
			w.apply(step{side, "rm", "a", ""})
			w.apply(step{side, "rm", "b", ""})
			_, err := w.run()
			expectGuard(t, err, GuardEmptySide)
			if !strings.Contains(err.Error(), "--force-delete") {
				t.Errorf("message does not say how to confirm: %v", err)
			}
			other := w.remoteTree()
			if side == 'R' {
				other = w.localTree()
			}
			if d := diffTrees(other, tree{"a": "1", "b": "2"}); d != "" {
				t.Errorf("the other side changed:\n%s", d)
			}
			// Confirmed: the deletes go through.
			w.sync(func(o *Options) { o.ForceDelete = true })
			w.expectBoth(tree{})
		})
	}
}

func TestGuardMassDelete(t *testing.T) {
	w := newWorld(t)
	w.writeLocal(manyFiles(30))
	w.sync()
	for i := range 16 { // 16 of 30 > 50%
		w.apply(L("rm", fmt.Sprintf("f%02d.txt", i)))
	}
	w.srv.ResetRequests()
	_, err := w.run()
	expectGuard(t, err, GuardMassDelete)
	if !strings.Contains(err.Error(), "--force-delete") {
		t.Errorf("message does not say how to confirm: %v", err)
	}
	if n := len(w.remoteTree()); n != 30 {
		t.Errorf("remote holds %d files after a guarded pass, want 30", n)
	}
	for _, r := range w.srv.Requests() {
		if mutating(r) {
			t.Errorf("guarded pass sent %s %s", r.Method, r.Path)
		}
	}
	// A higher limit lets it through; so does --force-delete.
	rep := w.sync(func(o *Options) { o.MaxDelete = MaxDelete{Percent: 60} })
	if rep.Deleted != 16 {
		t.Errorf("deleted %d, want 16", rep.Deleted)
	}
	w.expectConverged()
}

func TestGuardMassDeleteCountAndForce(t *testing.T) {
	w := newWorld(t)
	w.writeLocal(manyFiles(40))
	w.sync()
	for i := range 12 {
		w.apply(R("rm", fmt.Sprintf("f%02d.txt", i)))
	}
	_, err := w.run(func(o *Options) { o.MaxDelete = MaxDelete{Count: 11} })
	expectGuard(t, err, GuardMassDelete)
	rep := w.sync(func(o *Options) { o.MaxDelete = MaxDelete{Count: 11}; o.ForceDelete = true })
	if rep.Deleted != 12 || len(w.localTree()) != 28 {
		t.Errorf("deleted %d, local holds %d; want 12 and 28", rep.Deleted, len(w.localTree()))
	}
}

func TestGuardFloor(t *testing.T) {
	// 10 deletes never trip the guard, even when they are all tracked files.
	w := newWorld(t)
	w.writeLocal(manyFiles(11))
	w.sync()
	for i := range 10 {
		w.apply(L("rm", fmt.Sprintf("f%02d.txt", i)))
	}
	rep := w.sync()
	if rep.Deleted != 10 {
		t.Errorf("deleted %d, want 10", rep.Deleted)
	}
}

func TestRenamesAreNotDeletes(t *testing.T) {
	w := newWorld(t)
	tr := tree{}
	for i := range 20 {
		tr[fmt.Sprintf("dir/f%02d", i)] = fmt.Sprint(i)
	}
	tr["other"] = "x"
	w.writeLocal(tr)
	w.sync()
	w.apply(L("mv", "dir", "moved"))
	rep := w.sync()
	if rep.Moved != 1 || rep.Deleted != 0 {
		t.Errorf("moved %d deleted %d, want 1 and 0", rep.Moved, rep.Deleted)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	w := newWorld(t)
	w.writeLocal(tree{"a": "1", "b": "2", "d/c": "3"})
	w.sync()
	w.apply(L("put", "a", "edited"))
	w.apply(L("rm", "b"))
	w.apply(R("put", "new", "remote"))
	w.apply(L("mv", "d", "e"))
	keys := w.stateKeys()
	cur, _ := w.db.Cursor()
	beforeL, beforeR := w.localTree(), w.remoteTree()
	w.srv.ResetRequests()
	rep, err := w.run(func(o *Options) { o.DryRun = true })
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range w.srv.Requests() {
		if mutating(r) {
			t.Errorf("dry run sent %s %s", r.Method, r.Path)
		}
	}
	if d := diffTrees(w.localTree(), beforeL); d != "" {
		t.Errorf("dry run changed the local side:\n%s", d)
	}
	if d := diffTrees(w.remoteTree(), beforeR); d != "" {
		t.Errorf("dry run changed the remote side:\n%s", d)
	}
	if got := w.stateKeys(); fmt.Sprint(got) != fmt.Sprint(keys) {
		t.Errorf("dry run changed the state: %v → %v", keys, got)
	}
	if c, _ := w.db.Cursor(); c != cur {
		t.Errorf("dry run moved the cursor")
	}
	var out bytes.Buffer
	rep.Plan.Write(&out)
	for _, want := range []string{"upload a (6 B)", "delete remote b (to trash)", "download new (6 B)", "move remote d → e"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, out.String())
		}
	}
}

func TestDryRunFirstSyncCreatesNothing(t *testing.T) {
	w := newWorld(t)
	w.seedRemote(tree{"a": "1"})
	// Neither the local root nor the state holds anything yet.
	rep, err := w.run(func(o *Options) { o.RemoteRoot = "disk:/Other"; o.DryRun = true })
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Plan.Jobs) != 0 {
		t.Errorf("plan for an empty pair: %d jobs", len(rep.Plan.Jobs))
	}
	if _, err := os.Stat(w.root); !os.IsNotExist(err) {
		t.Errorf("dry run created the local root: %v", err)
	}
	if _, ok := w.srv.Stat("disk:/Other"); ok {
		t.Error("dry run created the remote root")
	}
}

func TestSecondPassSkipsListingWhenRevisionUnchanged(t *testing.T) {
	w := newWorld(t)
	w.writeLocal(tree{"a": "1", "d/b": "2"})
	w.sync()
	w.sync() // our own writes moved the revision: one more listing
	w.srv.ResetRequests()
	rep := w.sync(func(o *Options) { o.ListingMaxAge = time.Hour })
	if len(rep.Plan.Jobs) != 0 {
		t.Errorf("%d jobs", len(rep.Plan.Jobs))
	}
	if n := w.countRequests("GET", "/v1/disk/resources"); n != 0 {
		t.Errorf("%d listing requests although the revision did not move", n)
	}
	// A remote change moves the revision: the next pass lists and downloads.
	w.apply(R("put", "d/b", "new"))
	w.sync(func(o *Options) { o.ListingMaxAge = time.Hour })
	w.expectBoth(tree{"a": "1", "d/b": "new"})
}

func TestModes(t *testing.T) {
	t.Run("upload-only", func(t *testing.T) {
		w := newWorld(t)
		w.writeLocal(tree{"a": "1", "b": "2", "c": "3"})
		w.sync()
		w.apply(L("put", "a", "local"))
		w.apply(R("put", "b", "remote"))
		w.apply(R("rm", "c"))
		w.apply(R("put", "new", "remote new"))
		up := func(o *Options) { o.Mode = UploadOnly }
		w.sync(up)
		if d := diffTrees(w.localTree(), tree{"a": "local", "b": "2", "c": "3"}); d != "" {
			t.Errorf("upload-only changed the local side:\n%s", d)
		}
		if got := w.remoteTree()["a"]; got != "local" {
			t.Errorf("remote a = %q", got)
		}
		w.srv.ResetRequests()
		rep := w.sync(up)
		if len(rep.Plan.Jobs) != 0 {
			t.Errorf("second upload-only pass planned %d jobs", len(rep.Plan.Jobs))
		}
	})
	t.Run("download-only", func(t *testing.T) {
		w := newWorld(t)
		w.writeLocal(tree{"a": "1", "b": "2", "c": "3"})
		w.sync()
		w.apply(L("put", "a", "local"))
		w.apply(L("rm", "c"))
		w.apply(L("put", "new", "local new"))
		w.apply(R("put", "b", "remote"))
		before := w.srv.Revision()
		w.sync(func(o *Options) { o.Mode = DownloadOnly })
		if w.srv.Revision() != before {
			t.Error("download-only changed the Disk")
		}
		if d := diffTrees(w.localTree(), tree{"a": "local", "b": "remote", "new": "local new"}); d != "" {
			t.Errorf("local tree:\n%s", d)
		}
	})
	t.Run("conflict in upload-only: the local version wins, the remote one goes to the Disk trash", func(t *testing.T) {
		w := newWorld(t)
		w.writeLocal(tree{"a": "1"})
		w.sync()
		w.apply(L("put", "a", "local"))
		w.apply(R("put", "a", "remote"))
		w.sync(func(o *Options) { o.Mode = UploadOnly })
		w.expectBoth(tree{"a": "local"})
		if !trashHolds(w, "remote") {
			t.Error("the losing remote version is not in the Disk trash")
		}
	})
}

// trashHolds reports whether a file with content is in the Disk trash.
func trashHolds(w *world, content string) bool {
	sum := md5.Sum([]byte(content))
	for _, e := range w.srv.Trash() {
		if e.MD5 == hex.EncodeToString(sum[:]) {
			return true
		}
	}
	return false
}

// localTrashHolds reports whether a file with content is in .yasyncd/trash/.
func localTrashHolds(w *world, content string) bool {
	found := false
	_ = filepath.WalkDir(filepath.Join(w.root, ".yasyncd", "trash"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); string(b) == content {
				found = true
			}
		}
		return nil
	})
	return found
}

func TestConflictPolicies(t *testing.T) {
	old := testNow.Add(-time.Hour)
	for _, c := range []struct {
		policy ConflictPolicy
		want   string
		loser  string
		remote bool // the loser is in the Disk trash (else the local trash)
	}{
		{LocalWins, "local", "remote", true},
		{RemoteWins, "remote", "local", false},
		// The local file is an hour old; the remote upload is newer.
		{Newer, "remote", "local", false},
	} {
		t.Run(string(c.policy), func(t *testing.T) {
			w := newWorld(t)
			w.writeLocal(tree{"a": "1"})
			w.sync()
			w.apply(L("put", "a", "local"))
			if err := os.Chtimes(filepath.Join(w.root, "a"), old, old); err != nil {
				t.Fatal(err)
			}
			w.apply(R("put", "a", "remote"))
			rep := w.sync(func(o *Options) { o.Conflict = c.policy })
			w.expectBoth(tree{"a": c.want})
			if c.remote && !trashHolds(w, c.loser) || !c.remote && !localTrashHolds(w, c.loser) {
				t.Errorf("the losing version %q is in no trash", c.loser)
			}
			if rep.Conflicts != 0 {
				t.Errorf("conflict copies: %d", rep.Conflicts)
			}
			w.expectConverged()
		})
	}
}

func TestExcludesNeverDelete(t *testing.T) {
	w := newWorld(t)
	w.writeLocal(tree{"a": "1", "d/keep": "k", "d/x.tmp": "tmp", "build/out": "o"})
	w.sync()
	excl := func(o *Options) {
		o.Exclude = func(rel string, dir bool) bool {
			return strings.HasSuffix(rel, ".tmp") || (dir && rel == "build")
		}
	}
	// The filter changes: the newly excluded paths are dropped from the state, not
	// deleted anywhere.
	w.sync(excl)
	full := tree{"a": "1", "d/keep": "k", "d/x.tmp": "tmp", "build/out": "o"}
	w.expectBoth(full)
	for _, k := range w.stateKeys() {
		if strings.HasSuffix(k, ".tmp") || strings.HasPrefix(k, "build") {
			t.Errorf("excluded %s still in the state", k)
		}
	}
	// Deleting an excluded file on one side is not propagated; a folder holding an
	// excluded file on the other side is not deleted as a whole.
	w.apply(L("rm", "build"))
	w.apply(R("rm", "d/keep"))
	w.apply(L("put", "new.tmp", "n"))
	w.sync(excl)
	if _, ok := w.remoteTree()["build/out"]; !ok {
		t.Error("an excluded remote file was deleted")
	}
	if _, ok := w.remoteTree()["new.tmp"]; ok {
		t.Error("an excluded local file was uploaded")
	}
	if _, ok := w.localTree()["d/x.tmp"]; !ok {
		t.Error("an excluded local file was deleted")
	}
	// The folder holding an excluded local file survives on both sides.
	w.apply(R("rm", "d"))
	w.sync(excl)
	if _, ok := w.localTree()["d/x.tmp"]; !ok {
		t.Error("deleting the remote folder deleted an excluded local file")
	}
}

func TestRefusedRemoteName(t *testing.T) {
	w := newWorld(t)
	long := strings.Repeat("я", 200) // 400 bytes: a valid Disk name, too long locally
	w.seedRemote(tree{"ok.txt": "ok", long: "x", "dir/" + long + "/in": "y"})
	rep := w.sync()
	if d := diffTrees(w.localTree(), full(tree{"ok.txt": "ok", "dir/": ""})); d != "" {
		t.Errorf("local tree:\n%s", d)
	}
	if len(rep.Skipped) != 2 {
		t.Errorf("skipped %v, want the two refused names", rep.Skipped)
	}
	// The refused names stay where they are on the Disk, also after more passes.
	w.sync()
	if _, ok := w.remoteTree()[long]; !ok {
		t.Error("a refused remote file was deleted")
	}
	if _, ok := w.remoteTree()["dir/"+long+"/in"]; !ok {
		t.Error("a refused remote folder was deleted")
	}
}

func TestNameCollisionAfterNFC(t *testing.T) {
	w := newWorld(t)
	nfc, nfd := "é.txt", "e\u0301.txt"
	w.writeLocal(tree{nfc: "composed", nfd: "decomposed"})
	rep := w.sync()
	if rep.Conflicts != 1 || len(rep.Skipped) != 1 {
		t.Errorf("conflicts %d skipped %v; want the collision reported once", rep.Conflicts, rep.Skipped)
	}
	r := w.remoteTree()
	if len(r) != 2 {
		t.Fatalf("remote holds %v, want both files under different names", r)
	}
	vals := map[string]bool{}
	for _, v := range r {
		vals[v] = true
	}
	if !vals["composed"] || !vals["decomposed"] {
		t.Errorf("a version was merged away: %v", r)
	}
	w.expectConverged()
}

func TestCaseInsensitiveCollision(t *testing.T) {
	w := newWorld(t)
	w.seedRemote(tree{"A.txt": "upper", "a.txt": "lower"})
	rep := w.sync(func(o *Options) { o.CaseInsensitive = true })
	if rep.Conflicts != 1 {
		t.Errorf("conflicts = %d, want 1", rep.Conflicts)
	}
	got := w.remoteTree()
	if _, ok := got["A.txt"]; !ok || len(got) != 2 {
		t.Errorf("remote tree %v", got)
	}
	if d := diffTrees(w.localTree(), got); d != "" {
		t.Errorf("sides differ:\n%s", d)
	}
}

// A 50 MiB file goes up and comes back down byte for byte (streamed, hashed on the way).
func TestLargeFile(t *testing.T) {
	const size = 50 << 20
	w := newWorld(t, emulator.Options{DataDir: t.TempDir()})
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(w.root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.root, "big.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	rep := w.sync()
	if rep.BytesUp != int64(size) {
		t.Errorf("BytesUp = %d", rep.BytesUp)
	}
	got, err := w.srv.ReadFile(testRoot + "/big.bin")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("remote copy differs (%v)", err)
	}
	// And back down to a second machine.
	w2 := newWorldSharing(t, w)
	rep = w2.sync()
	b, err := os.ReadFile(filepath.Join(w2.root, "big.bin"))
	if err != nil || !bytes.Equal(b, data) {
		t.Fatalf("downloaded copy differs (%v)", err)
	}
	if rep.BytesDown != int64(size) {
		t.Errorf("BytesDown = %d", rep.BytesDown)
	}
}

// newWorldSharing is a second machine syncing with the same Disk.
func newWorldSharing(t *testing.T, w *world) *world {
	w2 := &world{t: t, srv: w.srv, cl: w.cl}
	dir := t.TempDir()
	w2.root, w2.dbPath = filepath.Join(dir, "local"), filepath.Join(dir, "state.db")
	w2.local = w.newLocal(w2.root)
	w2.openDB()
	return w2
}

func TestMtimeTravels(t *testing.T) {
	w := newWorld(t)
	w.writeLocal(tree{"a": "1"})
	mt := time.Date(2020, 1, 2, 3, 4, 5, 600, time.UTC)
	if err := os.Chtimes(filepath.Join(w.root, "a"), mt, mt); err != nil {
		t.Fatal(err)
	}
	w.sync()
	w2 := newWorldSharing(t, w)
	w2.sync()
	fi, err := os.Stat(filepath.Join(w2.root, "a"))
	if err != nil {
		t.Fatal(err)
	}
	if !fi.ModTime().Equal(mt) {
		t.Errorf("downloaded mtime %v, want %v", fi.ModTime(), mt)
	}
	w2.expectConverged()
}

func TestDiskFull(t *testing.T) {
	w := newWorld(t, emulator.Options{TotalSpace: 100})
	w.writeLocal(tree{"small": "1", "big": strings.Repeat("x", 200)})
	rep, err := w.run()
	if !errors.Is(err, ErrDiskFull) || !errors.Is(err, client.ErrInsufficientStorage) {
		t.Fatalf("err = %v, want ErrDiskFull", err)
	}
	if len(rep.Failures) == 0 {
		t.Error("the failed upload is not reported")
	}
	if c, _ := w.db.Cursor(); c.Revision != 0 {
		t.Error("the cursor was saved after a failed pass")
	}
}

// A remote edit made after the listing must not be overwritten by an upload that
// replaces the listed version: the conditional delete refuses, the pass reports it, and
// the next pass sees the conflict.
func TestRemoteChangeDuringPassIsNotOverwritten(t *testing.T) {
	w := newWorld(t)
	w.writeLocal(tree{"a": "1"})
	w.sync()
	w.apply(L("put", "a", "local"))
	race := &raceRemote{Remote: w.cl, before: func() { w.apply(R("put", "a", "sneaky")) }}
	e := w.engine(func(o *Options) { o.Remote = race })
	rep, err := e.RunOnce(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failures) != 1 {
		t.Fatalf("failures %v, want the refused upload", rep.Failures)
	}
	if got := w.remoteTree()["a"]; got != "sneaky" {
		t.Fatalf("the concurrent remote edit was overwritten: %q", got)
	}
	w.sync()
	w.expectBoth(tree{"a": "sneaky", conflictOf("a"): "local"})
}

// raceRemote runs before() once, just before the first conditional delete.
type raceRemote struct {
	Remote
	before func()
	done   bool
}

func (r *raceRemote) Delete(ctx contextT, p string, o client.DeleteOptions) error {
	if !r.done {
		r.done = true
		r.before()
	}
	return r.Remote.Delete(ctx, p, o)
}

// A local edit made while a download runs wins: the download is not committed over it.
func TestLocalChangeDuringDownloadWins(t *testing.T) {
	w := newWorld(t)
	w.writeLocal(tree{"a": "1"})
	w.sync()
	w.apply(R("put", "a", "remote"))
	race := &downloadRace{Remote: w.cl, during: func() { w.apply(L("put", "a", "local edit")) }}
	rep, err := w.engine(func(o *Options) { o.Remote = race }).RunOnce(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failures) != 1 {
		t.Fatalf("failures %v", rep.Failures)
	}
	if got := w.localTree()["a"]; got != "local edit" {
		t.Fatalf("local edit replaced: %q", got)
	}
	w.sync()
	w.expectBoth(tree{"a": "remote", conflictOf("a"): "local edit"})
}

type downloadRace struct {
	Remote
	during func()
}

func (r *downloadRace) Download(ctx contextT, p string, w io.Writer) (int64, error) {
	n, err := r.Remote.Download(ctx, p, w)
	r.during()
	return n, err
}

// A file that changes while it is uploaded is not recorded as synced with the old bytes:
// the upload is retried within the pass and the final content lands.
func TestFileChangingDuringUpload(t *testing.T) {
	w := newWorld(t)
	w.writeLocal(tree{"a": "first"})
	n := 0
	race := &uploadRace{Remote: w.cl, after: func() {
		if n++; n == 1 {
			w.apply(L("put", "a", "second version"))
		}
	}}
	rep, err := w.engine(func(o *Options) { o.Remote = race }).RunOnce(t.Context())
	if err != nil || len(rep.Failures) != 0 {
		t.Fatalf("err %v failures %v", err, rep.Failures)
	}
	w.expectBoth(tree{"a": "second version"})
	if !trashHolds(w, "first") {
		t.Error("the stale upload was not replaced through the trash")
	}
	w.expectConverged()
}

type uploadRace struct {
	Remote
	after func()
}

func (r *uploadRace) Upload(ctx contextT, p string, body io.Reader, size int64, o client.UploadOptions) (*client.UploadResult, error) {
	res, err := r.Remote.Upload(ctx, p, body, size, o)
	r.after()
	return res, err
}

func TestResyncCopiesOnly(t *testing.T) {
	w := newWorld(t)
	w.writeLocal(tree{"a": "1", "b": "2"})
	w.sync()
	w.apply(L("rm", "a"))         // would be a remote delete in a normal pass
	w.apply(R("put", "b", "new")) // differs: a conflict without a base
	rep := w.sync(func(o *Options) { o.Resync = true })
	if rep.Deleted != 0 {
		t.Errorf("resync deleted %d", rep.Deleted)
	}
	w.expectBoth(tree{"a": "1", "b": "new", conflictOf("b"): "2"})
	w.expectConverged()
}

func TestCrashRecoveryJournal(t *testing.T) {
	w := newWorld(t)
	w.writeLocal(tree{"a": "1"})
	w.sync()
	// A crash after the upload reached the Disk but before the state was written: the
	// journal holds the job; both sides hold the new bytes, the base the old ones.
	w.apply(L("put", "a", "2"))
	w.apply(R("put", "a", "2"))
	if _, err := w.db.Begin(stateRecord("upload", "a")); err != nil {
		t.Fatal(err)
	}
	rep := w.sync(func(o *Options) { o.ListingMaxAge = time.Hour })
	if rep.Conflicts != 0 || rep.Uploaded != 0 || rep.Recorded != 1 {
		t.Errorf("recovery: conflicts %d uploaded %d recorded %d", rep.Conflicts, rep.Uploaded, rep.Recorded)
	}
	if j, _ := w.db.Journal(); len(j) != 0 {
		t.Errorf("journal not cleared: %v", j)
	}
	w.expectConverged()
}

type contextT = context.Context

func stateRecord(op, key string) state.JournalRecord {
	return state.JournalRecord{Op: op, Key: key, Started: testNow}
}

// A crash after a conflict's local rename but before the remote version was downloaded:
// the journal still holds the rename, so the renamed copy is not taken for a user's
// rename (which would make a spurious second conflict).
func TestCrashAfterConflictRename(t *testing.T) {
	w := newWorld(t)
	w.writeLocal(tree{"c.txt": "base", "keep": "k"})
	w.sync()
	w.apply(L("put", "c.txt", "local"))
	w.apply(R("put", "c.txt", "remote"))
	// What the interrupted pass did: journal the rename, then rename in place (same inode).
	cn := conflictOf("c.txt")
	if _, err := w.db.Begin(state.JournalRecord{Op: string(OpRenameLocal), Key: cn, From: "c.txt", Started: testNow}); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(w.root, "c.txt"), filepath.Join(w.root, cn)); err != nil {
		t.Fatal(err)
	}
	rep := w.sync()
	if rep.Moved != 0 || rep.Conflicts != 0 {
		t.Errorf("moved %d conflicts %d: the half-done conflict was taken for a rename", rep.Moved, rep.Conflicts)
	}
	w.expectBoth(tree{"c.txt": "remote", cn: "local", "keep": "k"})
	w.expectConverged()
}

func TestPlanWrite(t *testing.T) {
	w := newWorld(t)
	w.writeLocal(tree{"c.txt": "base", "d/x": "x"})
	w.sync()
	w.apply(L("put", "c.txt", "local"))
	w.apply(R("put", "c.txt", "remote"))
	w.apply(R("rm", "d/x"))
	w.apply(L("mkdir", "empty"))
	rep, err := w.run(func(o *Options) { o.DryRun = true })
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	rep.Plan.Write(&b)
	for _, want := range []string{
		"conflict c.txt → " + conflictOf("c.txt"),
		"download c.txt (6 B)",
		"upload " + conflictOf("c.txt") + " (5 B)",
		"delete local d/x (to trash)",
		"mkdir remote empty",
	} {
		if !strings.Contains(b.String(), want+"\n") {
			t.Errorf("plan lacks %q:\n%s", want, b.String())
		}
	}
}

// Progress sees every job start and end, and the bytes of transfers.
func TestProgress(t *testing.T) {
	w := newWorld(t)
	w.writeLocal(tree{"a": "12345", "d/": ""})
	p := &recProgress{}
	w.sync(func(o *Options) { o.Progress = p })
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.planned != 1 || p.started != 2 || p.done != 2 || p.bytes != 5 {
		t.Errorf("planned %d started %d done %d bytes %d", p.planned, p.started, p.done, p.bytes)
	}
}

type recProgress struct {
	mu                     gosync.Mutex
	planned, started, done int
	bytes                  int64
}

func (p *recProgress) Planned(*Plan)       { p.mu.Lock(); p.planned++; p.mu.Unlock() }
func (p *recProgress) JobStarted(*Job)     { p.mu.Lock(); p.started++; p.mu.Unlock() }
func (p *recProgress) JobDone(*Job, error) { p.mu.Lock(); p.done++; p.mu.Unlock() }
func (p *recProgress) JobBytes(_ *Job, n int64) {
	p.mu.Lock()
	p.bytes += n
	p.mu.Unlock()
}

// Under a server that fails a share of its requests, passes make progress, lose nothing
// and converge once the faults stop.
func TestFaultyServerConverges(t *testing.T) {
	w := newWorld(t)
	var mu gosync.Mutex
	rnd := mrand.New(mrand.NewPCG(7, 7))
	kinds := []emulator.Fault{{Kind: emulator.FaultInternal}, {Kind: emulator.FaultUnavailable},
		{Kind: emulator.FaultReset}, {Kind: emulator.FaultDropResponse}, {Kind: emulator.FaultTooManyRequests}}
	w.srv.SetFault(func(r *http.Request) emulator.Fault {
		mu.Lock()
		defer mu.Unlock()
		if rnd.Float64() >= 0.2 {
			return emulator.Fault{}
		}
		f := kinds[rnd.IntN(len(kinds))]
		if f.Kind == emulator.FaultDropResponse && r.Method == http.MethodGet {
			f = emulator.Fault{Kind: emulator.FaultInternal}
		}
		return f
	})
	local, remote := tree{}, tree{}
	for i := range 15 {
		local[fmt.Sprintf("l/%02d", i)] = fmt.Sprint("local ", i)
		remote[fmt.Sprintf("r/%02d", i)] = fmt.Sprint("remote ", i)
	}
	w.writeLocal(local)
	w.seedRemote(remote)
	for pass := 0; pass < 8; pass++ {
		rep, err := w.run()
		if err == nil && len(rep.Failures) == 0 {
			break
		}
		t.Logf("pass %d: err %v, %d failures", pass, err, len(rep.Failures))
	}
	faulted := 0
	for _, r := range w.srv.Requests() {
		if r.Fault != "" {
			faulted++
		}
	}
	if faulted == 0 {
		t.Fatal("no fault was injected")
	}
	t.Logf("%d requests faulted", faulted)
	w.srv.SetFault(nil)
	w.sync()
	want := tree{}
	maps.Copy(want, local)
	maps.Copy(want, remote)
	w.expectBoth(want)
	w.expectConverged()
}

// In upload-only mode a local rename still moves the remote file, and a remote edit of it
// is left alone without losing the moved path's base.
func TestUploadOnlyMoveAgainstRemoteEdit(t *testing.T) {
	w := newWorld(t)
	w.writeLocal(tree{"a": "1", "keep": "k"})
	w.sync()
	w.apply(L("mv", "a", "b"))
	w.apply(R("put", "a", "remote edit"))
	up := func(o *Options) { o.Mode = UploadOnly }
	w.sync(up)
	if d := diffTrees(w.localTree(), tree{"b": "1", "keep": "k"}); d != "" {
		t.Errorf("local changed in upload-only:\n%s", d)
	}
	if got := w.remoteTree()["b"]; got != "remote edit" {
		t.Errorf("remote b = %q, want the moved remote edit", got)
	}
	if _, ok, _ := w.db.Get("b"); !ok {
		t.Error("the moved path lost its base")
	}
	rep := w.sync(up)
	if len(rep.Plan.Jobs) != 0 {
		t.Errorf("second pass: %d jobs", len(rep.Plan.Jobs))
	}
}

// A crash after a remote move for a local rename reached the Disk, but before the state
// recorded it: the journal's move is replayed in the base, so the renamed and edited file
// is an edit of the moved one, not a conflict between two new files.
func TestCrashAfterRemoteMove(t *testing.T) {
	w := newWorld(t)
	w.writeLocal(tree{"a": "old", "keep": "k"})
	w.sync()
	w.apply(L("mv", "a", "b"))
	w.apply(L("put", "b", "new"))
	if _, err := w.db.Begin(state.JournalRecord{Op: string(OpMoveRemote), Key: "b", From: "a", Started: testNow}); err != nil {
		t.Fatal(err)
	}
	w.apply(R("mv", "a", "b"))
	rep := w.sync()
	if rep.Conflicts != 0 || rep.Uploaded != 1 {
		t.Errorf("conflicts %d uploaded %d, want 0 and 1", rep.Conflicts, rep.Uploaded)
	}
	w.expectBoth(tree{"b": "new", "keep": "k"})
	if !trashHolds(w, "old") {
		t.Error("the replaced version is not in the Disk trash")
	}
	w.expectConverged()
}

// A listing that misses a path while the Disk changes underneath is not a delete: the
// path is asked for directly (API document §10; sync-semantics "Change detection").
func TestListingMissesPathWhileDiskChanges(t *testing.T) {
	w := newWorld(t)
	w.writeLocal(tree{"a": "1", "b": "2"})
	w.sync()
	lossy := &lossyWalk{Remote: w.cl, drop: testRoot + "/b", during: func() { w.apply(R("put", "c", "3")) }}
	rep, err := w.engine(func(o *Options) { o.Remote = lossy }).RunOnce(t.Context())
	if err != nil || len(rep.Failures) != 0 {
		t.Fatalf("err %v failures %v", err, rep.Failures)
	}
	if rep.Deleted != 0 {
		t.Fatalf("a path missing from a moving listing was deleted")
	}
	w.sync()
	w.expectBoth(tree{"a": "1", "b": "2", "c": "3"})

	// When the revision did not move, a missing path is a remote delete.
	lossy = &lossyWalk{Remote: w.cl, drop: testRoot + "/b"}
	rep, err = w.engine(func(o *Options) { o.Remote = lossy }).RunOnce(t.Context())
	if err != nil || rep.Deleted != 1 {
		t.Fatalf("err %v deleted %d, want the missing path deleted locally", err, rep.Deleted)
	}
}

type lossyWalk struct {
	Remote
	drop   string
	during func()
}

func (l *lossyWalk) Walk(ctx contextT, root string, fn func(client.Resource) error) error {
	if l.during != nil {
		l.during()
	}
	return l.Remote.Walk(ctx, root, func(r client.Resource) error {
		if r.Path == l.drop {
			return nil
		}
		return fn(r)
	})
}

// Two local folders whose names are equal after NFC: the second is renamed with its
// content, and everything is synced in one pass.
func TestFolderNameCollisionAfterNFC(t *testing.T) {
	w := newWorld(t)
	w.writeLocal(tree{"é/a": "composed", "e\u0301/a": "decomposed", "keep": "k"})
	rep := w.sync()
	if rep.Conflicts != 1 {
		t.Errorf("conflicts %d", rep.Conflicts)
	}
	vals := map[string]bool{}
	for _, v := range w.remoteTree() {
		vals[v] = true
	}
	if !vals["composed"] || !vals["decomposed"] {
		t.Errorf("a version was merged away: %v", w.remoteTree())
	}
	w.expectConverged()
}

func TestRemoteNameCollisionAfterNFC(t *testing.T) {
	w := newWorld(t)
	w.seedRemote(tree{"é.txt": "composed", "e\u0301.txt": "decomposed"})
	rep := w.sync()
	if rep.Conflicts != 1 {
		t.Errorf("conflicts %d", rep.Conflicts)
	}
	if d := diffTrees(w.localTree(), w.remoteTree()); d != "" || len(w.localTree()) != 2 {
		t.Errorf("local %v remote %v", w.localTree(), w.remoteTree())
	}
	w.expectConverged()
}
