package sync

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/yasyncd/yasyncd/client"
	"github.com/yasyncd/yasyncd/internal/emulator"
	"github.com/yasyncd/yasyncd/internal/pathname"
	"github.com/yasyncd/yasyncd/state"
)

// A tree is a file tree written as data: "a/b.txt" → content, "dir/" → an (empty) folder.
// Folders holding files need no entry of their own.
type tree map[string]string

const testRoot = "disk:/Sync"

// testNow is the fixed clock of the scenarios, so conflict names are known in advance.
var testNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.Local)

// conflictOf is the conflict name the engine gives to rel in the scenarios.
func conflictOf(rel string) string {
	dir, name := filepath.Split(rel)
	return dir + pathname.ConflictName(name, testNow, "testhost", nil)
}

type authTransport struct{ token string }

func (a authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "OAuth "+a.token)
	return http.DefaultTransport.RoundTrip(r)
}

// world is one local folder, one emulated Disk and one state database.
type world struct {
	t      *testing.T
	srv    *emulator.Server
	cl     *client.Client
	root   string
	dbPath string
	db     *state.DB
	local  Local
}

func newWorld(t *testing.T, eo ...emulator.Options) *world {
	t.Helper()
	var o emulator.Options
	if len(eo) > 0 {
		o = eo[0]
	}
	if o.Logf == nil && os.Getenv("YASYNCD_EMULATOR_LOG") == "" {
		o.Logf = func(string, ...any) {}
	}
	srv := emulator.NewServer(t, o)
	cl, err := client.New(client.Options{
		APIURL:         srv.URL,
		HTTPClient:     &http.Client{Transport: authTransport{srv.Token()}},
		RetryBaseDelay: time.Millisecond, RetryMaxDelay: 10 * time.Millisecond,
		LockedDelayMin: time.Millisecond, LockedDelayMax: 5 * time.Millisecond,
		RequestsPerSecond: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	dir := t.TempDir()
	w := &world{t: t, srv: srv, cl: cl, root: filepath.Join(dir, "local"), dbPath: filepath.Join(dir, "state", "state.db")}
	w.local = w.newLocal(w.root)
	w.openDB()
	return w
}

func (w *world) newLocal(root string) Local {
	w.t.Helper()
	l, err := newTestLocal(root)
	if err != nil {
		w.t.Fatal(err)
	}
	return l
}

func (w *world) openDB() {
	db, err := state.Open(w.dbPath, state.Options{})
	if err != nil {
		w.t.Fatal(err)
	}
	w.db = db
	w.t.Cleanup(func() { _ = db.Close() })
}

func (w *world) engine(mod ...func(*Options)) *Engine {
	o := Options{
		Local: w.local, Remote: w.cl, State: w.db, RemoteRoot: testRoot,
		Host: "testhost", Now: func() time.Time { return testNow },
		Logger: zaptest.NewLogger(w.t, zaptest.Level(zap.WarnLevel)),
	}
	for _, m := range mod {
		m(&o)
	}
	e, err := New(o)
	if err != nil {
		w.t.Fatal(err)
	}
	return e
}

func (w *world) run(mod ...func(*Options)) (*Report, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return w.engine(mod...).RunOnce(ctx)
}

// sync runs a pass that must succeed with no failed path.
func (w *world) sync(mod ...func(*Options)) *Report {
	w.t.Helper()
	rep, err := w.run(mod...)
	if err != nil {
		w.t.Fatalf("RunOnce: %v", err)
	}
	for _, f := range rep.Failures {
		w.t.Errorf("failure: %s %s: %v", f.Op, f.Path, f.Err)
	}
	if w.t.Failed() {
		w.t.FailNow()
	}
	return rep
}

func (w *world) writeLocal(tr tree) {
	w.t.Helper()
	for _, p := range slices.Sorted(maps.Keys(tr)) {
		abs := filepath.Join(w.root, filepath.FromSlash(strings.TrimSuffix(p, "/")))
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(abs, 0o755); err != nil {
				w.t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
			w.t.Fatal(err)
		}
		if err := os.WriteFile(abs, []byte(tr[p]), 0o644); err != nil {
			w.t.Fatal(err)
		}
	}
}

func (w *world) seedRemote(tr tree) {
	w.t.Helper()
	for _, p := range slices.Sorted(maps.Keys(tr)) {
		var err error
		if strings.HasSuffix(p, "/") {
			err = w.srv.Mkdir(testRoot + "/" + strings.TrimSuffix(p, "/"))
		} else {
			err = w.srv.PutFile(testRoot+"/"+p, []byte(tr[p]))
		}
		if err != nil {
			w.t.Fatal(err)
		}
	}
}

// localTree reads the local folder (without .yasyncd/) as a tree; every folder is listed.
func (w *world) localTree() tree {
	w.t.Helper()
	out := tree{}
	err := filepath.WalkDir(w.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(w.root, p)
		rel = filepath.ToSlash(rel)
		switch {
		case rel == ".":
			return nil
		case rel == ".yasyncd":
			return filepath.SkipDir
		case d.IsDir():
			out[rel+"/"] = ""
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = string(b)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		w.t.Fatal(err)
	}
	return out
}

// remoteTree reads the emulated Disk below the root; every folder is listed.
func (w *world) remoteTree() tree {
	w.t.Helper()
	out := tree{}
	for p, e := range w.srv.Snapshot() {
		rel, ok := strings.CutPrefix(p, testRoot+"/")
		if !ok {
			continue
		}
		if e.Dir {
			out[rel+"/"] = ""
			continue
		}
		b, err := w.srv.ReadFile(p)
		if err != nil {
			w.t.Fatal(err)
		}
		out[rel] = string(b)
	}
	return out
}

// full adds the folders implied by the files of tr, so it compares with a read tree.
func full(tr tree) tree {
	out := tree{}
	for p, c := range tr {
		out[p] = c
		for d := filepath.Dir(strings.TrimSuffix(p, "/")); d != "."; d = filepath.Dir(d) {
			out[d+"/"] = ""
		}
	}
	return out
}

func diffTrees(got, want tree) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[k]
		switch {
		case !ok:
			b.WriteString("  missing " + k + "\n")
		case g != want[k]:
			b.WriteString("  " + k + ": got " + short(g) + ", want " + short(want[k]) + "\n")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			b.WriteString("  unexpected " + k + "\n")
		}
	}
	return b.String()
}

func short(s string) string {
	if len(s) > 20 {
		return strings.TrimSpace(s[:20]) + "…"
	}
	return "\"" + s + "\""
}

// expectBoth checks that both sides hold exactly want.
func (w *world) expectBoth(want tree) {
	w.t.Helper()
	want = full(want)
	if d := diffTrees(w.localTree(), want); d != "" {
		w.t.Errorf("local tree:\n%s", d)
	}
	if d := diffTrees(w.remoteTree(), want); d != "" {
		w.t.Errorf("remote tree:\n%s", d)
	}
}

// expectConverged checks that a further pass plans nothing and sends no transfer or
// mutating request (invariant 3).
func (w *world) expectConverged() {
	w.t.Helper()
	w.srv.ResetRequests()
	rep := w.sync()
	if n := len(rep.Plan.Jobs); n != 0 {
		var lines strings.Builder
		rep.Plan.Write(&lines)
		w.t.Errorf("second pass planned %d jobs:\n%s", n, lines.String())
	}
	if rep.Recorded != 0 {
		w.t.Errorf("second pass recorded %d entries", rep.Recorded)
	}
	for _, r := range w.srv.Requests() {
		if mutating(r) {
			w.t.Errorf("second pass sent %s %s", r.Method, r.Path)
		}
	}
}

// mutating reports whether a request changes the Disk or transfers file bytes.
func mutating(r emulator.RecordedRequest) bool {
	if r.Method != http.MethodGet {
		return true
	}
	return strings.Contains(r.Path, "/download") || strings.Contains(r.Path, "/upload")
}

func (w *world) countRequests(method, pathPart string) int {
	n := 0
	for _, r := range w.srv.Requests() {
		if r.Method == method && strings.Contains(r.Path, pathPart) {
			n++
		}
	}
	return n
}

func (w *world) stateKeys() []string {
	w.t.Helper()
	var keys []string
	if err := w.db.ForEach(func(e state.Entry) error {
		keys = append(keys, e.Key)
		return nil
	}); err != nil {
		w.t.Fatal(err)
	}
	sort.Strings(keys)
	return keys
}
