//go:build !unix

package localfs

import (
	"io/fs"
	"os"
)

const openReadFlags = os.O_RDONLY

// inodeOf is 0 where the platform has no inode in its stat result: the cheap filter then
// relies on size and mtime, and move detection on content.
func inodeOf(fs.FileInfo) uint64 { return 0 }
