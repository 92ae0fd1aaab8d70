// Package peak measures a process's peak resident memory around a piece of
// work, for benchmarks that report memory targets (see make bench).
// Linux only; elsewhere the figures are reported as unavailable (-1).
package peak

import (
	"bufio"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// Reset returns freed memory to the OS and resets the kernel's peak RSS mark
// (VmHWM), so a later RSSMiB covers only what ran after it. It reports whether
// the reset took effect.
func Reset() bool {
	runtime.GC()
	debug.FreeOSMemory()
	// "5" resets the peak RSS mark (Linux >= 4.0, proc(5) clear_refs).
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// RSSMiB returns the peak resident set size since the last Reset (or process
// start) in MiB, or -1 when it cannot be read.
func RSSMiB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				return -1
			}
			return kb / 1024
		}
	}
	return -1
}
