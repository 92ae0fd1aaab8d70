//go:build !linux

package report

import (
	"os"
	"testing"
	"time"
)

func openPTY(t *testing.T) (master, slave *os.File) {
	t.Skip("pseudo-terminal test only on Linux")
	return nil, nil
}

// cpuTime is not measured here.
func cpuTime() time.Duration { return 0 }
