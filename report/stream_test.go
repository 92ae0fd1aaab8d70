package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/reconcile"
)

// hostileStrings are upstream-sourced values meant to rewrite a terminal,
// forge a line, hide text or break a format.
var hostileStrings = []string{
	"\x1b[2J\x1b[H",          // clear the screen, cursor home
	"\x1b]52;c;ZXZpbA==\x07", // OSC 52: write the clipboard
	"\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\", // OSC 8 hyperlink
	"bell\x07",
	"over\rwrite",
	"two\nlines",
	"rtl\u202eexe.txt",
	"csi\u009b2J", // C1 CSI
	"zero\u200bwidth",
	"line\u2028sep",
	"bad\xffutf8",
	"nul\x00byte",
	"tab\there",
	"<script>alert(1)</script>",
	"a|b`c`",
	"emoji 👩\u200d💻",
}

// legacyDocument is report.json as encoding/json wrote it before the
// streamed writer: the streamed bytes must be the same.
type legacyDocument struct {
	Version      int               `json:"version"`
	Mode         string            `json:"mode"`
	Provider     string            `json:"provider"`
	Organization string            `json:"organization"`
	StartedAt    time.Time         `json:"started_at"`
	FinishedAt   time.Time         `json:"finished_at"`
	Roster       Roster            `json:"roster"`
	Summary      reconcile.Summary `json:"summary"`
	Cancelled    bool              `json:"cancelled,omitempty"`
	Actions      []Action          `json:"actions"`
}

func legacyJSON(t *testing.T, d *Document) []byte {
	t.Helper()
	ld := legacyDocument{Version: d.Version, Mode: d.Mode, Provider: d.Provider, Organization: d.Organization,
		StartedAt: d.StartedAt, FinishedAt: d.FinishedAt, Roster: d.Roster, Summary: d.Summary, Cancelled: d.Cancelled,
		Actions: make([]Action, d.Len())}
	for i := range ld.Actions {
		ld.Actions[i] = d.Action(i)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ld); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// accessResult adds access and offboarding actions to the sample.
func accessResult() *reconcile.Result {
	res := sampleResult()
	res.Actions = append(res.Actions,
		reconcile.Action{Op: reconcile.OpGrant, Email: "eve@example.com", Reason: "adds EnvironmentAdmin on env-abc123", Status: reconcile.StatusPlanned,
			Grant: &providers.Grant{Email: "eve@example.com", UserID: "u-eve", Role: "EnvironmentAdmin@env-abc123"}},
		reconcile.Action{Op: reconcile.OpUngrant, Email: "eve@example.com", Reason: "removes CloudClusterAdmin on env-abc123/lkc-xyz789", Status: reconcile.StatusDone, Attempts: 1,
			Grant: &providers.Grant{ID: "rb-17", Email: "eve@example.com", UserID: "u-eve", Role: "CloudClusterAdmin@env-abc123/lkc-xyz789"}},
		reconcile.Action{Op: reconcile.OpRemoveMember, Email: "left@example.com", Reason: "not in roster; joined through this tool's invitation", Status: reconcile.StatusPlanned,
			User: &providers.User{ID: "u-left", Email: "left@example.com"}, Radius: &providers.Radius{APIKeys: []string{"AKIDLEFT1", "AKIDLEFT2"}, Bindings: []string{"rb-1", "rb-2", "rb-3"}}},
		reconcile.Action{Op: reconcile.OpCreate, Email: "unk@example.com", Reason: "in roster; not invited yet", Status: reconcile.StatusUnknown,
			Error: "outcome unknown (it may have taken effect upstream): timeout"},
	)
	res.Plan.Actions = res.Actions
	return res
}

func TestJSONStreamMatchesEncodingJSON(t *testing.T) {
	hostile := sampleResult()
	for i, h := range hostileStrings {
		hostile.Actions = append(hostile.Actions, reconcile.Action{Op: reconcile.OpCreate, Email: h + "@example.com", Reason: h,
			InvitationID: h, Error: h, RequestID: h, Status: reconcile.StatusFailed, Attempts: i})
	}
	hostile.Plan.Organization = hostileStrings[0]
	cancelled := sampleResult()
	cancelled.Cancelled = true
	cancelled.StartedAt = time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))
	empty := sampleResult()
	empty.Actions = []reconcile.Action{}
	tests := []struct {
		name string
		res  *reconcile.Result
	}{
		{"sample", sampleResult()},
		{"access and offboarding", accessResult()},
		{"hostile strings", hostile},
		{"cancelled, fractional time", cancelled},
		{"no actions", empty},
		{"no plan", &reconcile.Result{Mode: "plan"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDocument(tt.res)
			var got bytes.Buffer
			if err := writeJSON(&got, d); err != nil {
				t.Fatal(err)
			}
			want := legacyJSON(t, d)
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("streamed report.json differs from encoding/json's:\n got %s\nwant %s", got.Bytes(), want)
			}
			// JSON keeps values exact: the hostile strings decode unchanged.
			var back legacyDocument
			if err := json.Unmarshal(got.Bytes(), &back); err != nil {
				t.Fatal(err)
			}
			for i := range back.Actions {
				if want := d.Action(i).Reason; back.Actions[i].Reason != want && !strings.Contains(want, "\xff") {
					t.Errorf("action %d reason %q, want %q", i, back.Actions[i].Reason, want)
				}
			}
		})
	}
}

func TestAppendJSONString(t *testing.T) {
	inputs := append([]string{"", "plain", `quote " and \ backslash`, "\b\f\n\r\t\x01\x1f\x7f", "<a href='x'>&amp;</a>",
		"\u2028\u2029", "\xff\xfe", "é\xc3", "日本語"}, hostileStrings...)
	for _, s := range inputs {
		for _, htmlSafe := range []bool{false, true} {
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(htmlSafe)
			if err := enc.Encode(s); err != nil {
				t.Fatal(err)
			}
			want := strings.TrimSuffix(b.String(), "\n")
			if got := string(appendJSONString(nil, s, htmlSafe)); got != want {
				t.Errorf("appendJSONString(%q, %v) = %s, want %s", s, htmlSafe, got, want)
			}
		}
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want, cell string }{
		{"ada@example.com", "ada@example.com", "ada@example.com"},
		{"\x1b[2J\x1b[H", `\x1b[2J\x1b[H`, `\x1b[2J\x1b[H`},
		{"\x1b]52;c;ZXZpbA==\x07", `\x1b]52;c;ZXZpbA==\x07`, `\x1b]52;c;ZXZpbA==\x07`},
		{"over\rwrite", `over\rwrite`, "over\rwrite"},
		{"two\nlines\ttab", `two\nlines\ttab`, "two\nlines\ttab"},
		{"rtl\u202eexe.txt", `rtl\u202eexe.txt`, `rtl\u202eexe.txt`},
		{"csi\u009b2J", `csi\u009b2J`, `csi\u009b2J`},
		{"bad\xffutf8", `bad\xffutf8`, `bad\xffutf8`},
		{"nul\x00", `nul\x00`, `nul\x00`},
		{"del\x7f", `del\x7f`, `del\x7f`},
		{"tag\U000E0041", `tag\U000e0041`, `tag\U000e0041`},
		{"emoji 👩\u200d💻 é 日本", "emoji 👩\u200d💻 é 日本", "emoji 👩\u200d💻 é 日本"},
	}
	for _, tt := range tests {
		if got := Sanitize(tt.in); got != tt.want {
			t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := sanitizeCell(tt.in); got != tt.cell {
			t.Errorf("sanitizeCell(%q) = %q, want %q", tt.in, got, tt.cell)
		}
	}
	// Nothing Sanitize returns holds a control or format character.
	for _, h := range hostileStrings {
		for _, r := range Sanitize(h) {
			if r < 0x20 || r == 0x7f || unsafeRune(r) || r == '\ufffd' {
				t.Errorf("Sanitize(%q) keeps %U", h, r)
			}
		}
	}
}
