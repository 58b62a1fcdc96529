//go:build unix

package localfs

import (
	"io/fs"
	"os"
	"syscall"
)

// openReadFlags opens without blocking: if a file was swapped for a named pipe after it
// was checked, opening the pipe must not hang the walk or the transfer.
const openReadFlags = os.O_RDONLY | syscall.O_NONBLOCK

func inodeOf(st fs.FileInfo) uint64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return uint64(s.Ino) // not uint64 on every unix
	}
	return 0
}
