package reconcile

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/sources"
)

// Fingerprint is a digest of the invitations a plan was computed from,
// independent of the order the upstream listed them in: the sum (in four
// 64-bit lanes) of each invitation's sha256, with the count, hashed again.
// A sum needs no sort and takes one sequential pass; it detects drift, it is
// not meant to resist forgery.
func Fingerprint(current []providers.Invitation) string {
	keys := make([]string, len(current))
	for i := range current {
		keys[i] = sources.Key(current[i].Email)
	}
	return fingerprintKeyed(keys, current)
}

// fingerprintKeyed is Fingerprint with each invitation's email key given.
func fingerprintKeyed(keys []string, current []providers.Invitation) string {
	fp := newFingerprinter()
	for i := range current {
		fp.add(keys[i], &current[i])
	}
	return fp.sum()
}

// fingerprinter accumulates Fingerprint one invitation at a time.
type fingerprinter struct {
	lanes   [4]uint64
	n       uint64
	buf     []byte
	scratch []string
}

func newFingerprinter() *fingerprinter { return &fingerprinter{} }

func (f *fingerprinter) add(key string, inv *providers.Invitation) {
	f.buf, f.scratch = appendInvitation(f.buf[:0], f.scratch, key, inv)
	d := sha256.Sum256(f.buf)
	for i := range f.lanes {
		f.lanes[i] += binary.BigEndian.Uint64(d[8*i:])
	}
	f.n++
}

func (f *fingerprinter) sum() string {
	var b [40]byte
	binary.BigEndian.PutUint64(b[:8], f.n)
	for i, l := range f.lanes {
		binary.BigEndian.PutUint64(b[8+8*i:], l)
	}
	d := sha256.Sum256(b[:])
	return "sha256:" + hex.EncodeToString(d[:])
}

// appendInvitation encodes the fields that make an invitation what it is
// for a plan: id, email key, status and the compared attributes. Fields are
// length-prefixed so no two invitations encode the same. scratch is reused
// for sorting lists.
func appendInvitation(buf []byte, scratch []string, key string, inv *providers.Invitation) ([]byte, []string) {
	field := func(s string) {
		buf = strconv.AppendInt(buf, int64(len(s)), 10)
		buf = append(buf, ':')
		buf = append(buf, s...)
	}
	list := func(s []string) {
		scratch = append(scratch[:0], s...)
		slices.Sort(scratch)
		scratch = slices.Compact(scratch)
		buf = append(buf, '[')
		buf = strconv.AppendInt(buf, int64(len(scratch)), 10)
		for _, v := range scratch {
			field(v)
		}
	}
	field(inv.ID)
	field(key)
	field(string(inv.Status))
	field(inv.RawStatus)
	field(inv.AuthType)
	list(inv.OrgRoles)
	list(inv.Groups)
	scratch = scratch[:0]
	for _, r := range inv.ServiceRoles {
		scratch = append(scratch, r.Link+"="+r.Role)
	}
	list(scratch)
	field(inv.CreatorID)
	if !inv.ExpiresAt.IsZero() {
		buf = binary.BigEndian.AppendUint64(buf, uint64(inv.ExpiresAt.UnixNano()))
	}
	return buf, scratch
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
