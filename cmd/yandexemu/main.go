// Command yandexemu serves the Yandex Disk emulator of internal/emulator for people and
// benchmarks: the Disk REST API, Yandex OAuth, and upload and download paths on one origin.
//
// The first line on stdout is the origin (e.g. http://127.0.0.1:41234) and nothing else;
// logs go to stderr. SIGINT or SIGTERM stops it cleanly.
//
//	yandexemu [-addr 127.0.0.1:0] [-token T] [-latency 20ms] [-fault-rate 0.1] [-seed N]
//	          [-data DIR] [-auto-approve] [-client-id ID] [-client-secret S] [-operation-delay D]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/yasyncd/yasyncd/internal/emulator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "yandexemu:", err)
		os.Exit(2)
	}
}

// run parses args, serves until ctx ends, and shuts down. It prints the origin as the first
// line of stdout once the listener is open.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("yandexemu", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	token := fs.String("token", "", "an access token that is always accepted, besides the ones issued through OAuth")
	latency := fs.Duration("latency", 0, "delay added to every request, e.g. 20ms")
	faultRate := fs.Float64("fault-rate", 0, "probability (0..1) of a random fault per request: 429, 5xx, reset, truncated download")
	seed := fs.Int64("seed", 0, "seed of the random faults")
	dataDir := fs.String("data", "", "keep file contents in this directory instead of memory")
	autoApprove := fs.Bool("auto-approve", false, "approve device codes at their second poll")
	clientID := fs.String("client-id", "", "the only OAuth client_id accepted (default: any)")
	clientSecret := fs.String("client-secret", "", "the only OAuth client_secret accepted (default: any)")
	opDelay := fs.Duration("operation-delay", 0, "how long asynchronous operations stay in progress")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	logger := log.New(stderr, "", log.LstdFlags|log.LUTC)
	srv, err := emulator.New(emulator.Options{
		Token:          *token,
		ClientID:       *clientID,
		ClientSecret:   *clientSecret,
		AutoApprove:    *autoApprove,
		Latency:        *latency,
		FaultRate:      *faultRate,
		Seed:           *seed,
		DataDir:        *dataDir,
		OperationDelay: *opDelay,
		Logf:           logger.Printf,
		LogRequests:    true,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	srv.Start(ln)
	if _, err := fmt.Fprintln(stdout, srv.URL); err != nil {
		srv.Close()
		return fmt.Errorf("print origin: %w", err)
	}
	logger.Printf("yandexemu: serving the Disk API at %s/v1/disk and OAuth at %s/token", srv.URL, srv.URL)
	<-ctx.Done()
	logger.Printf("yandexemu: stopping")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
