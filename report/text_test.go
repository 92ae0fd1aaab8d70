package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/invitesync/invitesync/reconcile"
	"github.com/invitesync/invitesync/sources"
)

func planText(t *testing.T, res *reconcile.Result, opts TextOptions) string {
	t.Helper()
	var b bytes.Buffer
	if err := WritePlanText(&b, res, opts); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestWritePlanText(t *testing.T) {
	res := accessResult()
	res.Mode = "plan"
	for i := range res.Actions {
		res.Actions[i].Status = reconcile.StatusPlanned
		if res.Actions[i].Email == "gone@example.com" {
			res.Actions[i].Status = reconcile.StatusUnsupported
		}
		res.Actions[i].Error = ""
	}
	res.Actions[2].Member = &sources.Member{Email: "eve@example.com", AuthType: sources.AuthSSO, OrgRoles: []string{"org_member"}, Groups: []string{"g-1", "g-2"}}
	out := planText(t, res, TextOptions{Paths: []string{"rep/report.json", "rep/report.md"}})
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")

	summary := "Plan: 4 to create, 1 to reinvite, 2 to revoke, 1 to grant, 1 to ungrant, 1 to remove-member; 1 unchanged, 1 unmanaged, 1 unsupported."
	if lines[1] != summary {
		t.Errorf("line 2 = %q, want the summary %q", lines[1], summary)
	}
	if lines[len(lines)-2] != summary || lines[len(lines)-1] != "Reports: rep/report.json rep/report.md" {
		t.Errorf("the plan does not end with the summary and the reports:\n%s", out)
	}
	for _, want := range []string{
		"invitesync plan: confluent org-demo · roster samples/roster.csv (12 rows)",
		"  ~ reinvite bob@example.com (invitation i-bob2)",
		"      ~ auth type differs: AUTH_TYPE_LOCAL -> AUTH_TYPE_SSO",
		"  + create   eve@example.com (invitation i-eve)",
		`      auth_type       = "AUTH_TYPE_SSO"`,
		`      org_roles       = ["org_member"]`,
		`      groups          = ["g-1", "g-2"]`,
		"      + grant   EnvironmentAdmin@env-abc123  # adds EnvironmentAdmin on env-abc123",
		"      - ungrant CloudClusterAdmin@env-abc123/lkc-xyz789  # removes CloudClusterAdmin on env-abc123/lkc-xyz789",
		"  - revoke   old-contractor@example.com (invitation i-old)",
		"  - revoke   gone@example.com (invitation i-gone)  [unsupported]",
		"  - remove-member left@example.com (user u-left)",
		"      ! takes with it: 2 API keys: AKIDLEFT1, AKIDLEFT2; 3 role bindings",
		"Unmanaged: 1 not made by invitesync (invitations, roles, members), left alone:",
		"  ? partner@example.org (invitation i-partner)",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("plan lacks line %q:\n%s", want, out)
		}
	}
	// Grants sit under their person: eve's block holds her create and access.
	if i, j := strings.Index(out, "+ create   eve@"), strings.Index(out, "+ grant   Env"); i < 0 || j < i || strings.Contains(out[i:j], "fay@") {
		t.Errorf("eve's grant is not under eve:\n%s", out)
	}
	if strings.Contains(out, "ada@example.com") {
		t.Error("a leave is listed; it is only counted")
	}
	if strings.Contains(out, "\x1b") {
		t.Error("colour without Color")
	}
	colour := planText(t, res, TextOptions{Color: true})
	if !strings.Contains(colour, "\x1b[32m+\x1b[0m create") || !strings.Contains(colour, "\x1b[31m-\x1b[0m revoke") || !strings.Contains(colour, "\x1b[33m~\x1b[0m reinvite") {
		t.Errorf("colour markers missing:\n%q", colour)
	}
}

func TestWritePlanTextApply(t *testing.T) {
	out := planText(t, accessResult(), TextOptions{})
	for _, want := range []string{
		"Apply: 4 create, 1 reinvite, 2 revoke, 1 grant, 1 ungrant, 1 remove-member; 1 unchanged, 1 unmanaged, 1 unsupported; 4 done, 1 failed, 1 skipped, 1 outcome unknown.",
		"  + create   fay@example.com  [failed]\n      # not invited\n      ! create: 500 Internal Server Error\n",
		"  + create   unk@example.com  [outcome unknown]",
		"      - ungrant CloudClusterAdmin@env-abc123/lkc-xyz789  # removes CloudClusterAdmin on env-abc123/lkc-xyz789  [done]",
		"  + create   kim@example.com  [skipped]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("apply text lacks %q:\n%s", want, out)
		}
	}
}

// TestWritePlanTextCut: past MaxLines the plan says exactly how many changes
// of which kind were left out and where to read them.
func TestWritePlanTextCut(t *testing.T) {
	res := sampleResult()
	res.Mode = "plan"
	res.Actions = nil
	for i := range 100 {
		op := reconcile.OpCreate
		if i%4 == 3 {
			op = reconcile.OpRevoke
		}
		res.Actions = append(res.Actions, reconcile.Action{Op: op, Email: fmt.Sprintf("p%03d@example.com", i), Reason: "why", Status: reconcile.StatusPlanned})
	}
	res.Actions = append(res.Actions, reconcile.Action{Op: reconcile.OpLeave, Unmanaged: true, Email: "z@example.org", Status: reconcile.StatusPlanned})
	tests := []struct {
		name     string
		maxLines int
		paths    []string
		want     string
		listed   int
	}{
		{"no limit", 0, nil, "", 100},
		{"cut, report.md written", 10, []string{"out/report.json", "out/report.md"},
			"… 95 more changes (71 create, 24 revoke) and 1 more unmanaged not shown here: see out/report.md", 5},
		{"cut, only html", 21, []string{"out/report.html"},
			"… 90 more changes (67 create, 23 revoke) and 1 more unmanaged not shown here: see out/report.html", 10},
		{"cut, no report", 1, nil,
			"… 100 more changes (75 create, 25 revoke) and 1 more unmanaged not shown here: run plan with --format md (or html) and read report.md", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := planText(t, res, TextOptions{MaxLines: tt.maxLines, Paths: tt.paths})
			listed := strings.Count(out, "@example.com\n")
			if listed != tt.listed {
				t.Errorf("%d changes listed, want %d:\n%s", listed, tt.listed, out)
			}
			if tt.want == "" {
				if strings.Contains(out, "not shown") || !strings.Contains(out, "? z@example.org") {
					t.Errorf("cut without a limit:\n%s", out)
				}
				return
			}
			if !strings.Contains(out, tt.want+"\n") {
				t.Errorf("cut note missing, want %q:\n%s", tt.want, out)
			}
		})
	}
}

var sgrRE = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// TestWritePlanTextHostile: no control character or escape sequence from the
// upstream reaches the terminal; with colour, the only escapes are ours.
func TestWritePlanTextHostile(t *testing.T) {
	res := sampleResult()
	res.Plan.Organization = "org\x1b]0;pwned\x07"
	res.Plan.RosterFile = "r\x1b[2J.csv"
	for i, h := range hostileStrings {
		res.Actions = append(res.Actions,
			reconcile.Action{Op: reconcile.OpCreate, Email: fmt.Sprintf("%s%d@example.com", h, i), Reason: h, Error: h, InvitationID: h, Status: reconcile.StatusFailed,
				Member: &sources.Member{AuthType: h, OrgRoles: []string{h}, Groups: []string{h}}},
			reconcile.Action{Op: reconcile.OpReinvite, Email: fmt.Sprintf("r%d@example.com", i), Reason: "auth type differs: " + h, Status: reconcile.StatusDone},
			reconcile.Action{Op: reconcile.OpLeave, Unmanaged: true, Email: h, InvitationID: h, Status: reconcile.StatusPlanned})
	}
	for _, color := range []bool{false, true} {
		out := planText(t, res, TextOptions{Color: color, Paths: []string{"dir/report\x1b[2J.md"}})
		if color {
			out = sgrRE.ReplaceAllString(out, "")
		}
		for i, r := range out {
			if (r < 0x20 && r != '\n') || r == 0x7f || unsafeRune(r) {
				t.Fatalf("color=%v: %U at byte %d reaches the terminal: %q", color, r, i, out[max(0, i-40):min(len(out), i+40)])
			}
		}
		if !strings.Contains(out, `\x1b[2J\x1b[H`) || !strings.Contains(out, `rtl\u202eexe.txt`) {
			t.Errorf("hostile text not shown escaped:\n%s", out)
		}
	}
}

// TestColorEnabled: colour only on a terminal, never with NO_COLOR set or
// TERM=dumb.
func TestColorEnabled(t *testing.T) {
	_, pts := openPTY(t)
	defer pts.Close()
	file, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	tests := []struct {
		name, noColor, term string
		f                   *os.File
		want                bool
	}{
		{"terminal", "", "xterm-256color", pts, true},
		{"terminal, NO_COLOR", "1", "xterm-256color", pts, false},
		{"terminal, TERM=dumb", "", "dumb", pts, false},
		{"file", "", "xterm-256color", file, false},
		{"nil", "", "xterm", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NO_COLOR", tt.noColor)
			t.Setenv("TERM", tt.term)
			if got := ColorEnabled(tt.f); got != tt.want {
				t.Errorf("ColorEnabled = %v, want %v", got, tt.want)
			}
		})
	}
	if w := TerminalWidth(file); w != 0 {
		t.Errorf("TerminalWidth(file) = %d, want 0", w)
	}
}

// TestWritePlanTextSends: a plan naming the attributes its provider sets
// shows only those under a create.
func TestWritePlanTextSends(t *testing.T) {
	res := sampleResult()
	res.Mode = "plan"
	res.Actions = []reconcile.Action{{Op: reconcile.OpCreate, Email: "eve@example.com", Status: reconcile.StatusPlanned,
		Member: &sources.Member{Email: "eve@example.com", AuthType: sources.AuthSSO, OrgRoles: []string{"org_member"}, Groups: []string{"g-1"}}}}
	res.Plan.Sends = []string{"auth_type"}
	out := planText(t, res, TextOptions{})
	if !strings.Contains(out, `auth_type       = "AUTH_TYPE_SSO"`) || strings.Contains(out, "org_roles") || strings.Contains(out, "groups") {
		t.Errorf("want only auth_type under the create:\n%s", out)
	}
	res.Plan.Sends = nil
	if out := planText(t, res, TextOptions{}); !strings.Contains(out, "org_roles") || !strings.Contains(out, "groups") {
		t.Errorf("a plan that does not say what is sent shows every attribute:\n%s", out)
	}
}
