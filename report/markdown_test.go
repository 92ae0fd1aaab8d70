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
)

// codeSpanRE matches a code span opened by an unescaped backtick (group 1).
var codeSpanRE = regexp.MustCompile("(?:^|[^\\\\])(`[^`\n]*`)")

// cells splits a Markdown table row on its unescaped pipes.
func cells(row string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(row); i++ {
		switch c := row[i]; {
		case c == '\\' && i+1 < len(row):
			cur.WriteByte(c)
			cur.WriteByte(row[i+1])
			i++
		case c == '|':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(out, cur.String())
}

func markdownOf(t *testing.T, res *reconcile.Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := writeMarkdown(&b, NewDocument(res)); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestMarkdown(t *testing.T) {
	md := markdownOf(t, sampleResult())
	for _, want := range []string{
		"## invitesync apply: confluent `org-demo`",
		"| create | reinvite | revoke | leave | unmanaged | failed | unsupported |",
		"| 3 | 1 | 2 | 1 | 1 | 1 | 1 |",
		"### Failed (1)",
		"| create | `fay@example.com` | create\\: 500 Internal Server Error | 6 | `req-fay` |",
		"### Create (3)", // the summary's count: fay's failure is listed here and under Failed
		"| `fay@example.com` | not invited | failed |  |",
		"### Reinvite (1)",
		"| `bob@example.com` | auth type differs\\: AUTH\\_TYPE\\_LOCAL -&gt; AUTH\\_TYPE\\_SSO | done | `i-bob2` |",
		"### Revoke (2)",
		"| `gone@example.com` | the Azure access API has no revoke | unsupported | `i-gone` |",
		"### Unmanaged (pending, not ours, left alone) (1)",
		"`partner@example.org`",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "ada@example.com") {
		t.Error("a plain leave is listed; only its count belongs in report.md")
	}
}

func TestMarkdownNothingToChange(t *testing.T) {
	res := sampleResult()
	res.Mode = "plan"
	res.Actions = []reconcile.Action{{Op: reconcile.OpLeave, Email: "ada@example.com", Status: reconcile.StatusPlanned}}
	md := markdownOf(t, res)
	if !strings.Contains(md, "## invitesync plan:") || !strings.Contains(md, "Nothing to change.") {
		t.Errorf("report.md:\n%s", md)
	}
}

func TestMarkdownEscapes(t *testing.T) {
	res := sampleResult()
	hostile := []string{
		"<script>alert(1)</script>",
		"</details><img src=x onerror=alert(1)>",
		"a|b|c",
		"**bold** _it_ [link](https://evil.example) ![img](x)",
		"`code` \\| pipe",
		"line\nbreak\r\n# heading",
		"<!-- comment -->",
		"&lt;already&gt;",
	}
	res.Actions = nil
	for i, h := range hostile {
		res.Actions = append(res.Actions, reconcile.Action{
			Op: reconcile.OpCreate, Email: fmt.Sprintf("%s%d@example.com", h, i), Reason: h,
			InvitationID: h, Status: reconcile.StatusDone,
		}, reconcile.Action{
			Op: reconcile.OpRevoke, Email: h, Error: h, RequestID: h, Status: reconcile.StatusFailed,
		})
	}
	md := markdownOf(t, res)
	// Code spans are literal in Markdown (no HTML, emphasis or link forms in
	// them); everything outside them must be escaped.
	prose := codeSpanRE.ReplaceAllString(md, "CODE")
	spans := codeSpanRE.FindAllStringSubmatch(md, -1)
	if len(spans) == 0 {
		t.Fatal("no code span found: the test's pattern is off")
	}
	for _, bad := range []string{"<script", "<img", "</details><", "<!--", "**bold**", "](https", "&lt;already"} {
		if strings.Contains(prose, bad) {
			t.Errorf("report.md holds %q unescaped", bad)
		}
	}
	for _, m := range spans {
		span := m[1]
		if strings.ContainsAny(span[1:len(span)-1], "`|\\\n") {
			t.Errorf("code span %q holds a backtick, pipe, backslash or newline", span)
		}
	}
	// Every table row keeps its column count: no value split a cell or a line.
	inTable, width := false, 0
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			inTable = false
			continue
		}
		n := len(cells(line))
		if !inTable {
			inTable, width = true, n
			continue
		}
		if n != width {
			t.Errorf("row has %d cells, header %d: %q", n, width, line)
		}
	}
}

func TestMarkdownFolds(t *testing.T) {
	tests := []struct {
		n         int
		wantFold  string
		wantCount string // the line counting what did not fit, "" when all fit
	}{
		{50, "", ""},
		{51, "<details><summary>1 more</summary>", ""},
		{120, "<details><summary>70 more</summary>", ""},
		{10_000, "<details><summary>9950 more</summary>", "more: see report.json or report.html."},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			res := sampleResult()
			res.Actions = nil
			for i := range tt.n {
				res.Actions = append(res.Actions, reconcile.Action{
					Op: reconcile.OpCreate, Email: fmt.Sprintf("person%05d@example.com", i), Reason: "not invited", Status: reconcile.StatusPlanned,
				})
			}
			md := markdownOf(t, res)
			rows := strings.Count(md, "| `person")
			before, _, folded := strings.Cut(md, "<details>")
			if got := strings.Count(before, "| `person"); got != min(tt.n, mdVisibleRows) {
				t.Errorf("%d rows before the fold, want %d", got, min(tt.n, mdVisibleRows))
			}
			if folded != (tt.wantFold != "") || !strings.Contains(md, tt.wantFold) {
				t.Errorf("fold: want %q", tt.wantFold)
			}
			if tt.wantCount == "" {
				if rows != tt.n {
					t.Errorf("%d rows, want all %d", rows, tt.n)
				}
			} else {
				if !strings.Contains(md, tt.wantCount) {
					t.Errorf("no count of the rows left out")
				}
				if len(md) > 65_536 {
					t.Errorf("report.md is %d bytes: too long for a PR comment", len(md))
				}
				var left int
				i := strings.LastIndex(md, "…and ")
				fmt.Sscanf(md[i:], "…and %d more", &left)
				if rows+left != tt.n {
					t.Errorf("%d rows shown + %d counted != %d", rows, left, tt.n)
				}
			}
		})
	}
}

func TestMarkdownStepSummary(t *testing.T) {
	summary := filepath.Join(t.TempDir(), "step_summary.md")
	if err := os.WriteFile(summary, []byte("earlier step\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GITHUB_STEP_SUMMARY", summary)
	dir := t.TempDir()
	if _, err := Write(dir, []string{"md"}, sampleResult()); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "earlier step\n"+string(md) {
		t.Errorf("step summary = %q\nwant the earlier content then report.md", got)
	}

	// Without md, the step summary is left alone.
	if _, err := Write(dir, []string{"json"}, sampleResult()); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(summary); !bytes.Equal(again, got) {
		t.Error("json-only report touched the step summary")
	}

	// An unwritable step summary is an error that names it.
	t.Setenv("GITHUB_STEP_SUMMARY", filepath.Join(t.TempDir(), "no", "such", "dir", "f.md"))
	if _, err := Write(dir, []string{"md"}, sampleResult()); err == nil || !strings.Contains(err.Error(), "GITHUB_STEP_SUMMARY") {
		t.Errorf("err = %v", err)
	}
}

func TestMarkdownAccessAndControls(t *testing.T) {
	res := accessResult()
	for _, h := range hostileStrings {
		res.Actions = append(res.Actions, reconcile.Action{Op: reconcile.OpRevoke, Email: h, Reason: h, Error: h, RequestID: h, InvitationID: h, Status: reconcile.StatusFailed})
	}
	md := markdownOf(t, res)
	for _, want := range []string{
		"| create | reinvite | revoke | grant | ungrant | remove member | leave | unmanaged | failed | unknown | unsupported |",
		"### Grant (1)",
		"| `eve@example.com` | `EnvironmentAdmin@env-abc123` | adds EnvironmentAdmin on env-abc123 | planned |",
		"### Ungrant (1)",
		"### Remove member (1)",
		"| `left@example.com` | user u-left; 2 API keys\\: AKIDLEFT1, AKIDLEFT2; 3 role bindings |",
		"### Outcome unknown",
		"| create | `unk@example.com` | outcome unknown",
		`\\x1b\[2J\\x1b\[H`, // shown escaped, never raw
		`rtl\\u202eexe.txt`,
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	for _, r := range md {
		if (r < 0x20 && r != '\n') || r == 0x7f || unsafeRune(r) {
			t.Errorf("report.md holds %U raw", r)
		}
	}
}
