package reconcile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/sources"
)

// Fingerprint is a digest of the invitations a plan was computed from,
// independent of the order the upstream listed them in: each invitation's
// identity and attributes are hashed, the hashes sorted, and those hashed.
// (Sorting fixed-size hashes is much cheaper than sorting a million records.)
func Fingerprint(current []providers.Invitation) string {
	sums := make([][sha256.Size]byte, len(current))
	var buf bytes.Buffer
	for i := range current {
		buf.Reset()
		writeInvitation(&buf, &current[i])
		sums[i] = sha256.Sum256(buf.Bytes())
	}
	slices.SortFunc(sums, func(a, b [sha256.Size]byte) int { return bytes.Compare(a[:], b[:]) })
	h := sha256.New()
	for i := range sums {
		h.Write(sums[i][:])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// writeInvitation writes the fields that make an invitation what it is for a
// plan: id, email key, status and the compared attributes. Fields are
// length-prefixed so no two invitations encode the same.
func writeInvitation(buf *bytes.Buffer, inv *providers.Invitation) {
	field := func(s string) { fmt.Fprintf(buf, "%d:%s;", len(s), s) }
	field(inv.ID)
	field(sources.Key(inv.Email))
	field(string(inv.Status))
	field(inv.RawStatus)
	field(inv.AuthType)
	list := func(s []string) {
		s = setOf(s)
		fmt.Fprintf(buf, "[%d]", len(s))
		for _, v := range s {
			field(v)
		}
	}
	list(inv.OrgRoles)
	roles := make([]string, len(inv.ServiceRoles))
	for i, r := range inv.ServiceRoles {
		roles[i] = r.Link + "=" + r.Role
	}
	list(roles)
	list(inv.Groups)
	field(inv.CreatorID)
	if !inv.ExpiresAt.IsZero() {
		field(inv.ExpiresAt.UTC().Format("2006-01-02T15:04:05.999999999Z"))
	}
}

// StaleError is returned by CheckPlan when invitations a saved plan acts on
// changed since it was computed.
type StaleError struct {
	Emails []string // sorted by key
}

func (e *StaleError) Error() string {
	const show = 10
	list := e.Emails
	more := ""
	if len(list) > show {
		more = fmt.Sprintf(" and %d more", len(list)-show)
		list = list[:show]
	}
	return fmt.Sprintf("the upstream changed since the plan was made, for %s%s: make a new plan and review it", strings.Join(list, ", "), more)
}

// CheckPlan compares what a saved plan will act on with the invitations
// listed now, so that what was reviewed is what runs. For every action that
// would run, the invitation it acts on (Current) must still be there with the
// same status and attributes; and for the person's main action, the
// invitation a fresh plan would pick must be the same one (nil for a create:
// nobody may have invited them meanwhile). It returns a *StaleError naming
// the emails that changed, or nil.
func CheckPlan(plan *Plan, current []providers.Invitation) error {
	byKey := make(map[string][]*providers.Invitation)
	byID := make(map[string]*providers.Invitation, len(current))
	for i := range current {
		inv := &current[i]
		byKey[sources.Key(inv.Email)] = append(byKey[sources.Key(inv.Email)], inv)
		if inv.ID != "" {
			byID[inv.ID] = inv
		}
	}
	now := plan.CreatedAt
	var stale []string
	for i := range plan.Actions {
		a := &plan.Actions[i]
		if a.Op == OpLeave || a.Status != StatusPlanned {
			continue
		}
		k := sources.Key(a.Email)
		ok := true
		if a.Current != nil {
			var relisted *providers.Invitation
			if a.Current.ID != "" {
				relisted = byID[a.Current.ID]
			} else {
				// No id (CSP before its list answered one): the same email, status and attributes.
				for _, inv := range byKey[k] {
					if sameInvitation(inv, a.Current) {
						relisted = inv
						break
					}
				}
			}
			ok = relisted != nil && sameInvitation(relisted, a.Current)
		}
		if ok && a.Op != OpRevoke {
			// The invitation a plan made now would act on must be the planned one.
			ok = samePick(classify(byKey[k], now).main(), a.Current)
		}
		if !ok {
			stale = append(stale, a.Email)
		}
	}
	if len(stale) == 0 {
		return nil
	}
	slices.SortFunc(stale, func(a, b string) int { return strings.Compare(sources.Key(a), sources.Key(b)) })
	return &StaleError{Emails: slices.Compact(stale)}
}

func samePick(a, b *providers.Invitation) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.ID == b.ID && sameInvitation(a, b)
}

// sameInvitation compares what CheckPlan cares about: id, status and attributes.
func sameInvitation(a, b *providers.Invitation) bool {
	if a.ID != b.ID || a.Status != b.Status || a.RawStatus != b.RawStatus || !strings.EqualFold(a.AuthType, b.AuthType) {
		return false
	}
	if sources.Key(a.Email) != sources.Key(b.Email) {
		return false
	}
	if !slices.Equal(setOf(a.OrgRoles), setOf(b.OrgRoles)) || !slices.Equal(setOf(a.Groups), setOf(b.Groups)) {
		return false
	}
	ra := make([]string, len(a.ServiceRoles))
	for i, r := range a.ServiceRoles {
		ra[i] = r.Link + "=" + r.Role
	}
	rb := make([]string, len(b.ServiceRoles))
	for i, r := range b.ServiceRoles {
		rb[i] = r.Link + "=" + r.Role
	}
	return slices.Equal(setOf(ra), setOf(rb))
}
