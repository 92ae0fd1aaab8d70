package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver is a webhook receiver on loopback: it records each body it gets
// and answers with the next status of its script (200 once the script ends).
type receiver struct {
	mu     sync.Mutex
	bodies [][]byte
	types  []string
	script []int
	hang   chan struct{} // when set, requests wait on it (a receiver that never answers)
}

func newReceiver(t *testing.T, script ...int) (*receiver, *httptest.Server) {
	rc := &receiver{script: script}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return rc, srv
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.bodies = append(rc.bodies, b)
	rc.types = append(rc.types, r.Header.Get("Content-Type"))
	status := http.StatusOK
	if len(rc.script) > 0 {
		status, rc.script = rc.script[0], rc.script[1:]
	}
	hang := rc.hang
	rc.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
		return
	}
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "0")
	}
	w.WriteHeader(status)
	fmt.Fprint(w, http.StatusText(status))
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.bodies)
}

func (rc *receiver) message(t *testing.T, i int) (Message, string) {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var m Message
	dec := json.NewDecoder(strings.NewReader(string(rc.bodies[i])))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("body %d is not the Slack message shape: %v\n%s", i, err, rc.bodies[i])
	}
	if rc.types[i] != "application/json" {
		t.Errorf("Content-Type = %q", rc.types[i])
	}
	return m, string(rc.bodies[i])
}

var (
	t0 = time.Date(2026, 12, 3, 17, 0, 0, 0, time.UTC)
)

func changedRun() Run {
	return Run{
		Provider: "confluent", Org: "org-abc123", Mode: "apply",
		Started: t0, Finished: t0.Add(42 * time.Second), ExitCode: 0,
		Actions: map[[2]string]int{
			{"create", "done"}: 2, {"revoke", "done"}: 1, {"leave", "planned"}: 40,
		},
		Emails: map[[2]string][]string{
			{"create", "done"}:   {"ada@example.com", "bob@example.com"},
			{"revoke", "done"}:   {"cy@example.com"},
			{"leave", "planned"}: {"quiet@example.com"},
		},
		Report: "/data/reports/latest/report.html",
	}
}

func TestShouldNotify(t *testing.T) {
	tests := []struct {
		name string
		run  Run
		want bool
	}{
		{"apply that changed something", changedRun(), true},
		{"nothing changed", Run{Mode: "apply", Actions: map[[2]string]int{{"leave", "planned"}: 40}}, false},
		{"plan: nothing is done by a plan", Run{Mode: "plan", Actions: map[[2]string]int{{"create", "planned"}: 3}}, false},
		{"failed with nothing done", Run{Mode: "apply", Failed: true, Reason: "another run holds the lock"}, true},
		{"only failed actions", Run{Mode: "apply", Failed: true, Actions: map[[2]string]int{{"create", "failed"}: 2}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ShouldNotify(tt.run); got != tt.want {
				t.Errorf("ShouldNotify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNotifyPostsSummaryWithoutEmailsByDefault(t *testing.T) {
	rc, srv := newReceiver(t)
	sent, err := Notify(context.Background(), Options{URL: srv.URL}, changedRun())
	if err != nil || !sent {
		t.Fatalf("Notify = %v, %v", sent, err)
	}
	if rc.count() != 1 {
		t.Fatalf("receiver got %d requests, want 1", rc.count())
	}
	m, raw := rc.message(t, 0)
	if !strings.Contains(m.Text, "invitesync apply changed 3 invitations: confluent org-abc123") {
		t.Errorf("text = %q", m.Text)
	}
	if len(m.Blocks) < 2 || m.Blocks[0].Type != "header" || m.Blocks[1].Type != "section" {
		t.Fatalf("blocks = %+v, want a header then a section", m.Blocks)
	}
	for _, want := range []string{"create done: 2", "revoke done: 1", "exit 0", "took 42s"} {
		if !strings.Contains(m.Blocks[1].Text.Text, want) {
			t.Errorf("summary lacks %q:\n%s", want, m.Blocks[1].Text.Text)
		}
	}
	if strings.Contains(raw, "leave") {
		t.Errorf("untouched people are in the message:\n%s", raw)
	}
	if strings.Contains(raw, "@example.com") {
		t.Errorf("emails sent without IncludeEmails:\n%s", raw)
	}
	if !strings.Contains(raw, "report.html") {
		t.Errorf("the message does not say where the report is:\n%s", raw)
	}
}

func TestNotifyEmailsOnlyWhenAsked(t *testing.T) {
	rc, srv := newReceiver(t)
	r := changedRun()
	r.Emails[[2]string{"create", "done"}] = append(r.Emails[[2]string{"create", "done"}], "<!channel>@example.com")
	for i := 0; i < 30; i++ {
		r.Emails[[2]string{"revoke", "done"}] = append(r.Emails[[2]string{"revoke", "done"}], fmt.Sprintf("p%02d@example.com", i))
	}
	if _, err := Notify(context.Background(), Options{URL: srv.URL, IncludeEmails: true}, r); err != nil {
		t.Fatal(err)
	}
	_, raw := rc.message(t, 0)
	for _, want := range []string{"ada@example.com", "bob@example.com", "cy@example.com", "and 11 more"} {
		if !strings.Contains(raw, want) {
			t.Errorf("message lacks %q:\n%s", want, raw)
		}
	}
	if strings.Contains(raw, "quiet@example.com") {
		t.Error("people left alone are listed")
	}
	if strings.Contains(raw, "<!channel>") {
		t.Error("a roster value reached Slack unescaped (it would ping the channel)")
	}
}

func TestNotifyFailure(t *testing.T) {
	rc, srv := newReceiver(t)
	r := Run{Provider: "csp", Org: "org-x", Mode: "apply", ExitCode: 4, Failed: true,
		Reason: "refused: the plan revokes 40 invitations\n(max-revoke 10%)"}
	sent, err := Notify(context.Background(), Options{URL: srv.URL}, r)
	if err != nil || !sent {
		t.Fatalf("Notify = %v, %v", sent, err)
	}
	m, _ := rc.message(t, 0)
	if !strings.Contains(m.Text, "FAILED") || !strings.Contains(m.Text, "max-revoke 10%") || strings.Contains(m.Text, "\n") {
		t.Errorf("text = %q, want FAILED and the reason on one line", m.Text)
	}
	if !strings.Contains(m.Blocks[1].Text.Text, "exit 4") {
		t.Errorf("section = %q", m.Blocks[1].Text.Text)
	}
}

func TestNotifyQuietRunSendsNothing(t *testing.T) {
	rc, srv := newReceiver(t)
	sent, err := Notify(context.Background(), Options{URL: srv.URL}, Run{Mode: "apply", Provider: "csp", Org: "o"})
	if err != nil || sent || rc.count() != 0 {
		t.Errorf("Notify = %v, %v with %d requests; want nothing sent", sent, err, rc.count())
	}
}

func TestSendRetries(t *testing.T) {
	tests := []struct {
		name     string
		script   []int
		wantErr  string // "" for success
		requests int
	}{
		{"500 then ok", []int{500}, "", 2},
		{"429 then ok", []int{429}, "", 2},
		{"two 503s: give up after the one retry", []int{503, 503}, "503", 2},
		{"400 is not retried", []int{400}, "400", 1},
		{"404 (a deleted webhook) is not retried", []int{404}, "404", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, srv := newReceiver(t, tt.script...)
			err := Send(context.Background(), Options{URL: srv.URL + "/services/T000/B000/XXXXSECRETPATH", RetryDelay: time.Millisecond}, changedRun())
			if tt.wantErr == "" && err != nil {
				t.Errorf("Send: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Send = %v, want an error with %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "XXXXSECRETPATH") {
				t.Errorf("the error shows the webhook's secret path: %v", err)
			}
			if rc.count() != tt.requests {
				t.Errorf("receiver got %d requests, want %d", rc.count(), tt.requests)
			}
		})
	}
}

func TestSendTimeoutIsBounded(t *testing.T) {
	rc, srv := newReceiver(t)
	rc.hang = make(chan struct{})
	defer close(rc.hang)
	err := Send(context.Background(), Options{URL: srv.URL + "/hook/SECRETPATH", Timeout: 50 * time.Millisecond, RetryDelay: time.Millisecond}, changedRun())
	if err == nil || !strings.Contains(err.Error(), "no answer within 50ms") {
		t.Fatalf("Send = %v, want a timeout error", err)
	}
	if strings.Contains(err.Error(), "SECRETPATH") {
		t.Errorf("the error shows the webhook's path: %v", err)
	}
	if rc.count() != 2 {
		t.Errorf("receiver got %d requests, want 2 (one retry)", rc.count())
	}
}

func TestSendRefusesLeakyURLs(t *testing.T) {
	for _, u := range []string{"http://hooks.example.com/services/SECRET", "ftp://x/y", "", "hooks.example.com/x"} {
		err := Send(context.Background(), Options{URL: u}, changedRun())
		if err == nil {
			t.Errorf("Send(%q) = nil, want a refusal", u)
		} else if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("the error shows the webhook's path: %v", err)
		}
	}
}

func TestComposeLimits(t *testing.T) {
	r := changedRun()
	r.Org = strings.Repeat("o", 400)
	r.Failed, r.Reason = true, strings.Repeat("é", 2000)
	m := Compose(r, true)
	if n := len(m.Blocks[0].Text.Text); n > maxHeaderText {
		t.Errorf("header is %d bytes, Slack takes %d", n, maxHeaderText)
	}
	for _, b := range m.Blocks {
		if b.Text != nil && len(b.Text.Text) > maxSectionText {
			t.Errorf("%s block is %d bytes, Slack takes %d", b.Type, len(b.Text.Text), maxSectionText)
		}
	}
	if _, err := json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(m.Text, "…") || strings.ContainsRune(m.Text, '\uFFFD') {
		t.Errorf("the reason is not cut cleanly on a rune boundary: ...%q", m.Text[len(m.Text)-10:])
	}
}
