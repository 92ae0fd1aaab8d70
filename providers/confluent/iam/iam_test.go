package iam

import "testing"

// Every role the roster can write maps to a CRN pattern and back to itself.
func TestRoleRoundTrip(t *testing.T) {
	const org = "1111aaaa-11aa-11aa-11aa-111111aaaaaa"
	tests := []struct{ role, crn string }{
		{"OrganizationAdmin", "crn://confluent.cloud/organization=" + org},
		{"EnvironmentAdmin@env-aaa1111", "crn://confluent.cloud/organization=" + org + "/environment=env-aaa1111"},
		// The mds/v2 openapi.yaml example pattern.
		{"CloudClusterAdmin@env-aaa1111/lkc-1111aaa", "crn://confluent.cloud/organization=" + org + "/environment=env-aaa1111/cloud-cluster=lkc-1111aaa"},
	}
	for _, tt := range tests {
		r, err := ParseRole(tt.role)
		if err != nil {
			t.Fatalf("ParseRole(%q): %v", tt.role, err)
		}
		if got := r.CRN(org); got != tt.crn {
			t.Errorf("%s -> %s, want %s", tt.role, got, tt.crn)
		}
		if back := RoleOf(org, r.Name, tt.crn); back != tt.role {
			t.Errorf("%s -> %s -> %s", tt.role, tt.crn, back)
		}
	}
}

func TestSameEmail(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"Ada@Example.com", "ada@example.com", true},
		{" ada@example.com ", "ada@example.com", true},
		{"\u212aim@example.com", "kim@example.com", false}, // the Kelvin sign is not a k
		{"ada@example.com", "ada@example.co", false},
	}
	for _, tt := range tests {
		if got := SameEmail(tt.a, tt.b); got != tt.want {
			t.Errorf("SameEmail(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestCRNSegment(t *testing.T) {
	crn := "crn://confluent.cloud/organization=9bb441c4/api-key=ak-1"
	if got := CRNSegment(crn, "organization"); got != "9bb441c4" {
		t.Errorf("organization = %q", got)
	}
	if got := CRNSegment("https://x/organization=1", "organization"); got != "" {
		t.Errorf("not a CRN: %q", got)
	}
}

func TestGuard(t *testing.T) {
	tests := []struct {
		name  string
		max   int
		pages [][]string
		next  []string
		fails int // page that fails, 0 = none
	}{
		{"normal", 0, [][]string{{"a", "b"}, {"c", "d"}, {"e"}}, []string{"t1", "t2", "t3"}, 0},
		{"overlapping pages are fine", 0, [][]string{{"a", "b"}, {"b", "c"}, {"c", "d"}}, []string{"t1", "t2", "t3"}, 0},
		{"started over", 0, [][]string{{"a", "b"}, {"c"}, {"a", "b"}}, []string{"t1", "t2", "t3"}, 3},
		{"a cycle of tokens", 0, [][]string{{"a"}, {"b"}, {"c"}}, []string{"t1", "t2", "t1"}, 3},
		{"the budget", 2, [][]string{{"a"}, {"b"}, {"c"}}, []string{"t1", "t2", "t3"}, 2},
	}
	for _, tt := range tests {
		g := NewGuard(tt.max)
		failed := 0
		for i, ids := range tt.pages {
			if err := g.Page(i+1, ids); err != nil {
				failed = i + 1
				break
			}
			if err := g.Next(i+1, tt.next[i]); err != nil {
				failed = i + 1
				break
			}
		}
		if failed != tt.fails {
			t.Errorf("%s: failed at page %d, want %d", tt.name, failed, tt.fails)
		}
	}
}
