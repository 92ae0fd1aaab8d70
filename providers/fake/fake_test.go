package fake

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/invitesync/invitesync/providers"
)

func TestCreateListRevoke(t *testing.T) {
	ctx := context.Background()
	p := New(Options{})
	p.Seed(providers.Invitation{Email: "old@example.com", CreatorID: "u-invitesync"},
		providers.Invitation{Email: "theirs@example.com"})
	res, err := p.Create(ctx, []providers.InviteRequest{{Email: "Ada@Example.com", AuthType: "AUTH_TYPE_SSO"}})
	if err != nil || len(res) != 1 || res[0].Err != nil || res[0].Invitation == nil || res[0].Invitation.CreatorID != "u-invitesync" {
		t.Fatalf("create: %+v, %v", res, err)
	}
	// The same person again, any case: already invited, not twice.
	again, _ := p.Create(ctx, []providers.InviteRequest{{Email: "ada@example.com"}})
	if !again[0].AlreadyInvited || again[0].Invitation.ID != res[0].Invitation.ID || len(p.Pending("ada@example.com")) != 1 {
		t.Fatalf("second create: %+v", again[0])
	}
	list, err := p.List(ctx)
	if err != nil || len(list) != 3 {
		t.Fatalf("list: %v, %v", list, err)
	}
	if _, err := p.Revoke(ctx, list[0]); err != nil || len(p.Pending("old@example.com")) != 0 {
		t.Fatalf("revoke: %v", err)
	}
	if r, err := p.Revoke(ctx, providers.Invitation{ID: "inv-nope"}); err != nil || !r.NotFound {
		t.Fatalf("revoke of nothing: %+v, %v", r, err)
	}
	if _, err := p.Create(ctx, []providers.InviteRequest{{Email: "a@x"}, {Email: "b@x"}}); err == nil {
		t.Fatal("a batch over MaxBatch was accepted")
	}
	if got := p.Count("create", ""); got != 2 {
		t.Fatalf("creates counted %d, want 2", got)
	}
}

func TestInjectedMisbehaviour(t *testing.T) {
	ctx := context.Background()
	quota := errors.New("quota")
	tests := []struct {
		name  string
		setup func(p *Provider)
		check func(t *testing.T, p *Provider, res providers.CreateResult)
	}{
		{"refused", func(p *Provider) { p.FailCreate("ada@example.com", nil) }, func(t *testing.T, p *Provider, res providers.CreateResult) {
			var e *providers.Error
			if !errors.As(res.Err, &e) || !e.Permanent() || res.Unknown || len(p.Pending("ada@example.com")) != 0 {
				t.Fatalf("%+v", res)
			}
		}},
		{"own error", func(p *Provider) { p.FailCreate("ada@example.com", quota) }, func(t *testing.T, p *Provider, res providers.CreateResult) {
			if !errors.Is(res.Err, quota) {
				t.Fatalf("%+v", res)
			}
		}},
		{"unknown, landed", func(p *Provider) { p.UnknownCreate("ada@example.com", Landed) }, func(t *testing.T, p *Provider, res providers.CreateResult) {
			if !res.Unknown || res.Err == nil || len(p.Pending("ada@example.com")) != 1 {
				t.Fatalf("%+v, pending %v", res, p.Pending("ada@example.com"))
			}
		}},
		{"unknown, not landed", func(p *Provider) { p.UnknownCreate("ada@example.com", NotLanded) }, func(t *testing.T, p *Provider, res providers.CreateResult) {
			if !res.Unknown || len(p.Pending("ada@example.com")) != 0 {
				t.Fatalf("%+v", res)
			}
		}},
		{"healed", func(p *Provider) { p.FailCreate("ada@example.com", nil); p.Heal() }, func(t *testing.T, p *Provider, res providers.CreateResult) {
			if res.Err != nil || len(p.Pending("ada@example.com")) != 1 {
				t.Fatalf("%+v", res)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New(Options{})
			tt.setup(p)
			res, err := p.Create(ctx, []providers.InviteRequest{{Email: "ada@example.com"}})
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p, res[0])
		})
	}

	p := New(Options{})
	p.Seed(providers.Invitation{Email: "a@example.com"}, providers.Invitation{Email: "b@example.com"})
	p.ListTwice("A@example.com")
	list, _ := p.List(ctx)
	if len(list) != 3 || list[2].ID != list[0].ID {
		t.Fatalf("listed twice: %+v", list)
	}
	p.FailRevoke("b@example.com", nil)
	if _, err := p.Revoke(ctx, list[1]); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("revoke: %v", err)
	}
	p.FailList(quota)
	if _, err := p.List(ctx); !errors.Is(err, quota) {
		t.Fatalf("list: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	res, err := p.Create(cctx, []providers.InviteRequest{{Email: "c@example.com"}})
	if !errors.Is(err, context.Canceled) || res[0].Err == nil || p.Count("create", "c@example.com") != 0 {
		t.Fatalf("cancelled create: %+v, %v", res, err)
	}
}

func TestAccessAndMembers(t *testing.T) {
	ctx := context.Background()
	p := New(Options{Roles: []string{"OrganizationAdmin", "MetricsViewer"}})
	if err := p.CheckRole("Nope"); err == nil {
		t.Fatal("an unknown role passed CheckRole")
	}
	g := providers.Grant{Email: "ada@example.com", Role: "MetricsViewer"}
	if r, err := p.GrantRole(ctx, g); err != nil || r.NotFound {
		t.Fatalf("grant: %+v %v", r, err)
	}
	if r, err := p.GrantRole(ctx, g); err != nil || !r.NotFound || len(p.Grants()) != 1 {
		t.Fatalf("grant twice: %+v %v, grants %v", r, err, p.Grants())
	}
	got, err := p.ListAccess(ctx, []providers.Person{{Email: "ADA@example.com"}, {Email: "bob@example.com"}})
	if err != nil || len(got) != 1 || got[0].ID == "" {
		t.Fatalf("list access: %+v %v", got, err)
	}
	if r, err := p.UngrantRole(ctx, got[0]); err != nil || r.NotFound || len(p.Grants()) != 0 {
		t.Fatalf("ungrant: %+v %v", r, err)
	}
	if r, _ := p.UngrantRole(ctx, got[0]); !r.NotFound {
		t.Fatal("ungrant of nothing: NotFound unset")
	}
	p.FailGrant("bob@example.com", "MetricsViewer", nil)
	if _, err := p.GrantRole(ctx, providers.Grant{Email: "bob@example.com", Role: "MetricsViewer"}); err == nil {
		t.Fatal("injected grant failure did not fail")
	}

	p.Seed(providers.Invitation{Email: "cy@example.com", CreatorID: "u-invitesync"})
	if !p.Accept("cy@example.com") {
		t.Fatal("accept")
	}
	ms, _ := p.ListMembers(ctx)
	if len(ms) != 1 || ms[0].Email != "cy@example.com" {
		t.Fatalf("members %+v", ms)
	}
	_, _ = p.GrantRole(ctx, providers.Grant{Email: "cy@example.com", Role: "OrganizationAdmin"})
	rad, _ := p.BlastRadius(ctx, ms[0])
	if len(rad.Bindings) != 1 {
		t.Fatalf("radius %+v", rad)
	}
	if r, err := p.RemoveMember(ctx, ms[0]); err != nil || r.NotFound || len(p.Members()) != 0 || len(p.Grants()) != 0 {
		t.Fatalf("remove: %+v %v", r, err)
	}
	if r, _ := p.RemoveMember(ctx, ms[0]); !r.NotFound {
		t.Fatal("remove of nobody: NotFound unset")
	}
}
