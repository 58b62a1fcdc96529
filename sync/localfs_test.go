package sync_test

import (
	yasync "github.com/yasyncd/yasyncd/sync"

	"github.com/yasyncd/yasyncd/internal/localfs"
)

// The engine's tests run on the real local folder implementation.
func init() {
	yasync.SetTestLocal(func(root string) (yasync.Local, error) {
		return localfs.New(root, localfs.Options{})
	})
}
