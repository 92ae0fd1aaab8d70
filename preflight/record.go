package preflight

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/providers/emulator"
)

// RecordOptions say how a recorded sample is redacted.
type RecordOptions struct {
	// KeepEmails writes the real addresses; by default each is replaced by
	// a stable hash at example.com, so one person stays one person.
	KeepEmails bool
	Now        time.Time
}

// seedSections maps a provider to the part of the emulator's seed that holds
// its invitations. A provider without one cannot be recorded (check says so).
var seedSections = map[string]func(sd *emulator.Seed, org string, invs []providers.Invitation, r *redactor){
	"confluent": func(sd *emulator.Seed, _ string, invs []providers.Invitation, r *redactor) {
		for _, inv := range invs {
			if e, ok := r.confluentLike(inv); ok {
				sd.Confluent = append(sd.Confluent, emulator.SeedConfluent{Email: e.Email, AuthType: e.AuthType,
					Status: e.Status, Creator: r.id(inv.CreatorID), ExpiresAt: e.ExpiresAt})
			}
		}
	},
	"azure": func(sd *emulator.Seed, org string, invs []providers.Invitation, r *redactor) {
		list := []emulator.SeedAzure{}
		for _, inv := range invs {
			if e, ok := r.confluentLike(inv); ok {
				list = append(list, emulator.SeedAzure{Email: e.Email, AuthType: e.AuthType, Status: e.Status, ExpiresAt: e.ExpiresAt})
			}
		}
		sd.Azure = map[string][]emulator.SeedAzure{org: list}
	},
	"csp": func(sd *emulator.Seed, org string, invs []providers.Invitation, r *redactor) {
		list := []emulator.SeedCSP{}
		for _, inv := range invs {
			if e, ok := r.csp(inv); ok {
				list = append(list, e)
			}
		}
		sd.CSP = map[string][]emulator.SeedCSP{org: list}
	},
}

// CanRecord reports whether provider's answers can be written as a seed.
func CanRecord(provider string) bool { _, ok := seedSections[provider]; return ok }

// WriteRecord writes what the check listed as an emulator seed file (YAML)
// at path: `invitesync emulator --seed FILE` replays it. It holds no
// credential and no header; emails are hashed unless opts.KeepEmails. The
// leading comment says what was checked and what could not be represented.
func WriteRecord(path string, rep *Report, opts RecordOptions) error {
	sec, ok := seedSections[rep.Provider]
	if !ok {
		return fmt.Errorf("record: the emulator has no seed section for provider %s", rep.Provider)
	}
	if rep.Invitations == nil {
		return fmt.Errorf("record: nothing to record: the listing failed")
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
	default:
		return fmt.Errorf("record %s: want a .yaml file (the emulator's seed format)", path)
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	r := &redactor{keep: opts.KeepEmails, now: opts.Now, pending: map[string]bool{}}
	var sd emulator.Seed
	sec(&sd, rep.Organization, rep.Invitations, r)

	var b bytes.Buffer
	fmt.Fprintf(&b, "# invitesync check --record: %s %s, %s\n", rep.Provider, oneLine(rep.Organization), opts.Now.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "# An emulator seed: invitesync emulator --seed %s\n", filepath.Base(path))
	if !opts.KeepEmails {
		b.WriteString("# Emails are hashed (same person, same hash); creator ids are kept.\n")
	}
	for _, c := range rep.Checks {
		fmt.Fprintf(&b, "#   %s\n", c.String())
	}
	for _, n := range r.notes() {
		fmt.Fprintf(&b, "# left out: %s\n", n)
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(sd); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return writeNew(path, b.Bytes())
}

// writeNew writes a fresh file (never through an existing symlink).
func writeNew(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".record-*")
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("record: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return nil
}

var hashedEmail = regexp.MustCompile(`^user-[0-9a-f]{12}@example\.com$`)

// redactor turns listed invitations into seed entries a seed loader accepts.
type redactor struct {
	keep    bool
	now     time.Time
	pending map[string]bool // emails with a pending entry already (the seed allows one)
	left    map[string]int
}

func (r *redactor) leave(why string) {
	if r.left == nil {
		r.left = map[string]int{}
	}
	r.left[why]++
}

func (r *redactor) notes() []string {
	var out []string
	for why, n := range r.left {
		out = append(out, fmt.Sprintf("%d %s", n, why))
	}
	sort.Strings(out)
	return out
}

// email is the address to write: the real one, or a stable hash of its
// ASCII-folded form at example.com.
func (r *redactor) email(e string) string {
	e = strings.TrimSpace(e)
	if r.keep || hashedEmail.MatchString(e) {
		return e // a replayed recording records the same
	}
	sum := sha256.Sum256([]byte(asciiLower(e)))
	return "user-" + hex.EncodeToString(sum[:6]) + "@example.com"
}

// id keeps an opaque user id, but hashes one that is an email address.
func (r *redactor) id(s string) string {
	if strings.Contains(s, "@") {
		return r.email(s)
	}
	return s
}

// usable mirrors what the emulator's seed loader accepts as an address.
func (r *redactor) usable(email string) bool {
	if email == "" || len(email) > 254 || strings.ContainsAny(email, " \t\r\n<>,;\"") {
		return false
	}
	at := strings.IndexByte(email, '@')
	if at <= 0 || at != strings.LastIndexByte(email, '@') {
		return false
	}
	domain := email[at+1:]
	dot := strings.IndexByte(domain, '.')
	return dot > 0 && dot < len(domain)-1 && !strings.Contains(domain, "..")
}

type confluentEntry struct {
	Email, AuthType, Status string
	ExpiresAt               time.Time
}

var confluentStatuses = map[string]bool{"INVITE_STATUS_SENT": true, "INVITE_STATUS_STAGED": true,
	"INVITE_STATUS_ACCEPTED": true, "INVITE_STATUS_EXPIRED": true, "INVITE_STATUS_DEACTIVATED": true}

// confluentLike is one Confluent (or Azure, Confluent underneath) invitation.
func (r *redactor) confluentLike(inv providers.Invitation) (confluentEntry, bool) {
	if !confluentStatuses[inv.RawStatus] {
		r.leave(fmt.Sprintf("with status %q (not one the emulator plays)", clip(inv.RawStatus, 40)))
		return confluentEntry{}, false
	}
	if !r.usable(strings.TrimSpace(inv.Email)) {
		r.leave("without a usable email")
		return confluentEntry{}, false
	}
	e := confluentEntry{Email: r.email(inv.Email), Status: inv.RawStatus, ExpiresAt: inv.ExpiresAt.UTC()}
	switch inv.AuthType {
	case "", "AUTH_TYPE_LOCAL", "AUTH_TYPE_SSO":
		e.AuthType = inv.AuthType
	default:
		r.leave("auth types the emulator does not play (kept the invitation, dropped the auth type)")
	}
	pending := (e.Status == "INVITE_STATUS_SENT" || e.Status == "INVITE_STATUS_STAGED") && (e.ExpiresAt.IsZero() || e.ExpiresAt.After(r.now))
	if pending {
		k := asciiLower(e.Email)
		if r.pending[k] {
			r.leave("second pending invitations for one email (the emulator holds one)")
			return confluentEntry{}, false
		}
		r.pending[k] = true
	}
	return e, true
}

// csp is one CSP invitation; its expiry is written in days from load time.
func (r *redactor) csp(inv providers.Invitation) (emulator.SeedCSP, bool) {
	switch inv.RawStatus {
	case "AVAILABLE", "REDEEMED", "REVOKED":
	default:
		r.leave(fmt.Sprintf("with status %q (not one the emulator plays)", clip(inv.RawStatus, 40)))
		return emulator.SeedCSP{}, false
	}
	if !r.usable(strings.TrimSpace(inv.Email)) {
		r.leave("without a usable email")
		return emulator.SeedCSP{}, false
	}
	e := emulator.SeedCSP{Username: r.email(inv.Email), Status: inv.RawStatus, OrgRoles: inv.OrgRoles,
		Groups: inv.Groups, InvitedBy: r.id(inv.CreatorID)}
	if e.Status == "AVAILABLE" {
		e.Status = "" // the seed's default
	}
	for _, sr := range inv.ServiceRoles {
		e.ServiceRoles = appendServiceRole(e.ServiceRoles, sr)
	}
	if !inv.ExpiresAt.IsZero() {
		left := inv.ExpiresAt.Sub(r.now)
		if left <= 0 {
			e.Expired = true
		} else {
			e.ExpiresInDays = min(max(int(math.Ceil(left.Hours()/24)), 1), 90)
		}
	}
	if len(e.Groups) > 15 {
		e.Groups = e.Groups[:15]
		r.leave("groups past the 15 an invitation may carry")
	}
	if e.Status == "" && !e.Expired {
		k := asciiLower(e.Username)
		if r.pending[k] {
			r.leave("second pending invitations for one email (the emulator holds one)")
			return emulator.SeedCSP{}, false
		}
		r.pending[k] = true
	}
	return e, true
}

func appendServiceRole(list []emulator.SeedServiceRole, sr providers.ServiceRole) []emulator.SeedServiceRole {
	for i := range list {
		if list[i].ServiceDefinitionLink == sr.Link {
			list[i].Roles = append(list[i].Roles, sr.Role)
			return list
		}
	}
	return append(list, emulator.SeedServiceRole{ServiceDefinitionLink: sr.Link, Roles: []string{sr.Role}})
}

// asciiLower folds ASCII letters only: Unicode folding would merge
// look-alike addresses (the Kelvin sign and k) that are different people.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
