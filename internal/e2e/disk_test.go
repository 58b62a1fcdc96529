package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yasyncd/yasyncd/client"
	"github.com/yasyncd/yasyncd/internal/emulator"
)

// Disk is the emulated Yandex Disk of a World, with what the tests need on top of the
// emulator: "another device" edits, snapshots of the tree and of the whole trash, a fault
// rate that can change between passes, and a request counter with a hook, for kill points.
type Disk struct {
	t   testing.TB
	srv *emulator.Server

	// started and finished count requests into and out of the emulator (finished after the
	// OnRequest hook ran); answered numbers them for RequestCount.
	started, finished, answered atomic.Int64
	onRequest                   atomic.Pointer[func(Answered)]

	mu        sync.Mutex
	faultRate float64
	emuFaults bool // let the emulator's own Options.FaultRate pick faults
	rng       *rand.Rand
}

// startDisk starts an emulator for t.
func startDisk(t testing.TB, o WorldOptions) *Disk {
	d := &Disk{t: t, rng: rand.New(rand.NewPCG(uint64(o.Seed), 0xfa17))}
	d.srv = emulator.NewServer(t, emulator.Options{
		Latency:   o.Latency,
		Seed:      o.Seed,
		FaultRate: o.FaultRate,
		// One line per answered request: the counter behind RequestCount, OnRequest and
		// Quiesce (TestHarness checks it against the request log, so a change of the
		// emulator's line format fails there). Other lines (internal problems) go to the
		// test log.
		LogRequests: true,
		Logf: func(format string, args ...any) {
			if strings.HasPrefix(format, "emulator: %s %s -> %d") {
				a := Answered{N: d.answered.Add(1)}
				if len(args) >= 2 {
					a.Method, _ = args[0].(string)
					a.Path, _ = args[1].(string)
				}
				if f := d.onRequest.Load(); f != nil {
					(*f)(a)
				}
				d.finished.Add(1) // after the hook, so Quiesce also waits for it
				return
			}
			t.Logf(format, args...)
		},
	})
	d.srv.SetFault(d.pickFault)
	return d
}

// URL is the emulator's origin.
func (d *Disk) URL() string { return d.srv.URL }

// Token is an access token the emulator accepts.
func (d *Disk) Token() string { return d.srv.Token() }

// SetFaultRate makes the given share of the following requests fail with a fault that suits
// the endpoint: 429 (without Retry-After, to keep tests fast), 500, 503, a reset connection,
// a change whose answer is lost, a truncated download. 0 turns faults off.
func (d *Disk) SetFaultRate(rate float64) {
	d.mu.Lock()
	d.faultRate = rate
	d.mu.Unlock()
}

// pickFault is the emulator's fault hook. It also counts requests as they start, so Quiesce
// can wait for those still being handled.
func (d *Disk) pickFault(r *http.Request) emulator.Fault {
	d.started.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.emuFaults {
		return emulator.Fault{} // fall through to the emulator's FaultRate
	}
	if d.faultRate <= 0 || d.rng.Float64() >= d.faultRate {
		// A zero latency-only fault takes precedence over the emulator's own FaultRate
		// and does nothing: with the hook installed, faults are only what this chooses.
		return emulator.Fault{Kind: emulator.FaultLatency}
	}
	p := r.URL.Path
	var kinds []emulator.FaultKind
	switch {
	case strings.HasPrefix(p, emulator.StoragePathPrefix):
		kinds = []emulator.FaultKind{emulator.FaultTruncateBody, emulator.FaultReset, emulator.FaultInternal, emulator.FaultUnavailable}
	case strings.HasPrefix(p, emulator.UploadPathPrefix), strings.HasPrefix(p, emulator.DownloadPathPrefix):
		kinds = []emulator.FaultKind{emulator.FaultInternal, emulator.FaultUnavailable, emulator.FaultReset}
	case !strings.HasPrefix(p, "/v1/disk"):
		return emulator.Fault{Kind: emulator.FaultLatency} // OAuth
	default:
		kinds = []emulator.FaultKind{emulator.FaultTooManyRequests, emulator.FaultInternal, emulator.FaultUnavailable, emulator.FaultReset}
		if r.Method != http.MethodGet {
			kinds = append(kinds, emulator.FaultDropResponse)
		}
	}
	return emulator.Fault{Kind: kinds[d.rng.IntN(len(kinds))]}
}

// UseEmulatorFaults switches the emulator's own fault injection (WorldOptions.FaultRate,
// its full mix of faults, 429 with Retry-After included) on or off.
func (d *Disk) UseEmulatorFaults(on bool) {
	d.mu.Lock()
	d.emuFaults = on
	d.mu.Unlock()
}

// Faulted counts the requests in the log that got an injected fault.
func (d *Disk) Faulted() int {
	n := 0
	for _, r := range d.srv.Requests() {
		if r.Fault != "" && r.Fault != "latency" {
			n++
		}
	}
	return n
}

// RequestCount is the number of requests answered so far.
func (d *Disk) RequestCount() int64 { return d.answered.Load() }

// Answered describes a request the emulator answered, for OnRequest.
type Answered struct {
	N            int64 // the running count (RequestCount)
	Method, Path string
}

// OnRequest calls f (from the emulator's handler goroutine) after each answered request;
// nil removes it.
func (d *Disk) OnRequest(f func(Answered)) {
	if f == nil {
		d.onRequest.Store(nil)
		return
	}
	d.onRequest.Store(&f)
}

// Quiesce waits until every request the emulator started has been answered (a killed
// client's requests can still be in its hands), or ctx ends.
func (d *Disk) Quiesce(ctx context.Context) {
	deadline := time.Now().Add(10 * time.Second)
	for d.started.Load() != d.finished.Load() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	if d.started.Load() != d.finished.Load() {
		d.t.Errorf("emulator: %d requests still unanswered after 10s", d.started.Load()-d.finished.Load())
	}
}

// Requests returns the emulator's request log.
func (d *Disk) Requests() []emulator.RecordedRequest { return d.srv.Requests() }

// ResetRequests empties the request log.
func (d *Disk) ResetRequests() { d.srv.ResetRequests() }

// PutFile stores a file, creating its parents, as an upload by another device.
func (d *Disk) PutFile(p string, data []byte) error { return d.srv.PutFile(p, data) }

// Mkdir creates a folder and its parents; an existing folder is fine.
func (d *Disk) Mkdir(p string) error { return d.srv.Mkdir(p) }

// Remove moves p to the Disk trash.
func (d *Disk) Remove(p string) error { return d.srv.Remove(p) }

// Move renames from to to.
func (d *Disk) Move(from, to string) error { return d.srv.Move(from, to) }

// Tree returns the Disk below root (a missing root is an empty tree). With nfc the paths
// are normalised for comparison, else in the spelling the Disk stores.
func (d *Disk) Tree(root string, nfc bool) (Tree, error) {
	t := Tree{}
	prefix := strings.TrimSuffix(root, "/") + "/"
	for p, e := range d.srv.Snapshot() {
		rel, ok := strings.CutPrefix(p, prefix)
		if !ok {
			continue
		}
		if nfc {
			rel = key(rel)
		}
		if e.Dir {
			t[rel] = Node{Dir: true}
		} else {
			t[rel] = Node{Hash: e.MD5, Size: e.Size}
		}
	}
	return t, nil
}

// TrashContents returns the contents of every file in the Disk trash, including the files
// inside trashed folders (listed through the API, since the emulator's Trash shows the top
// level only).
func (d *Disk) TrashContents() (map[string]bool, error) {
	out := map[string]bool{}
	for _, e := range d.srv.Trash() {
		if !e.Dir {
			out[e.MD5] = true
			continue
		}
		if err := d.walkTrash(e.Path, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (d *Disk) walkTrash(p string, out map[string]bool) error {
	for offset := 0; ; {
		q := url.Values{"path": {p}, "limit": {"1000"}, "offset": {fmt.Sprint(offset)}}
		req, err := http.NewRequest(http.MethodGet, d.srv.URL+"/v1/disk/trash/resources?"+q.Encode(), nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "OAuth "+d.srv.Token())
		resp, err := d.srv.Client().Do(req)
		if err != nil {
			return fmt.Errorf("list trash %s: %w", p, err)
		}
		var r client.Resource
		err = json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return fmt.Errorf("list trash %s: status %d, %v", p, resp.StatusCode, err)
		}
		if r.Embedded == nil {
			return nil
		}
		for _, it := range r.Embedded.Items {
			if it.Type == client.TypeDir {
				if err := d.walkTrash(it.Path, out); err != nil {
					return err
				}
			} else {
				out[it.MD5] = true
			}
		}
		offset += len(r.Embedded.Items)
		if len(r.Embedded.Items) == 0 || offset >= r.Embedded.Total {
			return nil
		}
	}
}

// changeRequests returns the requests in log that transfer or change something: upload and
// download links and bodies, mkdir, copy, move, delete, property changes, trash changes.
// Reading metadata, listings and operation status is fine in an idle pass.
func changeRequests(log []emulator.RecordedRequest) []string {
	var out []string
	for _, r := range log {
		idle := r.Method == http.MethodGet && (r.Path == "/v1/disk" || r.Path == "/v1/disk/" ||
			r.Path == "/v1/disk/resources" || r.Path == "/v1/disk/resources/files" ||
			strings.HasPrefix(r.Path, "/v1/disk/operations") || r.Path == "/v1/disk/trash/resources" ||
			r.Path == "/v1/disk/resources/last-uploaded")
		if !idle {
			out = append(out, fmt.Sprintf("%s %s %s", r.Method, r.Path, r.Query.Get("path")))
		}
	}
	return out
}
