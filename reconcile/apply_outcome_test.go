package reconcile

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/providers/emulator"
	"github.com/invitesync/invitesync/sources"
)

// frozenUpstream is a loopback listener that takes connections and requests
// and never answers (a hung or SIGSTOPped server).
func frozenUpstream(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // held open, never read, never answered
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// refusingUpstream is a loopback address nobody listens on.
func refusingUpstream(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// outcomeCounts sorts a result's actions into done, unknown (failed, may have
// applied), failed (known not applied) and skipped.
func outcomeCounts(t *testing.T, res *Result) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, a := range res.Actions {
		switch {
		case a.Status == StatusUnknown:
			if !strings.HasPrefix(a.Error, OutcomeUnknown) {
				t.Errorf("%s: unknown outcome without saying so: %q", a.Email, a.Error)
			}
			n["unknown"]++
		case a.Status == StatusFailed && strings.HasPrefix(a.Error, OutcomeUnknown):
			t.Errorf("%s: failed but says %q: an unknown outcome is its own status", a.Email, a.Error)
		default:
			n[string(a.Status)]++
		}
	}
	return n
}

// An apply tells apart what it knows was not done from what may have been:
// a request that reached the upstream and got no answer is "outcome unknown";
// one refused at connect, or answered 503, is plainly failed; once the
// upstream stops answering altogether, no further action starts (skipped).
func TestApplyOutcomes(t *testing.T) {
	creates := func(n int) []sources.Member {
		var ms []sources.Member
		for i := range n {
			ms = append(ms, member(fmt.Sprintf("o%02d@example.com", i)))
		}
		return ms
	}
	for _, tc := range []struct {
		name string
		// upstream returns the provider's endpoint and the current invitations
		// to plan against (after which faults may be switched on).
		upstream func(t *testing.T) (string, func(p providers.Provider) []providers.Invitation)
		members  []sources.Member
		check    func(t *testing.T, n map[string]int)
	}{
		{
			name: "frozen upstream: outcome unknown, then the rest skipped",
			upstream: func(t *testing.T) (string, func(providers.Provider) []providers.Invitation) {
				return frozenUpstream(t), nil
			},
			members: creates(12),
			check: func(t *testing.T, n map[string]int) {
				// At most the in-flight ones when the third gave up are tried.
				if n["unknown"] < DefaultMaxUnanswered || n["unknown"] > DefaultMaxUnanswered+1 || n["skipped"] != 12-n["unknown"] {
					t.Errorf("outcomes %v: want %d or %d outcome unknown, the rest skipped", n, DefaultMaxUnanswered, DefaultMaxUnanswered+1)
				}
			},
		},
		{
			name: "refused connections: known not applied, then the rest skipped",
			upstream: func(t *testing.T) (string, func(providers.Provider) []providers.Invitation) {
				return refusingUpstream(t), nil
			},
			members: creates(12),
			check: func(t *testing.T, n map[string]int) {
				if n["failed"] < DefaultMaxUnanswered || n["unknown"] != 0 || n["skipped"] != 12-n["failed"] {
					t.Errorf("outcomes %v: want %d+ failed (not applied), none unknown, the rest skipped", n, DefaultMaxUnanswered)
				}
			},
		},
		{
			name: "503 to every request: known not applied, every action tried",
			upstream: func(t *testing.T) (string, func(providers.Provider) []providers.Invitation) {
				srv, url := startEmulator(t, emulator.Config{}, emulator.Seed{})
				return url, func(providers.Provider) []providers.Invitation { srv.SetFaults(1, []string{"503"}); return nil }
			},
			members: creates(6),
			check: func(t *testing.T, n map[string]int) {
				if n["failed"] != 6 {
					t.Errorf("outcomes %v: want all 6 failed (not applied): the upstream answers, so none is skipped", n)
				}
			},
		},
		{
			name: "500 to every request: creates and revokes have an unknown outcome",
			upstream: func(t *testing.T) (string, func(providers.Provider) []providers.Invitation) {
				srv, url := startEmulator(t, emulator.Config{}, emulator.Seed{Confluent: []emulator.SeedConfluent{
					{Email: "gone1@example.com", Creator: emulator.DefaultConfluentPrincipal},
					{Email: "gone2@example.com", Creator: emulator.DefaultConfluentPrincipal},
				}})
				return url, func(p providers.Provider) []providers.Invitation {
					current, err := p.List(context.Background())
					if err != nil {
						t.Fatal(err)
					}
					srv.SetFaults(1, []string{"500"})
					return current
				}
			},
			members: creates(4),
			check: func(t *testing.T, n map[string]int) {
				if n["unknown"] != 6 {
					t.Errorf("outcomes %v: want 4 creates and 2 revokes of unknown outcome", n)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, prepare := tc.upstream(t)
			cfg := providerConfig(url)
			cfg.Timeout, cfg.MaxAttempts = 300*time.Millisecond, 2
			p := newConfluent(t, cfg)
			var current []providers.Invitation
			if prepare != nil {
				current = prepare(p)
			}
			plan, err := Compute(tc.members, current, Options{Owner: emulator.DefaultConfluentPrincipal, MaxRevoke: "100%",
				Capabilities: p.Capabilities(), Provider: p.Name(), Organization: p.Organization(), Now: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			res, err := Apply(context.Background(), p, plan, ApplyOptions{Concurrency: 2})
			if err != nil {
				t.Fatal(err)
			}
			if res.Cancelled {
				t.Error("Result.Cancelled set although nobody cancelled the run")
			}
			n := outcomeCounts(t, res)
			tc.check(t, n)
			for _, a := range res.Actions {
				switch {
				case a.Status == StatusSkipped && !strings.Contains(a.Error, "stopped answering"):
					t.Errorf("%s skipped: %q does not say why", a.Email, a.Error)
				case a.Status == StatusFailed && a.Attempts == 0:
					t.Errorf("%s failed with no attempt: %q", a.Email, a.Error)
				}
			}
			if t.Failed() {
				for _, a := range res.Actions {
					t.Logf("%s %s: %s (%d attempts) %s", a.Op, a.Email, a.Status, a.Attempts, a.Error)
				}
			}
		})
	}
}

// A run cancelled before anything was sent skips every action; nothing is
// reported failed or of unknown outcome.
func TestApplyCancelledBeforeSending(t *testing.T) {
	_, url := startEmulator(t, emulator.Config{}, emulator.Seed{})
	p := newConfluent(t, providerConfig(url))
	plan, err := planAgainst(t, p, []sources.Member{member("a@example.com"), member("b@example.com")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := Apply(ctx, p, plan, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := outcomeCounts(t, res); n["skipped"] != 2 || !res.Cancelled {
		t.Errorf("outcomes %v, cancelled %v: want both skipped and the run cancelled", n, res.Cancelled)
	}
}
