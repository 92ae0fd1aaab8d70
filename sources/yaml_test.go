package sources

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestYAML(t *testing.T) {
	link := "/csp/gateway/slc/api/definitions/external/x"
	tests := []struct {
		name    string
		data    string
		opts    ReadOptions
		want    []string // problems (brief)
		members []Member
		rows    []int
	}{
		{
			name: "block style: rows are the items' lines",
			data: `# the team
members:
  - email: ada@example.com
    auth_type: auth_type_sso
    groups: [g-eng, g-ops]

  - email: bob@example.com   # bob
    org_roles:
      - org_member
    service_roles:
      - ` + link + `=vmc-user:full
      - {service_definition_link: ` + link + `, role: viewer}
    expires_in_days: 14
`,
			members: []Member{
				{Email: "ada@example.com", AuthType: AuthSSO, Groups: []string{"g-eng", "g-ops"}},
				{Email: "bob@example.com", OrgRoles: []string{"org_member"}, ExpiresInDays: 14,
					ServiceRoles: []ServiceRole{{Link: link, Role: "vmc-user:full"}, {Link: link, Role: "viewer"}}},
			},
			rows: []int{3, 7},
		},
		{
			name: "a list may be written as one ;-separated string",
			data: "members:\n  - {email: ada@example.com, groups: \"g-eng; g-ops\"}\n",
			members: []Member{
				{Email: "ada@example.com", Groups: []string{"g-eng", "g-ops"}},
			},
		},
		{
			name: "anchors, aliases and merge keys",
			data: `defaults: &d
members:
  - &ada {email: ada@example.com, groups: &g [g-eng]}
  - <<: {auth_type: AUTH_TYPE_SSO, groups: [g-x]}
    email: bob@example.com
    groups: *g
`,
			want: []string{`1:defaults: unknown top-level key "defaults": a roster has one top-level key, members:`},
		},
		{
			name: "aliases and merge keys inside members",
			data: `members:
  - &ada {email: ada@example.com, groups: &g [g-eng]}
  - <<: {auth_type: AUTH_TYPE_SSO, groups: [g-x]}
    email: bob@example.com
    groups: *g
  - *ada
`,
			want: []string{`6:email: duplicate email "ada@example.com": duplicate of row 2`},
		},
		{
			name: "merge keys: the item's own keys win",
			data: `members:
  - <<: [{auth_type: AUTH_TYPE_SSO, groups: [g-x]}, {auth_type: AUTH_TYPE_LOCAL, expires_in_days: 7}]
    email: bob@example.com
    groups: [g-eng]
`,
			members: []Member{{Email: "bob@example.com", AuthType: AuthSSO, Groups: []string{"g-eng"}, ExpiresInDays: 7}},
		},
		{
			name: "misspelt members",
			data: "member:\n  - email: ada@example.com\n",
			want: []string{`1:member: unknown top-level key "member": a roster has one top-level key, members:`},
		},
		{
			name: "a bare list",
			data: "- email: ada@example.com\n",
			want: []string{`1:: a YAML roster is a mapping with a members: list (members:\n  - email: ...)`},
		},
		{
			name: "members not a list",
			data: "members: ada@example.com\n",
			want: []string{"1:: members: must be a list of members (- email: ...)"},
		},
		{
			name: "item not a mapping, blank items skipped",
			data: "members:\n  - ada@example.com\n  -\n  - {}\n  - [x]\n",
			want: []string{
				"2:: a member must be a mapping like {email: name@example.com}, not a value",
				"5:: a member must be a mapping like {email: name@example.com}, not a list",
			},
		},
		{
			name: "wrong value shapes",
			data: `members:
  - email: [ada@example.com]
    auth_type: [AUTH_TYPE_SSO]
    groups: {a: b}
    org_roles: [[x]]
    service_roles: [{link: x}]
    expires_in_days: [7]
`,
			want: []string{
				"2:email: email must be a single address, not a list",
				"2:auth_type: auth_type must be a single value, not a list",
				"2:groups: groups must be text or a list, not a mapping",
				"2:org_roles: org_roles items must be text, not a list",
				`2:service_roles: unknown key "link" in a service role; use service_definition_link and role`,
				"2:expires_in_days: expires_in_days must be a single number, not a list",
			},
		},
		{
			name: "duplicate key in an item, keys ignore case",
			data: "members:\n  - email: ada@example.com\n    Email: bob@example.com\n",
			want: []string{`2:email: duplicate key "Email" in this member (also line 2)`},
		},
		{
			// yaml.v3 names the line where the enclosing construct began,
			// sometimes 0-based: each of these says line 1 or 2 on its own.
			name: "syntax error has its line: unclosed flow list",
			data: "members:\n  - email: ada@example.com\n  - email: [unclosed\n",
			want: []string{"3:: not valid YAML: did not find expected ',' or ']'"},
		},
		{
			name: "syntax error has its line: tab indent",
			data: "members:\n  - email: ada@example.com\n\t- email: bob@example.com\n",
			want: []string{"3:: not valid YAML: found a tab character that violates indentation"},
		},
		{
			name: "syntax error has its line: misindented key",
			data: "members:\n  - email: ada@example.com\n   auth_type: X\n",
			want: []string{"3:: not valid YAML: did not find expected '-' indicator"},
		},
		{
			name: "syntax error has its line: a valid multi-line list before it",
			data: "members:\n  - email: ada@example.com\n    groups: [g1,\n      g2]\n  - email: bob@example.com\n bad\n",
			want: []string{"6:: not valid YAML: did not find expected key"},
		},
		{
			name: "two documents",
			data: "members:\n  - email: ada@example.com\n---\nmembers: []\n",
			want: []string{"0:: more than one YAML document (---): put every member under one members: list"},
		},
		{
			name: "null members is empty",
			data: "members:\n",
			want: []string{"0:: the roster has no members; an empty roster under --policy sync would revoke every invitation: " + hintAllowEmpty},
		},
		{
			name: "empty file allowed",
			data: "",
			opts: ReadOptions{AllowEmpty: true},
		},
		{
			name:    "BOM",
			data:    "\ufeffmembers:\n  - email: ada@example.com\n",
			members: []Member{{Email: "ada@example.com"}},
		},
		{
			name: "zip named .yaml",
			data: zipMagic + "xx",
			want: []string{"0:: not a YAML file: it is a zip archive (an XLSX workbook?); name it .xlsx or pass --format xlsx"},
		},
		{
			name: "binary named .yaml",
			data: "members:\x00",
			want: []string{"0:: not a YAML file: it holds binary data (NUL bytes)"},
		},
		{
			name: "deep nesting",
			data: "members:\n  - email: a@example.com\n    groups: " + strings.Repeat("[", 80) + strings.Repeat("]", 80) + "\n",
			want: []string{"2:: a member nests deeper than 64 levels: refusing it"},
		},
		{
			name: "alias bomb",
			data: aliasBomb(9),
			want: []string{fmt.Sprintf("0:: the YAML expands to more than %d nodes through its aliases (an alias bomb?): refusing it", MaxYAMLNodes)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "roster.yaml")
			if err := os.WriteFile(path, []byte(tc.data), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ReadFile(path, tc.opts)
			checkProblems(t, path, err)
			if b := brief(t, err); !slices.Equal(b, tc.want) {
				t.Fatalf("problems:\n got %q\nwant %q", b, tc.want)
			}
			if tc.want == nil && !reflect.DeepEqual(stripOrigin(got), nonNil(tc.members)) {
				t.Errorf("members:\n got %+v\nwant %+v", stripOrigin(got), tc.members)
			}
			for i, row := range tc.rows {
				if got[i].Origin.Row != row {
					t.Errorf("member %d row %d, want %d", i, got[i].Origin.Row, row)
				}
			}
		})
	}
}

// aliasBomb is a "billion laughs" roster: each level lists the previous
// one ten times, so level n stands for 10^n nodes in a file of a few KB.
func aliasBomb(levels int) string {
	var b strings.Builder
	b.WriteString("members:\n  - email: a@example.com\n    groups: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "  - {org_roles: &l%d [", i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*l%d", i-1)
		}
		b.WriteString("]}\n")
	}
	return b.String()
}

func TestYAMLSizeCap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.yaml")
	data := "members:\n  - email: a@example.com\n" + strings.Repeat("# padding padding padding\n", MaxYAMLBytes/26+1)
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(path, ReadOptions{})
	want := []string{"0:: file is 16.0 MiB, over the 16 MiB limit for a YAML roster"}
	if b := brief(t, err); !slices.Equal(b, want) {
		t.Fatalf("got %q, want %q", b, want)
	}
}
