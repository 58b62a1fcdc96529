package main

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/yasyncd/yasyncd/auth"
	"github.com/yasyncd/yasyncd/client"
	"github.com/yasyncd/yasyncd/internal/config"
	"github.com/yasyncd/yasyncd/state"
	yasync "github.com/yasyncd/yasyncd/sync"
)

// Exit codes (contract.md "Exit codes").
const (
	exitOK          = 0
	exitRetry       = 1
	exitUsage       = 2
	exitNeedsUser   = 3
	exitInterrupted = 130
)

// failedPaths is the error of a pass that finished but left some paths unsynced: they are
// retried on the next pass, so it means "try again later".
type failedPaths struct {
	failures []yasync.Failure
}

func (e *failedPaths) Error() string {
	f := e.failures[0]
	if len(e.failures) == 1 {
		return fmt.Sprintf("1 path failed (%s %s: %v)", f.Op, f.Path, f.Err)
	}
	return fmt.Sprintf("%d paths failed (first: %s %s: %v)", len(e.failures), f.Op, f.Path, f.Err)
}

// isUsage reports whether err is the user's configuration mistake (exit 2).
func isUsage(err error) bool {
	code, _ := classify(err, nil)
	return code == exitUsage
}

// classify maps an error to the exit code and the one line that tells the user what to do.
// cfg may be nil (the settings did not load).
func classify(err error, cfg *config.Config) (int, string) {
	var (
		usage  *config.UsageError
		failed *failedPaths
		netErr net.Error
	)
	switch {
	case errors.As(err, &usage):
		return exitUsage, usage.Msg
	case errors.Is(err, auth.ErrInvalidSetting), errors.Is(err, auth.ErrNoClientID),
		errors.Is(err, auth.ErrInvalidClient), errors.Is(err, client.ErrInsecureOrigin):
		return exitUsage, err.Error()
	case errors.Is(err, auth.ErrInsecureTokenFile):
		return exitNeedsUser, err.Error()
	case errors.Is(err, state.ErrLocked):
		return exitRetry, err.Error() + "; wait for the other yasyncd to finish or stop it"
	case errors.Is(err, auth.ErrLoginRequired):
		return exitNeedsUser, `not logged in: run "yasyncd auth login" (or set YASYNCD_TOKEN)`
	case errors.Is(err, client.ErrUnauthorized):
		if cfg != nil && cfg.Token != "" {
			return exitNeedsUser, `the Disk refused the token in YASYNCD_TOKEN: replace it, or unset it and run "yasyncd auth login"`
		}
		return exitNeedsUser, `the Disk refused the stored token: run "yasyncd auth login"`
	case errors.Is(err, client.ErrForbidden):
		return exitNeedsUser, err.Error() + `; the app may lack Disk access: check remote_dir and run "yasyncd auth login" again`
	case errors.Is(err, yasync.ErrDiskFull), errors.Is(err, client.ErrInsufficientStorage):
		return exitNeedsUser, "the Disk is full: free space on Yandex Disk (its trash counts too), then run again"
	case errors.Is(err, yasync.ErrGuard):
		return exitNeedsUser, err.Error()
	case errors.As(err, &failed):
		return exitRetry, failed.Error() + "; they are retried on the next run"
	case errors.Is(err, context.DeadlineExceeded):
		return exitRetry, err.Error() + "; try again later"
	case errors.Is(err, client.ErrServer), errors.Is(err, client.ErrRateLimited), errors.Is(err, client.ErrLocked):
		return exitRetry, err.Error() + "; the Disk is having trouble, try again later"
	case errors.As(err, &netErr):
		where := "the Disk API"
		if cfg != nil {
			where = cfg.APIURL
		}
		return exitRetry, fmt.Sprintf("cannot reach %s: %v; check the network and try again", where, err)
	}
	return exitRetry, err.Error() + "; try again later"
}
