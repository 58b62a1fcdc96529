package e2e

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/yasyncd/yasyncd/client"
	"github.com/yasyncd/yasyncd/internal/localfs"
	"github.com/yasyncd/yasyncd/state"
	yasync "github.com/yasyncd/yasyncd/sync"
)

// errGuard is the engine's safety-guard error (invariant 6).
var errGuard = yasync.ErrGuard

// stateFile is where the in-process passes keep the engine's state.
func (w *World) stateFile() string { return filepath.Join(w.StateDir, "state.db") }

// oauthTransport adds the emulator's token, as the auth package's transport does.
type oauthTransport struct {
	token string
	base  http.RoundTripper
}

func (o oauthTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "OAuth "+o.token)
	return o.base.RoundTrip(r)
}

// runPass wires one engine the way cmd/yasyncd does for --once, with retry delays shrunk
// for tests, and runs one pass.
func runPass(ctx context.Context, w *World, o PassOptions) Pass {
	log := w.logger()
	defer func() { _ = log.Sync() }() // an in-memory buffer: nothing to report

	st, err := state.Open(w.stateFile(), state.Options{Timeout: 5 * time.Second})
	if err != nil {
		return Pass{Err: err, Jobs: -1, Summary: "open state: " + err.Error()}
	}
	defer st.Close()

	api := &http.Transport{Proxy: nil}
	defer api.CloseIdleConnections()
	transfer := &http.Transport{Proxy: nil}
	defer transfer.CloseIdleConnections()
	cl, err := client.New(client.Options{
		APIURL:            w.Disk.URL(),
		HTTPClient:        &http.Client{Transport: oauthTransport{token: w.Disk.Token(), base: api}},
		TransferClient:    &http.Client{Transport: transfer},
		RequestsPerSecond: -1,
		RetryBaseDelay:    5 * time.Millisecond,
		RetryMaxDelay:     50 * time.Millisecond,
		LockedDelayMin:    5 * time.Millisecond,
		LockedDelayMax:    20 * time.Millisecond,
		Logger:            log.Named("client"),
	})
	if err != nil {
		return Pass{Err: err, Jobs: -1, Summary: "client: " + err.Error()}
	}
	defer cl.Close()

	local, err := localfs.New(w.Local, localfs.Options{TrashDays: 30, Now: w.Now, Logger: log.Named("localfs")})
	if err != nil {
		return Pass{Err: err, Jobs: -1, Summary: "local: " + err.Error()}
	}
	eng, err := yasync.New(yasync.Options{
		Local:       local,
		Remote:      cl,
		State:       st,
		RemoteRoot:  remoteRoot,
		Transfers:   o.Transfers,
		ForceDelete: o.ForceDelete,
		DryRun:      o.DryRun,
		Resync:      o.Resync,
		Host:        testHost,
		Now:         w.Now,
		Logger:      log,
	})
	if err != nil {
		return Pass{Err: err, Jobs: -1, Summary: "engine: " + err.Error()}
	}
	rep, err := eng.RunOnce(ctx)
	res := Pass{Err: err, Jobs: jobs(rep), Summary: summarize(rep, err)}
	if rep != nil {
		res.Failures = len(rep.Failures)
		res.Recorded = rep.Recorded
		res.Counts = map[string]int{"uploaded": rep.Uploaded, "downloaded": rep.Downloaded, "moved": rep.Moved,
			"deleted": rep.Deleted, "conflicts": rep.Conflicts, "recorded": rep.Recorded}
	}
	return res
}

func jobs(rep *yasync.Report) int {
	if rep == nil || rep.Plan == nil {
		return -1
	}
	return len(rep.Plan.Jobs)
}

// summarize renders a report in one line.
func summarize(rep *yasync.Report, err error) string {
	var b strings.Builder
	if rep != nil {
		fmt.Fprintf(&b, "jobs %d, up %d, down %d, moved %d, deleted %d, conflicts %d, recorded %d",
			jobs(rep), rep.Uploaded, rep.Downloaded, rep.Moved, rep.Deleted, rep.Conflicts, rep.Recorded)
		for i, f := range rep.Failures {
			if i == 3 {
				fmt.Fprintf(&b, "; and %d more failures", len(rep.Failures)-i)
				break
			}
			fmt.Fprintf(&b, "; failed %s %q: %v", f.Op, f.Path, f.Err)
		}
		for _, s := range rep.Skipped {
			fmt.Fprintf(&b, "; skipped %q: %s", s.Path, s.Reason)
		}
	}
	if err != nil {
		fmt.Fprintf(&b, "; error: %v", err)
	}
	return b.String()
}

// Base reads the engine's base (B) from the state database, as a Tree keyed like the
// snapshots, and the jobs left in its journal (none after a pass that completed).
func (w *World) Base() (Tree, []string, error) {
	st, err := state.Open(w.stateFile(), state.Options{Timeout: 5 * time.Second, ReadOnly: true})
	if err != nil {
		return nil, nil, fmt.Errorf("open state: %w", err)
	}
	defer st.Close()
	t := Tree{}
	err = st.ForEach(func(e state.Entry) error {
		if e.Dir {
			t[e.Key] = Node{Dir: true}
		} else {
			t[e.Key] = Node{Hash: e.MD5, Size: e.Size}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	recs, err := st.Journal()
	if err != nil {
		return nil, nil, err
	}
	var journal []string
	for _, r := range recs {
		s := fmt.Sprintf("%s %q", r.Op, r.Key)
		if r.From != "" {
			s += fmt.Sprintf(" from %q", r.From)
		}
		journal = append(journal, s)
	}
	return t, journal, nil
}
