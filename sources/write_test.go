package sources

import (
	"os"
	"path/filepath"
	"reflect"
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
