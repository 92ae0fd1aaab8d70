package main

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/invitesync/invitesync/providers/emulator"
	"github.com/invitesync/invitesync/sources"
)

const (
	dumpCSPOrg = "demo-org"
	dumpAzure  = "00000000-0000-0000-0000-000000000000/rg-demo/org-demo"
)

// startDumpEmulator serves an emulator on loopback seeded with pending,
// accepted, expired and revoked invitations in each API.
func startDumpEmulator(t *testing.T) string {
	t.Helper()
	emu, err := emulator.New(emulator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	svc := emulator.SeedServiceRole{ServiceDefinitionLink: "/csp/gateway/slc/api/definitions/external/ybUdoTC05kYFC9ZG560kpsn0I8M_", Roles: []string{"vmc-user:full"}}
	err = emu.Seed(emulator.Seed{
		Confluent: []emulator.SeedConfluent{
			{Email: "ada@example.com", AuthType: "AUTH_TYPE_SSO"},
			{Email: "Bob@Example.com", AuthType: "AUTH_TYPE_LOCAL", Status: "INVITE_STATUS_ACCEPTED"},
			{Email: "cy@example.com", Status: "INVITE_STATUS_EXPIRED"},
			{Email: "dee@example.com", Status: "INVITE_STATUS_DEACTIVATED"},
			{Email: "partner@example.org", AuthType: "AUTH_TYPE_LOCAL", Creator: "u-someone-else"},
		},
		CSP: map[string][]emulator.SeedCSP{dumpCSPOrg: {
			{Username: "ada@example.com", OrgRoles: []string{"org_member"}, Groups: []string{"g-eng", "g-ops"}, ServiceRoles: []emulator.SeedServiceRole{svc}},
			{Username: "bob@example.com", Status: "REDEEMED", OrgRoles: []string{"org_owner"}},
			{Username: "cy@example.com", Expired: true},
			{Username: "dee@example.com", Status: "REVOKED"},
		}},
		Azure: map[string][]emulator.SeedAzure{dumpAzure: {
			{Email: "ada@example.com", AuthType: "AUTH_TYPE_SSO"},
			{Email: "bob@example.com", AuthType: "AUTH_TYPE_LOCAL", Status: "INVITE_STATUS_ACCEPTED"},
			{Email: "cy@example.com", Status: "INVITE_STATUS_EXPIRED"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	base, err := emu.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	return base
}

func TestDumpRoundTripsThroughValidate(t *testing.T) {
	base := startDumpEmulator(t)
	t.Setenv(envConfluentKey, emulator.DefaultConfluentKey)
	t.Setenv(envConfluentSecret, emulator.DefaultConfluentSecret)
	t.Setenv(envCSPToken, emulator.DefaultCSPRefreshToken)
	t.Setenv(envAzureToken, emulator.DefaultAzureToken)
	svc := []sources.ServiceRole{{Link: "/csp/gateway/slc/api/definitions/external/ybUdoTC05kYFC9ZG560kpsn0I8M_", Role: "vmc-user:full"}}
	providers := []struct {
		args []string
		want []sources.Member
	}{
		{[]string{"--provider", "confluent"}, []sources.Member{
			{Email: "ada@example.com", AuthType: "AUTH_TYPE_SSO"},
			{Email: "Bob@Example.com", AuthType: "AUTH_TYPE_LOCAL"},
			{Email: "partner@example.org", AuthType: "AUTH_TYPE_LOCAL"},
		}},
		{[]string{"--provider", "csp", "--org-id", dumpCSPOrg}, []sources.Member{
			{Email: "ada@example.com", OrgRoles: []string{"org_member"}, Groups: []string{"g-eng", "g-ops"}, ServiceRoles: svc},
			{Email: "bob@example.com", OrgRoles: []string{"org_owner"}},
		}},
		{[]string{"--provider", "azure", "--subscription-id", "00000000-0000-0000-0000-000000000000", "--resource-group", "rg-demo", "--organization", "org-demo"}, []sources.Member{
			{Email: "ada@example.com", AuthType: "AUTH_TYPE_SSO"},
			{Email: "bob@example.com", AuthType: "AUTH_TYPE_LOCAL"},
		}},
	}
	for _, pv := range providers {
		for _, ext := range []string{"csv", "xlsx", "yaml"} {
			t.Run(pv.args[1]+"/"+ext, func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "roster."+ext)
				var stdout, stderr bytes.Buffer
				args := append([]string{"dump", "--endpoint", base, "--out", out}, pv.args...)
				if code := run(context.Background(), args, &stdout, &stderr); code != exitOK {
					t.Fatalf("dump exit %d: %s", code, stderr.String())
				}
				stdout.Reset()
				stderr.Reset()
				if code := run(context.Background(), []string{"validate", "--roster", out}, &stdout, &stderr); code != exitOK {
					t.Fatalf("validate of the dump: exit %d: %s%s", code, stdout.String(), stderr.String())
				}
				got, err := sources.ReadFile(out, sources.ReadOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(pv.want) {
					t.Fatalf("dumped %d people %+v, want %d", len(got), got, len(pv.want))
				}
				for i, w := range pv.want {
					g := got[i]
					if g.Email != w.Email || g.AuthType != w.AuthType || !slices.Equal(g.OrgRoles, w.OrgRoles) ||
						!slices.Equal(g.Groups, w.Groups) || !slices.Equal(g.ServiceRoles, w.ServiceRoles) {
						t.Errorf("member %d = %+v, want %+v", i, g, w)
					}
				}
			})
		}
	}
}

func TestDumpRefuses(t *testing.T) {
	base := startDumpEmulator(t)
	t.Setenv(envConfluentKey, emulator.DefaultConfluentKey)
	t.Setenv(envConfluentSecret, "not-the-secret-0042")
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no out", []string{"--provider", "confluent", "--endpoint", base}, exitInvalid, "--out is required"},
		{"bad extension", []string{"--provider", "confluent", "--endpoint", base, "--out", filepath.Join(dir, "r.txt")}, exitInvalid, ".csv, .xlsx or .yaml"},
		{"no provider", []string{"--out", filepath.Join(dir, "r.csv")}, exitInvalid, "--provider is required"},
		{"wrong secret", []string{"--provider", "confluent", "--endpoint", base, "--out", filepath.Join(dir, "r.csv")}, exitFailed, "HTTP 401"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"dump"}, tt.args...), &stdout, &stderr)
			if code != tt.code || !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("exit %d, stderr %q: want exit %d and %q", code, stderr.String(), tt.code, tt.want)
			}
			if strings.Contains(stderr.String(), "not-the-secret-0042") {
				t.Fatal("stderr quotes the secret")
			}
		})
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*")); len(m) != 0 {
		t.Fatalf("a refused dump left files: %v", m)
	}
}
