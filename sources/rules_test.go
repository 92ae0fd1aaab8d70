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

// TestTrustRules runs the rules that keep a roster from losing or faking a
// person (issue "a roster never silently loses a row") through every format.
func TestTrustRules(t *testing.T) {
	tests := []struct {
		name    string
		grid    grid
		only    []string // formats, when not all
		opts    ReadOptions
		want    []string
		wantBy  map[string][]string
		members []Member
	}{
		{
			name: "IP-literal domains are refused",
			grid: grid{{"email"}, {"ada@1.2.3.4"}, {"bob@[1.2.3.4]"}, {"cy@10.1"}, {"dee@example.com"}},
			want: []string{
				`2:email: email "ada@1.2.3.4" is not a valid address (the domain "1.2.3.4" is an IP address, not a domain name)`,
				`3:email: email "bob@[1.2.3.4]" is not a valid address (the domain "[1.2.3.4]" is not a public domain name)`,
				`4:email: email "cy@10.1" is not a valid address (the domain "10.1" is an IP address, not a domain name)`,
			},
		},
		{
			name:    "a domain with digits is still a domain",
			grid:    grid{{"email"}, {"ada@123.example.com"}, {"bob@example.co1"}},
			members: []Member{{Email: "ada@123.example.com"}, {Email: "bob@example.co1"}},
		},
		{
			name: "the Kelvin sign is not a k: refused, never the same person",
			grid: grid{{"email"}, {"kim@example.com"}, {"\u212aim@example.com"}},
			want: []string{`3:email: email "\u212aim@example.com" holds the non-ASCII character '\u212a' (U+212A) at byte 1: type the address in plain ASCII (an international domain in its xn-- form)`},
		},
		{
			// XLSX cannot hold these as they are (XML forbids them); see
			// TestXLSXOtherWriters for their _xHHHH_ escapes.
			name: "control characters anywhere in any cell",
			only: []string{formatCSV, formatYAML},
			grid: grid{
				{"email", "groups", "auth_type", "notes"},
				{"ada@example.com", "g\x01x", "", ""},
				{"bob@example.com", "g", "AUTH_TYPE_SSO\x1b[2J", ""},
				{"cy@example.com", "a;" + strings.Repeat("g", 70<<10) + "\x07", "", ""},
				{"dee@example.com", "g\u202eevil", "", ""},
				{"fay@example.com", "g-eng\u200b;g\ufeff", "", ""},
				{"eve@example.com", "", "", "x\x01"},
			},
			opts: ReadOptions{AllowExtraColumns: true},
			want: []string{
				"2:groups: holds the control character U+0001 at byte 2: remove it (a tab or NUL inside a cell is never part of a roster value)",
				"3:auth_type: holds the control character U+001B at byte 14: remove it (a tab or NUL inside a cell is never part of a roster value)",
				"4:groups: holds the control character U+0007 at byte 71683: remove it (a tab or NUL inside a cell is never part of a roster value)",
				"5:groups: holds the invisible control character U+202E at byte 2: remove it",
				"6:groups: holds the invisible control character U+200B at byte 6: remove it",
				"7:notes: holds the control character U+0001 at byte 2: remove it (a tab or NUL inside a cell is never part of a roster value)",
			},
			wantBy: map[string][]string{
				// A YAML key invitesync does not read is not looked into.
				formatYAML: {
					"2:groups: holds the control character U+0001 at byte 2: remove it (a tab or NUL inside a cell is never part of a roster value)",
					"3:auth_type: holds the control character U+001B at byte 14: remove it (a tab or NUL inside a cell is never part of a roster value)",
					// A YAML list item is checked on its own ("a;" is the first item).
					"4:groups: holds the control character U+0007 at byte 71681: remove it (a tab or NUL inside a cell is never part of a roster value)",
					"5:groups: holds the invisible control character U+202E at byte 2: remove it",
					"6:groups: holds the invisible control character U+200B at byte 6: remove it",
				},
			},
		},
		{
			name: "a control character in an email is named, not the address rules",
			only: []string{formatCSV, formatYAML},
			grid: grid{{"email"}, {"ada@example.com\x01"}},
			want: []string{"2:email: holds the control character U+0001 at byte 16: remove it (a tab or NUL inside a cell is never part of a roster value)"},
		},
		{
			name: "roles: canonical, sorted, unique; present column means non-nil",
			grid: grid{
				{"email", "roles"},
				{"ada@example.com", " EnvironmentAdmin@env-abc123 ; OrganizationAdmin;CloudClusterAdmin@env-abc123/lkc-xyz789"},
				{"bob@example.com", ""},
				{"cy@example.com", "viewer@ybUdoTC05kYFC9ZG560kpsn0I8M_"},
			},
			members: []Member{
				{Email: "ada@example.com", Roles: []string{"CloudClusterAdmin@env-abc123/lkc-xyz789", "EnvironmentAdmin@env-abc123", "OrganizationAdmin"}},
				{Email: "bob@example.com", Roles: []string{}},
				{Email: "cy@example.com", Roles: []string{"viewer@ybUdoTC05kYFC9ZG560kpsn0I8M_"}},
			},
		},
		{
			name: "roles: bad syntax and duplicates are problems",
			grid: grid{
				{"email", "roles"},
				{"ada@example.com", "Env Admin"},
				{"bob@example.com", "EnvironmentAdmin@"},
				{"cy@example.com", "EnvironmentAdmin@env-1//lkc-2"},
				{"dee@example.com", "OrganizationAdmin;OrganizationAdmin;OrganizationAdmin"},
				{"eve@example.com", "1Admin"},
				{"fay@example.com", "Admin@env 1"},
			},
			want: []string{
				`2:roles: role name "Env Admin" must start with a letter and hold only letters, digits, '_', '.' and '-' (found " " at byte 4)`,
				`3:roles: role "EnvironmentAdmin@" has an empty scope after '@': write NAME@SCOPE, e.g. EnvironmentAdmin@env-abc123`,
				`4:roles: role "EnvironmentAdmin@env-1//lkc-2" has an empty scope segment: segments are separated by a single '/', e.g. env-abc123/lkc-xyz789`,
				`5:roles: role "OrganizationAdmin" is listed twice in this cell`,
				`6:roles: role name "1Admin" must start with a letter and hold only letters, digits, '_', '.' and '-' (found "1" at byte 1)`,
				`7:roles: role "Admin@env 1": scope segment "env 1" may hold only letters, digits, '_', '.', ':' and '-'`,
			},
		},
		{
			name:    "roles absent: nil, access not managed",
			grid:    grid{{"email"}, {"ada@example.com"}},
			members: []Member{{Email: "ada@example.com"}},
		},
		{
			name:    "header mapping: HR headers used as they are",
			grid:    grid{{" Email Address ", "Auth Type", "Team"}, {"ada@example.com", "AUTH_TYPE_SSO", "g-eng"}},
			opts:    ReadOptions{Columns: map[string]string{"email": "email address", "auth_type": "AUTH TYPE", "groups": "Team"}},
			members: []Member{{Email: "ada@example.com", AuthType: AuthSSO, Groups: []string{"g-eng"}}},
		},
		{
			name:    "header mapping: the column's own name still works",
			grid:    grid{{"email", "Auth Type"}, {"ada@example.com", "AUTH_TYPE_LOCAL"}},
			opts:    ReadOptions{Columns: map[string]string{"auth_type": "Auth Type"}},
			members: []Member{{Email: "ada@example.com", AuthType: AuthLocal}},
		},
		{
			name: "unknown headers that look like columns get the mapping to use",
			grid: grid{{"E-mail Address", "Auth Type", "Expiry"}, {"ada@example.com", "AUTH_TYPE_SSO", "7"}},
			want: []string{
				`1:: missing required column "email"; the header "E-mail Address" looks like it: map it with --columns 'email=E-mail Address'`,
				`1:E-mail Address: unknown column "E-mail Address": did you mean email? (map it with --columns 'email=E-mail Address')`,
				`1:Auth Type: unknown column "Auth Type": did you mean auth_type? (map it with --columns 'auth_type=Auth Type')`,
				`1:Expiry: unknown column "Expiry": did you mean expires_in_days? (map it with --columns 'expires_in_days=Expiry')`,
			},
			wantBy: map[string][]string{
				formatYAML: {
					`2:E-mail Address: unknown key "E-mail Address": did you mean email? (map it with --columns 'email=E-mail Address')`,
					"2:email: email is required",
					`2:Auth Type: unknown key "Auth Type": did you mean auth_type? (map it with --columns 'auth_type=Auth Type')`,
					`2:Expiry: unknown key "Expiry": did you mean expires_in_days? (map it with --columns 'expires_in_days=Expiry')`,
				},
			},
		},
		{
			name: "with --allow-extra-columns the missing email still names the look-alike header",
			grid: grid{{"Work Email", "Notes"}, {"ada@example.com", "x"}},
			only: []string{formatCSV, formatXLSX},
			opts: ReadOptions{AllowExtraColumns: true},
			want: []string{`1:: missing required column "email"; the header "Work Email" looks like it: map it with --columns 'email=Work Email'`},
		},
		{
			name: "a typo gets a suggestion, a quote in the header is shell-quoted",
			grid: grid{{"emial", "Group's"}, {"ada@example.com", "g"}},
			opts: ReadOptions{Columns: map[string]string{"email": "emial"}},
			want: []string{`1:Group's: unknown column "Group's": did you mean groups? (map it with --columns 'groups=Group'\''s')`},
			wantBy: map[string][]string{
				formatYAML: {`2:Group's: unknown key "Group's": did you mean groups? (map it with --columns 'groups=Group'\''s')`},
			},
		},
		{
			name: "no suggestion for a column already there",
			grid: grid{{"email", "mail"}, {"ada@example.com", "x"}},
			want: []string{`1:mail: unknown column "mail"; the columns are ` + allColumnsMsg + " (or pass --allow-extra-columns)"},
			wantBy: map[string][]string{
				// A YAML key is suggested on its own: keys are per member.
				formatYAML: {`2:mail: unknown key "mail": did you mean email? (map it with --columns 'email=mail')`},
			},
		},
		{
			name:    "a mapped header the file lacks is a problem",
			grid:    grid{{"email"}, {"ada@example.com"}},
			opts:    ReadOptions{Columns: map[string]string{"auth_type": "Auth Type"}},
			want:    []string{`1:: column auth_type is mapped to the header "Auth Type" (--columns), which this file does not have`},
			wantBy:  map[string][]string{formatYAML: nil},
			members: []Member{{Email: "ada@example.com"}},
		},
	}
	for _, tc := range tests {
		for _, format := range formats {
			if tc.only != nil && !slices.Contains(tc.only, format) {
				continue
			}
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
				if err == nil && !reflect.DeepEqual(stripOrigin(got), tc.members) {
					t.Errorf("members:\n got %#v\nwant %#v", stripOrigin(got), tc.members)
				}
			})
		}
	}
}

func TestKeyFoldsASCIIOnly(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Ada@Example.COM", "ada@example.com"},
		{"  bob@example.com\t", "bob@example.com"},
		{"", ""},
		{"\u212aim@example.com", "\u212aim@example.com"},   // Kelvin sign: not k
		{"\u212aIM@example.com", "\u212aim@example.com"},   // ASCII around it still folds
		{"ada@example.com\u00a0", "ada@example.com\u00a0"}, // a no-break space is not trimmed
		{"\u0130nan@example.com", "\u0130nan@example.com"}, // dotted capital I stays
		{"already@lower.case", "already@lower.case"},
	}
	for _, tc := range tests {
		if got := Key(tc.in); got != tc.want {
			t.Errorf("Key(%+q) = %+q, want %+q", tc.in, got, tc.want)
		}
	}
	if Key("kim@example.com") == Key("\u212aim@example.com") {
		t.Error("the Kelvin sign look-alike has the same key as the real address")
	}
}

func TestParseRole(t *testing.T) {
	tests := []struct {
		in      string
		want    Role
		wantErr string
	}{
		{in: "OrganizationAdmin", want: Role{Name: "OrganizationAdmin"}},
		{in: "EnvironmentAdmin@env-abc123", want: Role{Name: "EnvironmentAdmin", Scope: []string{"env-abc123"}}},
		{in: "CloudClusterAdmin@env-abc123/lkc-xyz789", want: Role{Name: "CloudClusterAdmin", Scope: []string{"env-abc123", "lkc-xyz789"}}},
		{in: "viewer@svc_def.1:x", want: Role{Name: "viewer", Scope: []string{"svc_def.1:x"}}},
		{in: "a.b-c_d", want: Role{Name: "a.b-c_d"}},
		{in: "", wantErr: "has no name"},
		{in: "@env-1", wantErr: "has no name"},
		{in: "Admin@", wantErr: "empty scope after '@'"},
		{in: "Admin@/x", wantErr: "empty scope segment"},
		{in: "Admin@x/", wantErr: "empty scope segment"},
		{in: "Admin@x@y", wantErr: `scope segment "x@y"`},
		{in: " Admin", wantErr: "must start with a letter"},
		{in: "_Admin", wantErr: "must start with a letter"},
		{in: "Ad:min", wantErr: "must start with a letter"},
		{in: "Admin\u212a", wantErr: "must start with a letter"},
	}
	for _, tc := range tests {
		got, err := ParseRole(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseRole(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseRole(%q) = %#v, %v; want %#v", tc.in, got, err, tc.want)
			continue
		}
		if got.String() != tc.in {
			t.Errorf("ParseRole(%q).String() = %q", tc.in, got.String())
		}
	}
}

func TestParseColumns(t *testing.T) {
	tests := []struct {
		spec    string
		want    map[string]string
		wantErr string
	}{
		{spec: "", want: map[string]string{}},
		{spec: "email=Email Address,auth_type=Auth Type", want: map[string]string{"email": "Email Address", "auth_type": "Auth Type"}},
		{spec: " EMAIL = E-mail , Groups=Teams ", want: map[string]string{"email": "E-mail", "groups": "Teams"}},
		{spec: "email", wantErr: `column mapping "email": want COLUMN=HEADER`},
		{spec: "mail=Mail", wantErr: `"mail" is not an invitesync column; the columns are ` + allColumnsMsg + " (did you mean email?)"},
		{spec: "email=", wantErr: "the header text is empty"},
		{spec: "email=A,email=B", wantErr: "email is mapped twice"},
		{spec: "email=X,groups=x", wantErr: `the header "x" is mapped to both email and groups`},
		{spec: "email=groups", wantErr: "email=groups would hide the column groups itself"},
	}
	for _, tc := range tests {
		got, err := ParseColumns(tc.spec)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseColumns(%q) = %v, %v; want an error with %q", tc.spec, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseColumns(%q) = %v, %v; want %v", tc.spec, got, err, tc.want)
		}
	}
}

// A bad mapping given straight in ReadOptions is refused before reading.
func TestReadFileBadColumns(t *testing.T) {
	path := writeGrid(t, t.TempDir(), formatCSV, grid{{"email"}, {"ada@example.com"}})
	_, err := ReadFile(path, ReadOptions{Columns: map[string]string{"e-mail": "Email"}})
	if err == nil || !strings.Contains(err.Error(), `"e-mail" is not an invitesync column`) {
		t.Fatalf("got %v", err)
	}
}

func TestSuggestColumn(t *testing.T) {
	tests := map[string]int{
		"E-mail": colEmail, "Email Address": colEmail, "E-Mail-Adresse": colEmail, "mail": colEmail, "emial": colEmail,
		"Auth Type": colAuthType, "authentication": colAuthType,
		"Organization Roles": colOrgRoles, "Service Role": colServiceRoles,
		"Group": colGroups, "grups": colGroups, "Expiry": colExpires, "expires in": colExpires,
		"Role": colRoles, "Access": colRoles,
		"department": -1, "name": -1, "manager": -1, "Nmae": -1, "": -1,
	}
	for in, want := range tests {
		if got := suggestColumn(in); got != want {
			t.Errorf("suggestColumn(%q) = %d, want %d", in, got, want)
		}
	}
}

// The duplicate index keys rows by a 64-bit hash; two keys with one hash
// must still be told apart, and a real duplicate behind a collision found.
func TestStoreHashCollisions(t *testing.T) {
	s := newStore()
	s.hash = func(string) uint64 { return 42 } // every key collides
	for i, e := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		if prev := s.firstRow(e); prev != 0 {
			t.Fatalf("%s: reported a duplicate of row %d", e, prev)
		}
		s.add(e, i+2, "", 0, rowLists{})
	}
	for e, want := range map[string]int{"A@example.com": 2, "B@EXAMPLE.com": 3, "c@example.COM": 4} {
		if got := s.firstRow(e); got != want {
			t.Errorf("firstRow(%s) = %d, want %d", e, got, want)
		}
	}
	ms := s.members("f", "", false)
	if len(ms) != 3 || ms[2].Email != "c@example.com" || ms[2].Origin.Row != 4 {
		t.Errorf("members %+v", ms)
	}
}

// Control bytes past the first 64 KiB (where the binary-file check looks)
// are found in the cell that holds them.
func TestControlBytesPastTheSniffWindow(t *testing.T) {
	var b strings.Builder
	b.WriteString("email,groups\n")
	for i := range 4000 {
		fmt.Fprintf(&b, "user%04d@example.com,g-eng\n", i)
	}
	b.WriteString("late@example.com,g\x00x\n")
	path := filepath.Join(t.TempDir(), "r.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(path, ReadOptions{})
	want := []string{"4002:groups: holds the control character U+0000 at byte 2: remove it (a tab or NUL inside a cell is never part of a roster value)"}
	if got := brief(t, err); !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestMapHintQuotes(t *testing.T) {
	if got, want := mapHint(colGroups, " Person's groups "), `--columns 'groups=Person'\''s groups'`; got != want {
		t.Errorf("mapHint = %s, want %s", got, want)
	}
}

// List items a spreadsheet would run as formulas are refused like such an
// email, so whatever validates can be written back (and opened) safely.
func TestFormulaListItems(t *testing.T) {
	g := grid{
		{"email", "org_roles", "service_roles", "groups"},
		{"ada@example.com", "org_member;@admin", "", "g-1;=cmd|' /C calc'!A0"},
		{"bob@example.com", "", "/link=-role;+link=r", "dash -;g"},
	}
	want := []string{
		`2:org_roles: org_roles item "@admin": it starts with "@", which a spreadsheet runs as a formula`,
		`2:groups: groups item "=cmd|' /C calc'!A0": it starts with "=", which a spreadsheet runs as a formula`,
		`3:service_roles: service role "/link=-role": it starts with "-", which a spreadsheet runs as a formula`,
		`3:service_roles: service role "+link=r": it starts with "+", which a spreadsheet runs as a formula`,
	}
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			path := writeGrid(t, t.TempDir(), format, g)
			_, err := ReadFile(path, ReadOptions{})
			if got := brief(t, err); !slices.Equal(got, want) {
				t.Fatalf("got %q\nwant %q", got, want)
			}
		})
	}
}

// A header cell with a control character is refused and its column taken
// as absent (not as present-but-unread, which would blame every row).
func TestHeaderControlCharacter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.csv")
	if err := os.WriteFile(path, []byte("\"email\x0b\",groups\nada@example.com,g\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(path, ReadOptions{})
	want := []string{
		`1:: missing required column "email"`,
		"1:email: header holds the control character U+000B at byte 6: remove it (a tab or NUL inside a cell is never part of a roster value)",
	}
	if got := brief(t, err); !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

// Lists live in a shared arena: each member's slice is capped, so one
// member's append never writes into the next member's list; long lists and
// service roles take the other path and read back the same.
func TestStoreLists(t *testing.T) {
	s := newStore()
	many := make([]string, 300)
	for i := range many {
		many[i] = fmt.Sprintf("r%03d", i)
	}
	rows := []rowLists{
		{orgRoles: []string{"org_member"}, groups: []string{"g-1", "g-2"}, roles: []string{"OrganizationAdmin"}},
		{groups: []string{"g-1"}},
		{orgRoles: many},
		{serviceRoles: []ServiceRole{{Link: "/l", Role: "r"}}, groups: []string{"g-3"}},
		{},
	}
	for i, l := range rows {
		s.add(fmt.Sprintf("u%d@example.com", i), i+2, AuthSSO, 7, l)
	}
	ms := s.members("f.csv", "", true)
	if len(ms) != len(rows) {
		t.Fatalf("%d members", len(ms))
	}
	for i, l := range rows {
		m := ms[i]
		wantRoles := l.roles
		if wantRoles == nil {
			wantRoles = []string{}
		}
		if !slices.Equal(m.OrgRoles, l.orgRoles) || !slices.Equal(m.Groups, l.groups) || !reflect.DeepEqual(m.Roles, wantRoles) ||
			!slices.Equal(m.ServiceRoles, l.serviceRoles) || m.AuthType != AuthSSO || m.ExpiresInDays != 7 || m.Origin.Row != i+2 {
			t.Errorf("member %d: %+v, want lists %+v", i, m, l)
		}
		if (l.groups == nil) != (m.Groups == nil) || (l.orgRoles == nil) != (m.OrgRoles == nil) {
			t.Errorf("member %d: nil lists not kept nil: %#v", i, m)
		}
	}
	ms[0].Groups = append(ms[0].Groups, "clobber")
	ms[0].OrgRoles = append(ms[0].OrgRoles, "clobber")
	if ms[0].Groups[1] != "g-2" || ms[1].Groups[0] != "g-1" || ms[0].Roles[0] != "OrganizationAdmin" {
		t.Errorf("an append wrote into another list: %+v / %+v", ms[0], ms[1])
	}
}
