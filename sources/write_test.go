package sources

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestWriteFileRoundTrip(t *testing.T) {
	link := "/csp/gateway/slc/api/definitions/external/ybUdoTC05kYFC9ZG560kpsn0I8M_"
	members := []Member{
		{Email: "ada@example.com", AuthType: AuthSSO, OrgRoles: []string{"org_member", "org_owner"},
			ServiceRoles: []ServiceRole{{Link: link, Role: "vmc-user:full"}, {Link: "/other", Role: "a=b"}},
			Groups:       []string{"g-eng", "g, \"quoted\""}, ExpiresInDays: 90},
		{Email: "bob@example.com"},
		{Email: "yes@example.com", AuthType: AuthLocal, Groups: []string{"null", "123", "dash -", "# hash"}, ExpiresInDays: 1},
		{Email: "User.Name+tag@example.com", OrgRoles: []string{"line-break"}},
	}
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out."+format)
			if err := WriteFile(path, members); err != nil {
				t.Fatal(err)
			}
			got, err := ReadFile(path, ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(stripOrigin(got), members) {
				t.Fatalf("read back:\n got %+v\nwant %+v", stripOrigin(got), members)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("temp files left behind: %v", entries)
			}
		})
	}
}

func TestWriteFileEmpty(t *testing.T) {
	for _, format := range formats {
		path := filepath.Join(t.TempDir(), "out."+format)
		if err := WriteFile(path, nil); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		got, err := ReadFile(path, ReadOptions{AllowEmpty: true})
		if err != nil || len(got) != 0 {
			t.Fatalf("%s: read back %v, %v", format, got, err)
		}
	}
}

func TestWriteFileRefuses(t *testing.T) {
	tests := []struct {
		name, file string
		m          Member
		want       string
	}{
		{"semicolon in a group", "r.csv", Member{Email: "a@example.com", Groups: []string{"a;b"}}, "cannot be written: the group \"a;b\": it holds ';'"},
		{"formula in a group", "r.csv", Member{Email: "a@example.com", Groups: []string{"ok", "=cmd|' /C calc'!A0"}}, "cannot be written: the group \"=cmd|' /C calc'!A0\": it starts with \"=\""},
		{"invalid email", "r.xlsx", Member{Email: "ada@1.2.3.4"}, "cannot be written: email \"ada@1.2.3.4\" is not a valid address"},
		{"bad role", "r.yaml", Member{Email: "a@example.com", Roles: []string{"Env Admin"}}, "cannot be written: the role \"Env Admin\""},
		{"spaces around a role", "r.yaml", Member{Email: "a@example.com", OrgRoles: []string{" x"}}, "cannot be written"},
		{"= in a link", "r.xlsx", Member{Email: "a@example.com", ServiceRoles: []ServiceRole{{Link: "a=b", Role: "r"}}}, "cannot be written"},
		{"unknown extension", "r.json", Member{Email: "a@example.com"}, "cannot tell the roster format"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			err := WriteFile(filepath.Join(dir, tc.file), []Member{tc.m})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("files left behind: %v", entries)
			}
		})
	}
}

// TestSamples: the three sample rosters hold the same people (that they are
// what samples/genroster writes is tested there).
func TestSamples(t *testing.T) {
	var first []Member
	for _, format := range formats {
		path := filepath.Join("..", "samples", "roster."+format)
		got, err := ReadFile(path, ReadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(got) != 12 {
			t.Errorf("%s: %d members, want 12", path, len(got))
		}
		got = stripOrigin(got)
		if first == nil {
			first = got
			continue
		}
		if !reflect.DeepEqual(got, first) {
			t.Errorf("%s differs from roster.csv:\n got %+v\nwant %+v", path, got, first)
		}
	}
	seen := map[string]bool{}
	for _, m := range first {
		seen[m.AuthType] = true
		if !strings.HasSuffix(m.Email, "@example.com") {
			t.Errorf("sample email %q is not at example.com", m.Email)
		}
	}
	if !seen[AuthLocal] || !seen[AuthSSO] || !seen[""] {
		t.Errorf("samples should mix LOCAL, SSO and default auth types: %v", seen)
	}
}

// TestDumpRoundTripHostile: members as an upstream may hold them (formulas,
// control characters, look-alikes, bad roles, repeats) go through Sanitize
// and WriteFile; what is written validates in every format, nothing in it
// starts like a formula, and every value left out is named in a warning.
func TestDumpRoundTripHostile(t *testing.T) {
	hostile := []Member{
		{Email: "ada@example.com", Groups: []string{"=cmd|' /C calc'!A0", "g-eng", "+SUM(1)", "g-eng"}, Roles: []string{"OrganizationAdmin", "EnvironmentAdmin@env-1", "OrganizationAdmin"}},
		{Email: "=HYPERLINK(\"http://evil\",\"x\")@example.com"},
		{Email: "@evil.example.com"},
		{Email: "-1+1@example.com"},
		{Email: "\u212aim@example.com"},
		{Email: "bob@1.2.3.4"},
		{Email: "cy@example.com\x00"},
		{Email: "ADA@example.com"},
		{Email: "dee@example.com", AuthType: "AUTH_TYPE_SAML", OrgRoles: []string{"org_member", "@admin", "\torg_owner", "ok\rno"}, ExpiresInDays: 365},
		{Email: "eve@example.com", ServiceRoles: []ServiceRole{{Link: "/csp/x", Role: "=viewer"}, {Link: "/csp/y", Role: "viewer"}, {Link: "-/csp/z", Role: "r"}}},
		{Email: "fay@example.com", Roles: []string{"Env Admin", "viewer@svc\x1b[31m"}},
		{Email: "gus@example.com", Groups: []string{"g\u202eevil", "ok"}},
	}
	members, warnings := Sanitize(hostile)
	wantWarn := []string{
		`ada@example.com: left out the group "=cmd|' /C calc'!A0": it starts with "=", which a spreadsheet runs as a formula`,
		`ada@example.com: left out the group "+SUM(1)": it starts with "+", which a spreadsheet runs as a formula`,
		`left out the upstream entry "=HYPERLINK(\"http://evil\",\"x\")@example.com": email "=HYPERLINK(\"http://evil\",\"x\")@example.com" is not a valid address (it starts with "=")`,
		`left out the upstream entry "@evil.example.com": email "@evil.example.com" is not a valid address (it starts with "@")`,
		`left out the upstream entry "-1+1@example.com": email "-1+1@example.com" is not a valid address (it starts with "-")`,
		`left out the upstream entry "\u212aim@example.com": email "\u212aim@example.com" holds the non-ASCII character '\u212a' (U+212A) at byte 1: type the address in plain ASCII (an international domain in its xn-- form)`,
		`left out the upstream entry "bob@1.2.3.4": email "bob@1.2.3.4" is not a valid address (the domain "1.2.3.4" is an IP address, not a domain name)`,
		`left out the upstream entry "cy@example.com\x00": email holds the control character U+0000 at byte 15: remove it (a tab or NUL inside a cell is never part of a roster value)`,
		`left out "ADA@example.com": the same address as "ada@example.com"`,
		`dee@example.com: left out the auth type "AUTH_TYPE_SAML": a roster holds AUTH_TYPE_LOCAL, AUTH_TYPE_SSO or nothing`,
		`dee@example.com: left out the org role "@admin": it starts with "@", which a spreadsheet runs as a formula`,
		`dee@example.com: left out the org role "\torg_owner": it is empty or has surrounding spaces`,
		`dee@example.com: left out the org role "ok\rno": it holds a line break (U+000D) at byte 3: a roster cell is one line (separate list items with ';')`,
		`dee@example.com: left out the expiry of 365 days: a roster holds 1..90`,
		`eve@example.com: left out the service role "/csp/x==viewer": it starts with "=", which a spreadsheet runs as a formula`,
		`eve@example.com: left out the service role "-/csp/z=r": it starts with "-", which a spreadsheet runs as a formula`,
		`fay@example.com: left out the role "Env Admin": role name "Env Admin" must start with a letter and hold only letters, digits, '_', '.' and '-' (found " " at byte 4)`,
		`fay@example.com: left out the role "viewer@svc\x1b[31m": role "viewer@svc\x1b[31m": scope segment "svc\x1b[31m" may hold only letters, digits, '_', '.', ':' and '-'`,
		`gus@example.com: left out the group "g\u202eevil": it holds the invisible control character U+202E at byte 2: remove it`,
	}
	if !slices.Equal(warnings, wantWarn) {
		t.Errorf("warnings:\n got %q\nwant %q", warnings, wantWarn)
	}
	wantMembers := []Member{
		{Email: "ada@example.com", Groups: []string{"g-eng"}, Roles: []string{"EnvironmentAdmin@env-1", "OrganizationAdmin"}},
		{Email: "dee@example.com", OrgRoles: []string{"org_member"}},
		{Email: "eve@example.com", ServiceRoles: []ServiceRole{{Link: "/csp/y", Role: "viewer"}}},
		{Email: "fay@example.com", Roles: []string{}},
		{Email: "gus@example.com", Groups: []string{"ok"}},
	}
	if !reflect.DeepEqual(members, wantMembers) {
		t.Fatalf("sanitized:\n got %#v\nwant %#v", members, wantMembers)
	}
	if hostile[0].Groups[0] != "=cmd|' /C calc'!A0" {
		t.Error("Sanitize modified its input")
	}
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "dump."+format)
			if err := WriteFile(path, hostile); err == nil {
				t.Fatal("WriteFile wrote hostile members as they are")
			}
			if err := WriteFile(path, members); err != nil {
				t.Fatal(err)
			}
			got, err := ReadFile(path, ReadOptions{})
			if err != nil {
				t.Fatalf("validate refuses what dump wrote: %v", err)
			}
			// Every member gets the roles column once one has it.
			want := slices.Clone(wantMembers)
			for i := range want {
				if want[i].Roles == nil {
					want[i].Roles = []string{}
				}
			}
			if !reflect.DeepEqual(stripOrigin(got), want) {
				t.Errorf("read back:\n got %#v\nwant %#v", stripOrigin(got), want)
			}
			if format == formatCSV {
				data, _ := os.ReadFile(path)
				for i, line := range strings.Split(string(data), "\n") {
					for _, cell := range strings.Split(line, ",") {
						if cell = strings.Trim(cell, `"`); cell != "" && strings.ContainsAny(cell[:1], "=+-@\t\r") {
							t.Errorf("line %d: cell %q starts like a formula", i+1, cell)
						}
					}
				}
			}
		})
	}
}

// Without a member with roles, the roles column is not written: a dump of
// an upstream without access management reads back with Roles nil.
func TestWriteFileRolesColumnOnlyWhenUsed(t *testing.T) {
	for _, withRoles := range []bool{false, true} {
		for _, format := range formats {
			m := Member{Email: "ada@example.com"}
			if withRoles {
				m.Roles = []string{}
			}
			path := filepath.Join(t.TempDir(), "r."+format)
			if err := WriteFile(path, []Member{m}); err != nil {
				t.Fatal(err)
			}
			got, err := ReadFile(path, ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if (got[0].Roles != nil) != withRoles {
				t.Errorf("%s, roles %v: read back Roles %#v", format, withRoles, got[0].Roles)
			}
		}
	}
}
