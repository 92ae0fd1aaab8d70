package peak

import "testing"

func TestPeakGrowsWithWork(t *testing.T) {
	if !Reset() {
		t.Skip("no /proc/self/clear_refs on this system")
	}
	before := RSSMiB()
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	after := RSSMiB()
	if after-before < 48 {
		t.Fatalf("peak RSS grew %.1f MiB after touching 64 MiB", after-before)
	}
	runtimeKeep(buf)
}

var sink []byte

func runtimeKeep(b []byte) { sink = b }
