package sources

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

var header = grid{{"email", "auth_type", "org_roles", "service_roles", "groups", "expires_in_days"}}

// rows appends data rows to the full header.
func rows(rs ...[]string) grid { return append(slices.Clone(header), rs...) }

func groupsCell(n int) string {
	gs := make([]string, n)
	for i := range gs {
		gs[i] = fmt.Sprintf("g-%d", i)
	}
	return strings.Join(gs, ";")
}

const allColumnsMsg = "email, auth_type, org_roles, service_roles, groups, expires_in_days, roles"

// TestRules runs every validation rule through every format.
func TestRules(t *testing.T) {
	link := "/csp/gateway/slc/api/definitions/external/ybUdoTC05kYFC9ZG560kpsn0I8M_"
	tests := []struct {
		name     string
		grid     grid
		opts     ReadOptions
		want     []string            // problems, as brief() renders them
		wantBy   map[string][]string // per-format override of want
		members  []Member            // when valid (Origin ignored)
		nMembers int                 // when valid and members is nil
	}{
		{
			name: "valid, normalised",
			grid: rows(
				[]string{" Ada@Example.com ", "auth_type_sso", " org_member ; ;org_member", link + "=vmc-user:full ; " + link + " = vmc-user:full", "g-eng;;g-ops ;g-eng", " 30 "},
				[]string{"bob@example.com", "", "", "", "", ""},
			),
			members: []Member{
				{Email: "Ada@Example.com", AuthType: AuthSSO, OrgRoles: []string{"org_member"},
					ServiceRoles: []ServiceRole{{Link: link, Role: "vmc-user:full"}}, Groups: []string{"g-eng", "g-ops"}, ExpiresInDays: 30},
				{Email: "bob@example.com"},
			},
		},
		{
			name:     "header ignores case and spaces; only email is needed",
			grid:     grid{{" EMAIL ", "Groups"}, {"a@example.com", "g"}},
			members:  []Member{{Email: "a@example.com", Groups: []string{"g"}}},
			nMembers: 1,
		},
		{
			name: "missing email column",
			grid: grid{{"auth_type"}, {"AUTH_TYPE_SSO"}},
			want: []string{`1:: missing required column "email"`},
			wantBy: map[string][]string{
				formatYAML: {"2:email: email is required"},
			},
		},
		{
			name: "unknown column",
			grid: grid{{"email", "Nmae"}, {"a@example.com", "Ada"}},
			want: []string{`1:Nmae: unknown column "Nmae"; the columns are ` + allColumnsMsg + " (or pass --allow-extra-columns)"},
			wantBy: map[string][]string{
				formatYAML: {`2:Nmae: unknown key "Nmae"; the keys are ` + allColumnsMsg + " (or pass --allow-extra-columns)"},
			},
		},
		{
			name:     "unknown column allowed",
			grid:     grid{{"email", "name"}, {"a@example.com", "Ada"}},
			opts:     ReadOptions{AllowExtraColumns: true},
			nMembers: 1,
		},
		{
			name: "a row with only an extra column is not blank",
			grid: grid{{"email", "name"}, {"a@example.com", "Ada"}, {"", "Bob"}},
			opts: ReadOptions{AllowExtraColumns: true},
			want: []string{"3:email: email is required"},
		},
		{
			name: "email required",
			grid: rows([]string{"", "AUTH_TYPE_SSO", "", "", "", ""}),
			want: []string{"2:email: email is required"},
		},
		{
			name: "invalid emails",
			grid: rows(
				[]string{"not-an-email", "", "", "", "", ""},
				[]string{"Bob <bob@example.com>", "", "", "", "", ""},
				[]string{"<bob@example.com>", "", "", "", "", ""},
				[]string{"bob@example.com (Bob)", "", "", "", "", ""},
				[]string{`=HYPERLINK("http://x","bob@example.com")`, "", "", "", "", ""},
				[]string{"=bob@example.com", "", "", "", "", ""},
				[]string{"bob@localhost", "", "", "", "", ""},
				[]string{"a b@example.com", "", "", "", "", ""},
				[]string{"a@example.com, b@example.com", "", "", "", "", ""},
				[]string{`"a b"@example.com`, "", "", "", "", ""},
				[]string{strings.Repeat("a", 250) + "@example.com", "", "", "", "", ""},
			),
			want: []string{
				`2:email: email "not-an-email" is not a valid address`,
				`3:email: email "Bob <bob@example.com>" must be a bare address like name@example.com (no display name, brackets or comments)`,
				`4:email: email "<bob@example.com>" must be a bare address like name@example.com (no display name, brackets or comments)`,
				`5:email: email "bob@example.com (Bob)" must be a bare address like name@example.com (no display name, brackets or comments)`,
				`6:email: email "=HYPERLINK(\"http://x\",\"bob@example.com\")" is not a valid address (it starts with "=")`,
				`7:email: email "=bob@example.com" is not a valid address (it starts with "=")`,
				`8:email: email "bob@localhost" is not a valid address (the domain "localhost" is not a public domain name)`,
				`9:email: email "a b@example.com" is not a valid address`,
				`10:email: email "a@example.com, b@example.com" is not a valid address`,
				`11:email: email "\"a b\"@example.com" must be a bare address like name@example.com (no display name, brackets or comments)`,
				`12:email: email is 262 bytes long; at most 254 allowed`,
			},
		},
		{
			name: "look-alike and invisible characters",
			grid: rows(
				[]string{"\u0430da@example.com", "", "", "", "", ""}, // Cyrillic a
				[]string{"ada@examp\u04cf\u0435.com", "", "", "", "", ""},
				[]string{"ada\u200b@example.com", "", "", "", "", ""}, // zero-width space
			),
			want: []string{
				`2:email: email "\u0430da@example.com" holds the non-ASCII character '\u0430' (U+0430) at byte 1: type the address in plain ASCII (an international domain in its xn-- form)`,
				`3:email: email "ada@examp\u04cf\u0435.com" holds the non-ASCII character '\u04cf' (U+04CF) at byte 10: type the address in plain ASCII (an international domain in its xn-- form)`,
				`4:email: email "ada\u200b@example.com" holds the non-ASCII character '\u200b' (U+200B) at byte 4: type the address in plain ASCII (an international domain in its xn-- form)`,
			},
		},
		{
			name: "duplicate email, case-insensitive, names both rows",
			grid: rows(
				[]string{"Ada@example.com", "", "", "", "", ""},
				[]string{"bob@example.com", "", "", "", "", ""},
				[]string{"ada@EXAMPLE.com", "", "", "", "", ""},
				[]string{"ADA@example.com", "", "", "", "", ""},
			),
			want: []string{
				`4:email: duplicate email "ada@EXAMPLE.com": duplicate of row 2`,
				`5:email: duplicate email "ADA@example.com": duplicate of row 2`,
			},
		},
		{
			name: "auth type",
			grid: rows(
				[]string{"a@example.com", "Auth_Type_Local", "", "", "", ""},
				[]string{"b@example.com", "SAML", "", "", "", ""},
				[]string{"c@example.com", "sso", "", "", "", ""},
				[]string{"d@example.com", strings.Repeat("x", 5000), "", "", "", ""},
			),
			want: []string{
				`3:auth_type: auth_type "SAML" is not allowed; use AUTH_TYPE_LOCAL, AUTH_TYPE_SSO or leave it empty for the upstream default`,
				`4:auth_type: auth_type "sso" is not allowed; use AUTH_TYPE_LOCAL, AUTH_TYPE_SSO or leave it empty for the upstream default`,
				`5:auth_type: auth_type "` + strings.Repeat("x", 61) + `..." is not allowed; use AUTH_TYPE_LOCAL, AUTH_TYPE_SSO or leave it empty for the upstream default`,
			},
		},
		{
			name: "groups: 15 allowed, 16 not, duplicates do not count",
			grid: rows(
				[]string{"a@example.com", "", "", "", groupsCell(15), ""},
				[]string{"b@example.com", "", "", "", groupsCell(16), ""},
				[]string{"c@example.com", "", "", "", groupsCell(15) + ";g-1;g-2", ""},
				[]string{"d@example.com", "", "", "", groupsCell(17), ""},
			),
			want: []string{
				"3:groups: 16 groups; at most 15 allowed",
				"5:groups: 17 groups; at most 15 allowed",
			},
		},
		{
			name: "expires_in_days",
			grid: rows(
				[]string{"a@example.com", "", "", "", "", "1"},
				[]string{"b@example.com", "", "", "", "", "90"},
				[]string{"c@example.com", "", "", "", "", "0"},
				[]string{"d@example.com", "", "", "", "", "91"},
				[]string{"e@example.com", "", "", "", "", "abc"},
				[]string{"f@example.com", "", "", "", "", "7.5"},
				[]string{"g@example.com", "", "", "", "", "-3"},
			),
			want: []string{
				"4:expires_in_days: expires_in_days 0 is out of range; it must be 1..90",
				"5:expires_in_days: expires_in_days 91 is out of range; it must be 1..90",
				`6:expires_in_days: expires_in_days "abc" is not a whole number of days (1..90)`,
				`7:expires_in_days: expires_in_days "7.5" is not a whole number of days (1..90)`,
				"8:expires_in_days: expires_in_days -3 is out of range; it must be 1..90",
			},
		},
		{
			name: "service roles are LINK=ROLE",
			grid: rows(
				[]string{"a@example.com", "", "", "/link=role:x;/link2=r=1", "", ""},
				[]string{"b@example.com", "", "", "/link", "", ""},
				[]string{"c@example.com", "", "", "=role", "", ""},
				[]string{"d@example.com", "", "", "/link=", "", ""},
			),
			want: []string{
				`3:service_roles: service role "/link" must be SERVICE_DEFINITION_LINK=ROLE`,
				`4:service_roles: service role "=role" must be SERVICE_DEFINITION_LINK=ROLE`,
				`5:service_roles: service role "/link=" must be SERVICE_DEFINITION_LINK=ROLE`,
			},
		},
		{
			name: "empty roster refused",
			grid: rows(),
			want: []string{"0:: the roster has no members; an empty roster under --policy sync would revoke every invitation: " + hintAllowEmpty},
		},
		{
			name: "only blank rows is empty",
			grid: rows([]string{"", "", "", "", "", ""}, []string{" ", "", "", "", "", ""}),
			want: []string{"0:: the roster has no members; an empty roster under --policy sync would revoke every invitation: " + hintAllowEmpty},
		},
		{
			name:     "empty roster allowed",
			grid:     rows(),
			opts:     ReadOptions{AllowEmpty: true},
			nMembers: 0,
		},
		{
			name: "blank rows are skipped and keep row numbers",
			grid: rows(
				[]string{"a@example.com", "", "", "", "", ""},
				[]string{"", "", "", "", "", ""},
				[]string{"bad", "", "", "", "", ""},
			),
			want: []string{`4:email: email "bad" is not a valid address`},
		},
		{
			name: "all problems, sorted by row then column",
			grid: rows(
				[]string{"x", "bad", "", "", groupsCell(16), "0"},
				[]string{"a@example.com", "", "", "", "", "99"},
			),
			want: []string{
				`2:email: email "x" is not a valid address`,
				`2:auth_type: auth_type "bad" is not allowed; use AUTH_TYPE_LOCAL, AUTH_TYPE_SSO or leave it empty for the upstream default`,
				"2:groups: 16 groups; at most 15 allowed",
				"2:expires_in_days: expires_in_days 0 is out of range; it must be 1..90",
				"3:expires_in_days: expires_in_days 99 is out of range; it must be 1..90",
			},
		},
		{
			name: "acceptance: 16 groups on row 4, 91 days on row 6",
			grid: rows(
				[]string{"a@example.com", "", "", "", "", ""},
				[]string{"b@example.com", "", "", "", "", ""},
				[]string{"c@example.com", "", "", "", groupsCell(16), ""},
				[]string{"d@example.com", "", "", "", "", ""},
				[]string{"e@example.com", "", "", "", "", "91"},
			),
			want: []string{
				"4:groups: 16 groups; at most 15 allowed",
				"6:expires_in_days: expires_in_days 91 is out of range; it must be 1..90",
			},
		},
	}
	for _, tc := range tests {
		for _, format := range formats {
			t.Run(tc.name+"/"+format, func(t *testing.T) {
				path := writeGrid(t, t.TempDir(), format, tc.grid)
				got, err := ReadFile(path, tc.opts)
				checkProblems(t, path, err)
				want := tc.want
				if w, ok := tc.wantBy[format]; ok {
					want = w
				}
				if b := brief(t, err); !slices.Equal(b, want) {
					t.Fatalf("problems:\n got %q\nwant %q", b, want)
				}
				if err != nil {
					if got != nil {
						t.Errorf("members returned with problems: %v", got)
					}
					return
				}
				if tc.members != nil && !reflect.DeepEqual(stripOrigin(got), tc.members) {
					t.Errorf("members:\n got %+v\nwant %+v", stripOrigin(got), tc.members)
				}
				if tc.members == nil && len(got) != tc.nMembers {
					t.Errorf("got %d members, want %d", len(got), tc.nMembers)
				}
				for i, m := range got {
					if m.Origin.File != path || m.Origin.Row < 2 || (i > 0 && m.Origin.Row <= got[i-1].Origin.Row) {
						t.Errorf("member %d origin %+v", i, m.Origin)
					}
					if (format == formatXLSX) != (m.Origin.Sheet != "") {
						t.Errorf("member %d sheet %q in %s", i, m.Origin.Sheet, format)
					}
				}
			})
		}
	}
}

// TestHeaderRules covers the header-only rules of CSV and XLSX.
func TestHeaderRules(t *testing.T) {
	tests := []struct {
		name string
		grid grid
		opts ReadOptions
		want []string
	}{
		{
			name: "duplicate column",
			grid: grid{{"email", "groups", "Email "}, {"a@example.com", "g", "b@example.com"}},
			want: []string{`1:Email: duplicate column "email" (also column 1)`},
		},
		{
			name: "value under no header",
			grid: grid{{"email", "", "groups"}, {"a@example.com", "x", "g"}, {"b@example.com", "", "", "stray"}},
			want: []string{"2:: value in column 2, which has no header", "3:: value in column 4, which has no header"},
		},
		{
			name: "value under no header allowed with extra columns",
			grid: grid{{"email", ""}, {"a@example.com", "x"}},
			opts: ReadOptions{AllowExtraColumns: true},
		},
	}
	for _, tc := range tests {
		for _, format := range []string{formatCSV, formatXLSX} {
			t.Run(tc.name+"/"+format, func(t *testing.T) {
				path := writeGrid(t, t.TempDir(), format, tc.grid)
				_, err := ReadFile(path, tc.opts)
				checkProblems(t, path, err)
				if b := brief(t, err); !slices.Equal(b, tc.want) {
					t.Fatalf("problems:\n got %q\nwant %q", b, tc.want)
				}
			})
		}
	}
}

// TestProblemCap lists the first MaxProblems and counts the rest.
func TestProblemCap(t *testing.T) {
	g := slices.Clone(header)
	for i := range 1500 {
		g = append(g, []string{fmt.Sprintf("bad-%d", i), "", "", "", "", ""})
	}
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			path := writeGrid(t, t.TempDir(), format, g)
			_, err := ReadFile(path, ReadOptions{})
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("want Problems, got %v", err)
			}
			if len(ps) != MaxProblems+1 || ps.Count() != 1500 {
				t.Fatalf("len %d, Count %d; want %d and 1500", len(ps), ps.Count(), MaxProblems+1)
			}
			if last := ps[len(ps)-1]; last.String() != path+": ... and 500 more problems" {
				t.Errorf("last problem %q", last.String())
			}
			if ps[0].Row != 2 || ps[MaxProblems-1].Row != MaxProblems+1 {
				t.Errorf("kept rows %d..%d, want the first ones", ps[0].Row, ps[MaxProblems-1].Row)
			}
		})
	}
}

// TestColumns keeps the column constants in step with the shared Columns.
func TestColumns(t *testing.T) {
	want := map[int]string{colEmail: "email", colAuthType: "auth_type", colOrgRoles: "org_roles",
		colServiceRoles: "service_roles", colGroups: "groups", colExpires: "expires_in_days", colRoles: "roles"}
	if len(Columns) != numColumns || len(want) != numColumns {
		t.Fatalf("%d Columns, %d constants", len(Columns), numColumns)
	}
	for c, name := range want {
		if Columns[c] != name || columnIndex(" "+strings.ToUpper(name)+" ") != c {
			t.Errorf("column %d is %q, want %q", c, Columns[c], name)
		}
	}
}

func TestClip(t *testing.T) {
	tests := []struct{ in, want string }{
		{"short", "short"},
		{strings.Repeat("a", 64), strings.Repeat("a", 64)},
		{strings.Repeat("a", 65), strings.Repeat("a", 61) + "..."},
		{strings.Repeat("a", 60) + "ééé", strings.Repeat("a", 60) + "..."}, // never cuts a rune
	}
	for _, tc := range tests {
		if got := clip(tc.in); got != tc.want {
			t.Errorf("clip(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Ada@Example.COM", "ada@example.com"},
		{"  bob@example.com\t", "bob@example.com"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := Key(tc.in); got != tc.want {
			t.Errorf("Key(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestProblemsCount(t *testing.T) {
	tests := []struct {
		ps   Problems
		want int
	}{
		{nil, 0},
		{Problems{{File: "f", Row: 2, Message: "x"}}, 1},
		{Problems{{File: "f", Row: 2, Message: "x"}, {File: "f", Message: fmt.Sprintf(moreFormat, 7)}}, 8},
		{Problems{{File: "f", Row: 3, Message: "... and 7 more problems"}}, 1}, // on a row: a real message
	}
	for i, tc := range tests {
		if got := tc.ps.Count(); got != tc.want {
			t.Errorf("%d: Count = %d, want %d", i, got, tc.want)
		}
	}
}

func TestFormatOf(t *testing.T) {
	tests := []struct {
		path, format, want string
		wantErr            bool
	}{
		{"r.csv", "", formatCSV, false},
		{"r.CSV", "", formatCSV, false},
		{"r.xlsx", "", formatXLSX, false},
		{"r.yml", "", formatYAML, false},
		{"r.yaml", "", formatYAML, false},
		{"r.txt", "csv", formatCSV, false},
		{"r.csv", "YAML", formatYAML, false},
		{"r.txt", "", "", true},
		{"r.csv", "json", "", true},
	}
	for _, tc := range tests {
		got, err := formatOf(tc.path, tc.format)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("formatOf(%q, %q) = %q, %v", tc.path, tc.format, got, err)
		}
	}
}
