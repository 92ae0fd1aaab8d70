//go:build unix

package report

import (
	"os"
	"syscall"
)

// auditOpenFlags make opening audit.jsonl refuse a symlink planted at its
// name (ELOOP) and not block on a planted FIFO.
const auditOpenFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK

// linkCount is how many names the file has: a hard link planted at
// audit.jsonl would make an append land in another file.
func linkCount(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}
