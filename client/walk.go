package client

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
)

// folderListing is what a walk worker reports for one folder.
type folderListing struct {
	items []Resource
	err   error
}

// Walk calls fn for every resource below root (not root itself), listing up to
// ListConcurrency folders at once. fn runs on the caller's goroutine, one item at a time;
// an error from fn stops the walk and is returned wrapped ("walk <root>: ..."). ErrNotFound
// if root is absent, ErrNotDir if it is a file. Items come in no particular order, but a
// folder always comes before its children. No goroutine outlives the call.
//
// The walk is driven by one coordinator (the caller's goroutine) that owns the queue of
// folders still to list, so the number of goroutines stays at ListConcurrency however
// wide the tree is. Workers hand whole folders back; a stack keeps the queue small
// (depth first).
func (c *Client) Walk(ctx context.Context, root string, fn func(Resource) error) error {
	root = Abs(root)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	jobs := make(chan string)
	results := make(chan folderListing)
	for range c.opts.ListConcurrency {
		g.Go(func() error {
			for {
				var dir string
				select {
				case <-gctx.Done():
					return nil
				case d, ok := <-jobs:
					if !ok {
						return nil
					}
					dir = d
				}
				var fl folderListing
				fl.err = c.list(gctx, "/v1/disk/resources", dir, func(r Resource) error {
					fl.items = append(fl.items, r)
					return nil
				})
				if fl.err != nil {
					fl.err = fmt.Errorf("list %s: %w", dir, fl.err)
				}
				select {
				case results <- fl:
				case <-gctx.Done():
					return nil
				}
			}
		})
	}
	err := c.coordinate(ctx, root, jobs, results, fn)
	cancel()
	close(jobs)
	_ = g.Wait() // workers only ever return nil; their errors travel in results
	if err != nil {
		return fmt.Errorf("walk %s: %w", root, err)
	}
	return nil
}

func (c *Client) coordinate(ctx context.Context, root string, jobs chan<- string,
	results <-chan folderListing, fn func(Resource) error) error {
	stack := []string{root}
	inFlight := 0
	for len(stack) > 0 || inFlight > 0 {
		var send chan<- string
		var next string
		if len(stack) > 0 {
			send, next = jobs, stack[len(stack)-1]
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case send <- next:
			stack = stack[:len(stack)-1]
			inFlight++
		case fl := <-results:
			inFlight--
			if fl.err != nil {
				return fl.err
			}
			for _, it := range fl.items {
				if err := fn(it); err != nil {
					return err
				}
				if it.IsDir() {
					stack = append(stack, it.Path)
				}
			}
		}
	}
	return nil
}
