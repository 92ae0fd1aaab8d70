package reconcile

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/invitesync/invitesync/providers"
)

func TestLedger(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.jsonl")
	l, err := LoadLedger(path, "confluent", "org-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("loading a missing ledger created the file; plan must not write it")
	}
	if err := l.Record("i-1", "ada@example.com", now); err != nil {
		t.Fatal(err)
	}
	if err := l.RecordInvitation(providers.Invitation{CreatedAt: now.Add(-time.Minute)}, "Bob@Example.com", now); err != nil { // CSP: no id
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// Another job's entries share the file.
	other, err := LoadLedger(path, "csp", "org-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Record("c-1", "cy@example.com", now); err != nil {
		t.Fatal(err)
	}
	other.Close()

	l, err = LoadLedger(path, "confluent", "org-1")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if n := len(l.Entries()); n != 2 {
		t.Fatalf("entries = %d, want 2 (the csp one ignored)", n)
	}
	for _, tc := range []struct {
		inv  providers.Invitation
		want bool
	}{
		{providers.Invitation{ID: "i-1", Email: "ada@example.com"}, true},
		{providers.Invitation{ID: "i-1", Email: "someone@example.com"}, true},                                    // by id
		{providers.Invitation{ID: "i-2", Email: "ada@example.com"}, false},                                       // ada's entry has an id: another id is not ours
		{providers.Invitation{ID: "x-9", Email: "bob@example.com"}, false},                                       // id-less entry: no upstream time to match, not ours
		{providers.Invitation{ID: "x-9", Email: "bob@example.com", CreatedAt: now.Add(-time.Minute)}, true},      // the upstream's own time again
		{providers.Invitation{ID: "x-9", Email: "bob@example.com", CreatedAt: now.Add(-2 * time.Minute)}, false}, // another time: someone else's, however our clock runs
		{providers.Invitation{ID: "c-1", Email: "cy@example.com"}, false},                                        // another provider's entry
		{providers.Invitation{ID: "", Email: "nobody@example.com"}, false},
	} {
		if got := l.Owns(tc.inv); got != tc.want {
			t.Errorf("Owns(%+v) = %v, want %v", tc.inv, got, tc.want)
		}
	}
	var nilLedger *Ledger
	if nilLedger.Owns(providers.Invitation{ID: "i-1"}) || nilLedger.Close() != nil || nilLedger.Entries() != nil {
		t.Error("a nil ledger must own nothing and close cleanly")
	}
}

// A run killed mid-write leaves a cut line: it is ignored on load, and the
// next entry starts on a line of its own.
func TestLedgerTornLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.jsonl")
	good := `{"provider":"confluent","organization":"o","id":"i-1","email":"a@example.com","created_at":"2026-11-10T00:00:00Z"}` + "\n"
	if err := os.WriteFile(path, []byte(good+`{"provider":"confluent","organiz`), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := LoadLedger(path, "confluent", "o")
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if len(l.Entries()) != 1 {
		t.Fatalf("entries = %v", l.Entries())
	}
	if err := l.Record("i-2", "b@example.com", now); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l, err = LoadLedger(path, "confluent", "o")
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	if !l.Owns(providers.Invitation{ID: "i-2"}) || !l.Owns(providers.Invitation{ID: "i-1"}) {
		t.Errorf("entries after a torn line: %v", l.Entries())
	}

	// A malformed line in the middle is corruption: an error naming the line.
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(bad, []byte(good+"not json\n"+good), 0o644)
	if _, err := LoadLedger(bad, "confluent", "o"); err == nil || !strings.Contains(err.Error(), "bad.jsonl:2") {
		t.Errorf("err = %v; want one naming line 2", err)
	}
}

func TestLedgerConcurrentRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.jsonl")
	l, err := LoadLedger(path, "confluent", "o")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if err := l.Record("i-"+string(rune('a'+i%26))+string(rune('a'+i/26)), "x@example.com", now); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	l.Close()
	l, err = LoadLedger(path, "confluent", "o")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(l.Entries()); n != 50 {
		t.Errorf("entries = %d, want 50", n)
	}
}
