package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/reconcile"
	"github.com/invitesync/invitesync/sources"
)

// sampleResult is a small apply result covering every kind and status.
func sampleResult() *reconcile.Result {
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	plan := &reconcile.Plan{
		Version:      1,
		Provider:     "confluent",
		Organization: "org-demo",
		CreatedAt:    start,
		Policy:       reconcile.PolicySync,
		RosterFile:   "samples/roster.csv",
		RosterRows:   12,
	}
	actions := []reconcile.Action{
		{Op: reconcile.OpLeave, Email: "ada@example.com", Reason: "pending, attributes equal", InvitationID: "i-ada", Status: reconcile.StatusPlanned},
		{Op: reconcile.OpReinvite, Email: "bob@example.com", Reason: "auth type differs: AUTH_TYPE_LOCAL -> AUTH_TYPE_SSO", InvitationID: "i-bob2", Status: reconcile.StatusDone, Attempts: 2, RequestID: "req-bob",
			Member: &sources.Member{Email: "bob@example.com", AuthType: sources.AuthSSO}, Current: &providers.Invitation{ID: "i-bob", Email: "bob@example.com", Status: providers.StatusPending}},
		{Op: reconcile.OpCreate, Email: "eve@example.com", Reason: "not invited", InvitationID: "i-eve", Status: reconcile.StatusDone, Attempts: 1, RequestID: "req-eve"},
		{Op: reconcile.OpCreate, Email: "fay@example.com", Reason: "not invited", Status: reconcile.StatusFailed, Attempts: 6, Error: "create: 500 Internal Server Error", RequestID: "req-fay"},
		{Op: reconcile.OpRevoke, Email: "old-contractor@example.com", Reason: "not in roster, pending, ours", InvitationID: "i-old", Status: reconcile.StatusDone, Attempts: 1},
		{Op: reconcile.OpLeave, Email: "partner@example.org", Reason: "pending, not ours, not in roster", InvitationID: "i-partner", Status: reconcile.StatusPlanned, Unmanaged: true},
		{Op: reconcile.OpRevoke, Email: "gone@example.com", Reason: "the Azure access API has no revoke", InvitationID: "i-gone", Status: reconcile.StatusUnsupported},
		{Op: reconcile.OpCreate, Email: "kim@example.com", Reason: "not invited", Status: reconcile.StatusSkipped},
	}
	plan.Actions = actions
	return &reconcile.Result{
		Mode:       "apply",
		Plan:       plan,
		StartedAt:  start,
		FinishedAt: start.Add(3 * time.Second),
		Actions:    actions,
	}
}

func TestWriteJSON(t *testing.T) {
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	res := sampleResult()
	dir := t.TempDir()
	paths, err := Write(dir, []string{"json"}, res)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(dir, "report.json")}; !reflect.DeepEqual(paths, want) {
		t.Fatalf("paths = %v, want %v", paths, want)
	}
	raw, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}

	// Decode into plain maps: this checks the wire names, not our own struct tags.
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("report.json is not JSON: %v", err)
	}
	for _, k := range []string{"version", "mode", "provider", "organization", "started_at", "finished_at", "roster", "summary", "actions"} {
		if _, ok := got[k]; !ok {
			t.Errorf("report.json has no %q", k)
		}
	}
	if got["version"] != float64(1) || got["mode"] != "apply" || got["provider"] != "confluent" || got["organization"] != "org-demo" {
		t.Errorf("header = version %v mode %v provider %v organization %v", got["version"], got["mode"], got["provider"], got["organization"])
	}
	if got["started_at"] != "2026-03-01T10:00:00Z" || got["finished_at"] != "2026-03-01T10:00:03Z" {
		t.Errorf("times = %v, %v", got["started_at"], got["finished_at"])
	}
	if r := got["roster"].(map[string]any); r["file"] != "samples/roster.csv" || r["rows"] != float64(12) {
		t.Errorf("roster = %v", r)
	}

	// Every key of reconcile.Summary (the new kinds included), with its counts.
	sum := reconcile.Summarize(res.Actions)
	var wantSummary map[string]any
	raw2, _ := json.Marshal(sum)
	if err := json.Unmarshal(raw2, &wantSummary); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"create", "reinvite", "revoke", "leave", "unmanaged", "failed", "unsupported", "grant", "ungrant", "remove_member"} {
		if _, ok := wantSummary[k]; !ok {
			t.Errorf("summary key %q missing", k)
		}
	}
	if !reflect.DeepEqual(got["summary"], wantSummary) {
		t.Errorf("summary = %v, want %v", got["summary"], wantSummary)
	}
	// The fixture's own counts, so a broken Summarize cannot hide here.
	if sum.Create != 3 || sum.Reinvite != 1 || sum.Revoke != 2 || sum.Leave != 1 || sum.Unmanaged != 1 || sum.Failed != 1 || sum.Unsupported != 1 {
		t.Errorf("fixture summary = %+v", sum)
	}

	acts := got["actions"].([]any)
	if len(acts) != len(res.Actions) {
		t.Fatalf("%d actions, want %d", len(acts), len(res.Actions))
	}
	keys := []string{"op", "email", "reason", "invitation_id", "status", "attempts", "error", "request_id"}
	for i, a := range res.Actions {
		g := acts[i].(map[string]any)
		want := map[string]any{
			"op": string(a.Op), "email": a.Email, "reason": a.Reason, "invitation_id": a.InvitationID,
			"status": string(a.Status), "attempts": float64(a.Attempts), "error": a.Error, "request_id": a.RequestID,
		}
		if a.Unmanaged {
			want["unmanaged"] = true
		}
		if !reflect.DeepEqual(g, want) {
			t.Errorf("action %d = %v\nwant %v", i, g, want)
		}
		for _, k := range keys {
			if _, ok := g[k]; !ok {
				t.Errorf("action %d has no %q", i, k)
			}
		}
	}

	// Nothing but the report is left in dir: the temp file was renamed.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("dir holds %d entries, want 1", len(entries))
	}
}

func TestWriteErrors(t *testing.T) {
	if _, err := Write(t.TempDir(), []string{"json"}, nil); err == nil {
		t.Error("nil result: no error")
	}
	if _, err := Write(t.TempDir(), []string{"pdf"}, sampleResult()); err == nil || !strings.Contains(err.Error(), "pdf") {
		t.Errorf("unknown format: err = %v", err)
	}
	// dir is a file: MkdirAll fails and says so.
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(f, []string{"json"}, sampleResult()); err == nil {
		t.Error("dir is a file: no error")
	}
}

func TestParseFormats(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{"json,md,xlsx,html", []string{"json", "md", "xlsx", "html"}, ""},
		{"json", []string{"json"}, ""},
		{" HTML , json ", []string{"html", "json"}, ""},
		{"json,json,md", []string{"json", "md"}, ""},
		{"", Formats, ""},
		{"json,,md", []string{"json", "md"}, ""},
		{"json,pdf", nil, `"pdf"`},
		{"csv", nil, `"csv"`},
		{",", nil, "no report format"},
	}
	for _, tt := range tests {
		got, err := ParseFormats(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseFormats(%q) err = %v, want it to name %s", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseFormats(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}
