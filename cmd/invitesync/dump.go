package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/sources"
)

// newDumpCmd writes the upstream's pending and accepted invitations as a
// roster file, e.g. to start a roster from what an org already has. The file
// passes `invitesync validate` (an empty org gives an empty roster, which
// validate accepts only with --allow-empty).
func newDumpCmd(c *cli) *cobra.Command {
	var out, logFormat, logLevel, config string
	var pf *providerFlags
	cmd := &cobra.Command{
		Use:         "dump --provider NAME --out FILE.{csv,xlsx,yaml}",
		Short:       "write the upstream's current invitations as a roster file",
		GroupID:     cmdGroupInspect,
		Example:     "  invitesync dump --provider confluent --out current.yaml",
		Annotations: map[string]string{"credentials": "yes", "exitcodes": "yes"},
		Args:        noArgs,
		RunE: c.action(func(ctx context.Context, cmd *cobra.Command, _ []string) (int, error) {
			if config != "" {
				if err := applyConfig(cmd.Flags(), config); err != nil {
					return exitInvalid, err
				}
			}
			code, err := runDump(ctx, pf, out, logFormat, logLevel, c.stdout, c.stderr)
			return code, explainUpstreamError(pf.name, err)
		}),
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	pf = addProviderFlags(fs)
	fs.StringVar(&out, "out", "", "roster file to write: .csv, .xlsx or .yaml")
	fs.StringVar(&logFormat, "log-format", "", "console or json (default: console on a terminal, json otherwise)")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&config, "config", "", "YAML file of flags (flag name: value); the command line wins")
	for _, n := range []string{"out", "log-format", "log-level"} {
		annotate(fs, n, annGroup, groupOutput)
	}
	annotate(fs, "config", annGroup, groupConfig)
	registerCompletions(cmd)
	return cmd
}

func runDump(ctx context.Context, pf *providerFlags, out, logFormat, logLevel string, stdout, stderr io.Writer) (int, error) {
	if out == "" {
		return exitInvalid, usageErrorf("--out is required (a .csv, .xlsx or .yaml file)")
	}
	switch strings.ToLower(filepath.Ext(out)) {
	case ".csv", ".xlsx", ".yaml", ".yml":
	default:
		return exitInvalid, usageErrorf("--out %s: want a .csv, .xlsx or .yaml file", out)
	}
	log, err := newLogger(stderr, logFormat, logLevel)
	if err != nil {
		return exitInvalid, err
	}
	p, err := pf.build(log, nil)
	if err != nil {
		return exitInvalid, err
	}
	invs, err := p.List(ctx)
	if err != nil {
		return exitFailed, fmt.Errorf("upstream could not be read: %w", err)
	}
	members := rosterOf(invs, p.Capabilities(), log)
	if err := withAccess(ctx, p, invs, members); err != nil {
		return exitFailed, fmt.Errorf("upstream could not be read: %w", err)
	}
	// Upstream values a roster cannot hold (formula-like, control
	// characters) are left out, each named, so what is written validates.
	members, warns := sources.Sanitize(members)
	for _, w := range warns {
		log.Warn().Msg(w)
	}
	if err := sources.WriteFile(out, members); err != nil {
		return exitFailed, err
	}
	if len(members) == 0 {
		log.Warn().Str("provider", p.Name()).Msg("no pending or accepted invitations: the roster is empty (validate and plan need --allow-empty)")
	}
	fmt.Fprintf(stdout, "%s: %d people from %s %s\n", out, len(members), p.Name(), p.Organization())
	return exitOK, nil
}

// rosterOf turns pending and accepted invitations into roster members, one
// per email (an accepted invitation wins over a pending one, then the newest),
// sorted by email. Attributes the provider does not report stay empty; an
// auth type a roster cannot hold is dropped with a warning.
func rosterOf(invs []providers.Invitation, caps providers.Capabilities, log zerolog.Logger) []sources.Member {
	best := map[string]providers.Invitation{}
	for _, inv := range invs {
		if inv.Status != providers.StatusPending && inv.Status != providers.StatusAccepted {
			continue
		}
		k := sources.Key(inv.Email)
		if k == "" {
			continue
		}
		cur, ok := best[k]
		if !ok || better(inv, cur) {
			best[k] = inv
		}
	}
	members := make([]sources.Member, 0, len(best))
	for _, inv := range best {
		m := sources.Member{Email: strings.TrimSpace(inv.Email)}
		if caps.AuthType {
			switch inv.AuthType {
			case "", sources.AuthLocal, sources.AuthSSO:
				m.AuthType = inv.AuthType
			default:
				log.Warn().Str("email", m.Email).Str("auth_type", inv.AuthType).Msg("auth type unknown to rosters: left empty (upstream default)")
			}
		}
		if caps.OrgRoles {
			m.OrgRoles = inv.OrgRoles
		}
		if caps.ServiceRoles {
			for _, sr := range inv.ServiceRoles {
				m.ServiceRoles = append(m.ServiceRoles, sources.ServiceRole{Link: sr.Link, Role: sr.Role})
			}
		}
		if caps.Groups {
			m.Groups = inv.Groups
		}
		members = append(members, m)
	}
	sort.Slice(members, func(i, j int) bool { return sources.Key(members[i].Email) < sources.Key(members[j].Email) })
	return members
}

// withAccess fills each member's roles column with the access they hold,
// where the provider manages access (the roster then round-trips it).
func withAccess(ctx context.Context, p providers.Provider, invs []providers.Invitation, members []sources.Member) error {
	acc, ok := p.(providers.Access)
	if !ok || !p.Capabilities().Access {
		return nil
	}
	var people []providers.Person
	for _, inv := range invs {
		if inv.UserID != "" && (inv.Status == providers.StatusPending || inv.Status == providers.StatusAccepted) {
			people = append(people, providers.Person{Email: inv.Email, UserID: inv.UserID})
		}
	}
	if m, ok := p.(providers.Members); ok && p.Capabilities().Members {
		users, err := m.ListMembers(ctx)
		if err != nil {
			return fmt.Errorf("list members: %w", err)
		}
		for _, u := range users {
			if u.ID != "" {
				people = append(people, providers.Person{Email: u.Email, UserID: u.ID})
			}
		}
	}
	grants, err := acc.ListAccess(ctx, people)
	if err != nil {
		return fmt.Errorf("list access: %w", err)
	}
	held := map[string][]string{}
	for _, g := range grants {
		k := sources.Key(g.Email)
		held[k] = append(held[k], g.Role)
	}
	for i := range members {
		roles := held[sources.Key(members[i].Email)]
		sort.Strings(roles)
		members[i].Roles = append([]string{}, roles...)
	}
	return nil
}

// better says whether a should stand for its email rather than b.
func better(a, b providers.Invitation) bool {
	if (a.Status == providers.StatusAccepted) != (b.Status == providers.StatusAccepted) {
		return a.Status == providers.StatusAccepted
	}
	return a.CreatedAt.After(b.CreatedAt)
}
