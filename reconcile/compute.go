package reconcile

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/sources"
)

// PlanVersion is the version of the Plan format this build writes and reads.
const PlanVersion = 2

// DefaultMaxRevoke is the revoke guard when Options.MaxRevoke is empty.
const DefaultMaxRevoke = "10%"

// Options steer Compute. The zero value plans under policy sync with no
// ownership information (nothing is owned, so nothing is revoked).
type Options struct {
	Policy Policy // "" = sync
	// Owner is the principal the tool runs as (providers.Provider.WhoAmI);
	// invitations whose CreatorID equals it are ours. "" = unknown.
	Owner string
	// Ledger lists invitations this tool created (ownership where the
	// upstream has no creator, or the principal changed). nil = none.
	Ledger *Ledger
	// RevokeUnmanaged also revokes pending invitations that are not ours.
	RevokeUnmanaged bool
	// RefreshBefore reinvites pending invitations that expire within it (0 = off).
	RefreshBefore time.Duration
	// MaxRevoke is "N" or "N%" of the current pending invitations ("" = 10%);
	// the limit is never below 1.
	MaxRevoke    string
	Capabilities providers.Capabilities
	// Now is the planning time (expiry decisions, Plan.CreatedAt); zero = time.Now().
	Now time.Time

	RosterFile   string
	RosterRows   int // 0 = len(members)
	RosterDigest string
	Provider     string
	Organization string
}

// GuardError is returned by Compute when the plan would revoke more
// invitations than Options.MaxRevoke allows. Compute returns the plan with
// it so the refusal can be reported; nothing may be applied.
type GuardError struct {
	Revokes   int    // removals the plan would run
	Limit     int    // what the setting allows
	Pending   int    // what the percentage is of
	MaxRevoke string // the setting, as given
	// Flag, Noun and Base name the guard: "" = --max-revoke over pending
	// invitations; also --max-revoke over roles held, --max-remove over members.
	Flag, Noun, Base string
}

func (e *GuardError) Error() string {
	if e.Flag == "" {
		return fmt.Sprintf("the plan would revoke %d pending invitations (reinvites revoke first), over --max-revoke %s (limit %d of %d pending); check the roster, or raise --max-revoke if this is intended",
			e.Revokes, e.MaxRevoke, e.Limit, e.Pending)
	}
	return fmt.Sprintf("the plan would remove %d %s, over %s %s (limit %d of %d %s); check the roster, or raise %s if this is intended",
		e.Revokes, e.Noun, e.Flag, e.MaxRevoke, e.Limit, e.Pending, e.Base, e.Flag)
}

// RevokeLimit is a parsed --max-revoke value.
type RevokeLimit struct {
	N       int
	Percent bool // N is a percentage of the current pending invitations
}

// ParseMaxRevoke parses "N" or "N%" ("" = DefaultMaxRevoke).
func ParseMaxRevoke(s string) (RevokeLimit, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		s = DefaultMaxRevoke
	}
	num, pct := strings.CutSuffix(s, "%")
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || n < 0 {
		return RevokeLimit{}, fmt.Errorf("--max-revoke %q: want a count N or a percentage N%% (e.g. 5 or 10%%)", s)
	}
	if pct && n > 100 {
		return RevokeLimit{}, fmt.Errorf("--max-revoke %q: a percentage must be 0..100", s)
	}
	return RevokeLimit{N: n, Percent: pct}, nil
}

// Of returns how many revokes the limit allows with pending current pending
// invitations. Percentages round down; the result is at least 1 so a single
// leaver in a small org is never refused.
func (l RevokeLimit) Of(pending int) int {
	n := l.N
	if l.Percent {
		n = l.N * pending / 100
	}
	return max(n, 1)
}

// Compute diffs the desired members against the current invitations (the
// diff table in the README, "How the plan is decided") and returns the plan, its actions sorted by email
// key then op. It does no I/O and, for the same inputs and Options.Now, always
// returns the same plan.
//
// Members that break the provider's limits give a sources.Problems error and
// no plan. A plan over the revoke guard gives the plan AND a *GuardError.
// Actions point into members and current: do not modify those afterwards.
func Compute(members []sources.Member, current []providers.Invitation, opts Options) (*Plan, error) {
	policy := opts.Policy
	switch policy {
	case "":
		policy = PolicySync
	case PolicySync, PolicyCreateOnly:
	default:
		return nil, fmt.Errorf("--policy %q: want sync or create-only", policy)
	}
	limit, err := ParseMaxRevoke(opts.MaxRevoke)
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	c := &computer{opts: opts, policy: policy, now: now.UTC()}

	var problems sources.Problems
	for i := range members {
		problems = appendLimitProblems(problems, &members[i], opts.Capabilities)
	}

	// Join members and invitations by email key with one sort (no map: at a
	// million rows a map's cache misses cost more than sorting compact
	// entries whose first 16 key bytes sit inline).
	j := &joiner{memberKeys: make([]string, len(members)), invKeys: make([]string, len(current))}
	for i := range current {
		j.invKeys[i] = sources.Key(current[i].Email)
	}
	// The fingerprint needs nothing from the plan: take it on another core.
	fingerprint := make(chan string, 1)
	go func() { fingerprint <- fingerprintKeyed(j.invKeys, current) }()

	entries := make([]keyed, 0, len(members)+len(current))
	for i := range members {
		j.memberKeys[i] = sources.Key(members[i].Email)
		entries = append(entries, newKeyed(j.memberKeys[i], int32(i), true))
	}
	for i := range current {
		entries = append(entries, newKeyed(j.invKeys[i], int32(i), false))
	}
	entries = radixSort(entries)

	c.actions = make([]Action, 0, len(members)+len(current)/8)
	pending := 0
	var invs []*providers.Invitation
	for lo, hi := 0, 0; lo < len(entries); lo = hi {
		// A run of equal prefixes is put in full-key order (stable: members
		// first, then by input order) and split into one group per key.
		for hi = lo + 1; hi < len(entries) && entries[hi].pfx == entries[lo].pfx; hi++ {
		}
		run := entries[lo:hi]
		if j.sameKey(run) {
			// The common run: a member and its own invitation(s). radixSort is
			// stable and members went in first, so it is already in order.
			pending += c.group(members, current, run, &invs, &problems)
			continue
		}
		slices.SortStableFunc(run, func(a, b keyed) int { return strings.Compare(j.key(a), j.key(b)) })
		for g, h := 0, 0; g < len(run); g = h {
			for h = g + 1; h < len(run) && j.key(run[h]) == j.key(run[g]); h++ {
			}
			pending += c.group(members, current, run[g:h], &invs, &problems)
		}
	}
	if len(problems) > 0 {
		sortProblems(problems)
		return nil, problems
	}
	rows := opts.RosterRows
	if rows == 0 {
		rows = len(members)
	}
	plan := &Plan{
		Version:      PlanVersion,
		Provider:     opts.Provider,
		Organization: opts.Organization,
		CreatedAt:    c.now,
		Policy:       policy,
		RosterFile:   opts.RosterFile,
		RosterRows:   rows,
		RosterDigest: opts.RosterDigest,
		Fingerprint:  <-fingerprint,
		Actions:      c.actions,
	}
	revokes := Revokes(plan.Actions)
	if allowed := limit.Of(pending); revokes > allowed {
		ms := opts.MaxRevoke
		if strings.TrimSpace(ms) == "" {
			ms = DefaultMaxRevoke
		}
		return plan, &GuardError{Revokes: revokes, Limit: allowed, Pending: pending, MaxRevoke: ms}
	}
	return plan, nil
}

// Revokes counts the pending invitations the actions would revoke: revokes,
// and reinvites of a pending invitation (a reinvite revokes first, so a
// roster change of every auth type is as destructive as a mass revoke).
func Revokes(actions []Action) int {
	n := 0
	for _, a := range actions {
		if a.Status != StatusPlanned {
			continue
		}
		if a.Op == OpRevoke || a.Op == OpReinvite && a.Current != nil && a.Current.Status == providers.StatusPending {
			n++
		}
	}
	return n
}

// joiner holds the keys of members and invitations; entries refer to them
// by index so that the entries stay small (24 bytes) to sort.
type joiner struct {
	memberKeys, invKeys []string
}

// keyed is one member or invitation under its email key, for the join.
// pfx holds the key's first 16 bytes big-endian (zero-padded, so their
// order is the keys' byte order) and decides almost every comparison.
type keyed struct {
	pfx    [2]uint64
	idx    int32
	member bool
}

func newKeyed(key string, idx int32, member bool) keyed {
	var b [16]byte
	copy(b[:], key)
	return keyed{idx: idx, member: member,
		pfx: [2]uint64{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}}
}

// sameKey reports whether every entry of run has one full key.
func (j *joiner) sameKey(run []keyed) bool {
	k := j.key(run[0])
	for _, e := range run[1:] {
		if j.key(e) != k {
			return false
		}
	}
	return true
}

func (j *joiner) key(e keyed) string {
	if e.member {
		return j.memberKeys[e.idx]
	}
	return j.invKeys[e.idx]
}

// radixSort sorts entries by pfx with a stable LSD radix sort on bytes,
// skipping the bytes every key shares. At a million rows this is several
// times faster than a comparison sort calling a function per comparison.
func radixSort(a []keyed) []keyed {
	if len(a) < 2 {
		return a
	}
	tmp := make([]keyed, len(a))
	for pass := range 16 {
		word, shift := 1-pass/8, uint(8*(pass%8))
		var count [256]int
		for i := range a {
			count[byte(a[i].pfx[word]>>shift)]++
		}
		if count[byte(a[0].pfx[word]>>shift)] == len(a) {
			continue // all alike in this byte
		}
		pos := 0
		for d, n := range count {
			count[d] = pos
			pos += n
		}
		for i := range a {
			d := byte(a[i].pfx[word] >> shift)
			tmp[count[d]] = a[i]
			count[d]++
		}
		a, tmp = tmp, a
	}
	return a
}

// group plans one email key: its entries (members first) are collected, a
// second member is a duplicate problem. It returns how many of the key's
// invitations are pending (the guard's base).
func (c *computer) group(members []sources.Member, current []providers.Invitation, es []keyed, invs *[]*providers.Invitation, problems *sources.Problems) int {
	var m *sources.Member
	*invs = (*invs)[:0]
	pending := 0
	for _, e := range es {
		switch {
		case !e.member:
			inv := &current[e.idx]
			if listedAgain(*invs, inv) {
				// Page overlap: the same invitation twice must never make the
				// plan revoke "the older duplicate", which is the one it keeps.
				continue
			}
			*invs = append(*invs, inv)
			if effectiveStatus(inv, c.now) == providers.StatusPending {
				pending++
			}
		case m == nil:
			m = &members[e.idx]
		default: // members sort before invitations, by row: m is the first
			*problems = append(*problems, duplicateProblem(&members[e.idx], m))
		}
	}
	if len(*problems) > 0 {
		return pending // report every problem; plan nothing
	}
	start := len(c.actions)
	c.decide(m, *invs)
	if len(c.actions)-start > 1 {
		slices.SortStableFunc(c.actions[start:], byOpThenID)
	}
	return pending
}

// listedAgain reports whether inv's id is already among invs.
func listedAgain(invs []*providers.Invitation, inv *providers.Invitation) bool {
	if inv.ID == "" {
		return false
	}
	for _, o := range invs {
		if o.ID == inv.ID {
			return true
		}
	}
	return false
}

// opRank orders one email's actions: what is done to the person, then
// cleanups, then what is left.
var opRank = map[Op]int{OpCreate: 0, OpReinvite: 1, OpRevoke: 2, OpGrant: 3, OpUngrant: 4, OpRemoveMember: 5, OpLeave: 6}

func byOpThenID(a, b Action) int {
	return cmp.Or(cmp.Compare(opRank[a.Op], opRank[b.Op]), cmp.Compare(a.InvitationID, b.InvitationID))
}

type computer struct {
	opts    Options
	policy  Policy
	now     time.Time
	actions []Action
	g       grouped // decide's scratch space
}

// effectiveStatus is the invitation's status as the upstream reports it.
// Our clock is never set against the upstream's: an invitation the upstream
// still calls pending is pending, whatever its expiry says by our clock
// (otherwise a skewed clock re-creates it on every run, never converging).
// Providers whose API has no expired status map expiry themselves.
func effectiveStatus(inv *providers.Invitation, _ time.Time) providers.Status {
	return inv.Status
}

// grouped are one email's invitations by effective status, newest first.
type grouped struct {
	accepted, unknown, pending, ended []*providers.Invitation
}

func classify(invs []*providers.Invitation, now time.Time) grouped {
	var g grouped
	g.classify(invs, now)
	return g
}

// classify fills g, reusing its slices (one grouped serves a whole plan).
func (g *grouped) classify(invs []*providers.Invitation, now time.Time) {
	g.accepted, g.unknown, g.pending, g.ended = g.accepted[:0], g.unknown[:0], g.pending[:0], g.ended[:0]
	for _, inv := range invs {
		switch effectiveStatus(inv, now) {
		case providers.StatusAccepted:
			g.accepted = append(g.accepted, inv)
		case providers.StatusPending:
			g.pending = append(g.pending, inv)
		case providers.StatusExpired, providers.StatusRevoked:
			g.ended = append(g.ended, inv)
		default:
			g.unknown = append(g.unknown, inv)
		}
	}
	for _, s := range [][]*providers.Invitation{g.accepted, g.unknown, g.pending, g.ended} {
		if len(s) > 1 {
			slices.SortFunc(s, newer)
		}
	}
}

// main is the invitation the plan acts on (or leaves) for a roster member, by
// precedence accepted > unknown > pending > expired/revoked; nil when none.
func (g grouped) main() *providers.Invitation {
	for _, s := range [][]*providers.Invitation{g.accepted, g.unknown, g.pending, g.ended} {
		if len(s) > 0 {
			return s[0]
		}
	}
	return nil
}

// newer orders invitations newest first (created, then id, for determinism).
func newer(a, b *providers.Invitation) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return cmp.Compare(b.ID, a.ID)
}

func (c *computer) owned(inv *providers.Invitation) (bool, string) {
	if c.opts.Owner != "" && inv.CreatorID == c.opts.Owner {
		return true, "created by this tool"
	}
	if c.opts.Ledger.Owns(*inv) {
		return true, "created by this tool (ledger)"
	}
	return false, ""
}

func (c *computer) add(a Action) { c.actions = append(c.actions, a) }

// decide appends the actions for one email: m is the roster member (nil when
// absent), invs its current invitations (any order).
func (c *computer) decide(m *sources.Member, invs []*providers.Invitation) {
	c.g.classify(invs, c.now)
	g := &c.g
	accepted, unknown, pending, ended := g.accepted, g.unknown, g.pending, g.ended
	var email string
	if m != nil {
		email = m.Email
	} else {
		email = g.main().Email // not invs[0]: that depends on the upstream's order
	}
	absent := ""
	if m == nil {
		absent = "not in roster; "
	}

	// Precedence: accepted > unknown > pending > expired/revoked > none.
	switch {
	case len(accepted) > 0:
		inv := accepted[0]
		reason := absent + "accepted" + onDate(inv.AcceptedAt)
		if m == nil {
			reason += " (invitesync never removes members)"
		} else if len(c.differences(m, inv)) > 0 {
			reason += "; attribute changes are not applied to accepted members"
		}
		c.add(Action{Op: OpLeave, Email: email, Reason: reason, InvitationID: inv.ID, Status: StatusPlanned, Member: m, Current: inv})

	case len(unknown) > 0:
		inv := unknown[0]
		c.add(Action{Op: OpLeave, Email: email, Status: StatusPlanned, InvitationID: inv.ID, Member: m, Current: inv,
			Reason: absent + "status " + rawOr(inv) + " is unknown to invitesync; left alone"})

	case len(pending) > 0 && m != nil:
		c.presentPending(m, pending)

	case len(pending) > 0:
		c.absentPending(pending)

	case len(ended) > 0 && m != nil:
		inv := ended[0]
		c.add(Action{Op: OpReinvite, Email: email, Reason: endedReason(inv, c.now), InvitationID: inv.ID, Status: StatusPlanned, Member: m, Current: inv})

	case len(ended) > 0:
		inv := ended[0]
		c.add(Action{Op: OpLeave, Email: email, Reason: absent + endedReason(inv, c.now), InvitationID: inv.ID, Status: StatusPlanned, Current: inv})

	default: // in the roster, never invited
		c.add(Action{Op: OpCreate, Email: email, Reason: "in roster; not invited yet", Status: StatusPlanned, Member: m})
	}
}

// presentPending compares the newest pending invitation with the member;
// older pending ones of ours are duplicates, revoked under sync.
func (c *computer) presentPending(m *sources.Member, pending []*providers.Invitation) {
	inv := pending[0]
	var why []string
	if c.opts.RefreshBefore > 0 && !inv.ExpiresAt.IsZero() && inv.ExpiresAt.Sub(c.now) < c.opts.RefreshBefore {
		why = append(why, fmt.Sprintf("pending invitation expires on %s, within --refresh-before %s", day(inv.ExpiresAt), formatDuration(c.opts.RefreshBefore)))
	}
	why = append(why, c.differences(m, inv)...)
	switch {
	case len(why) == 0:
		c.add(Action{Op: OpLeave, Email: m.Email, Reason: "pending invitation matches the roster", InvitationID: inv.ID, Status: StatusPlanned, Member: m, Current: inv})
	case c.policy == PolicyCreateOnly:
		// A reinvite of a pending invitation revokes it first.
		c.add(Action{Op: OpLeave, Email: m.Email, InvitationID: inv.ID, Status: StatusPlanned, Member: m, Current: inv,
			Reason: strings.Join(why, "; ") + "; not reinvited: --policy create-only never revokes"})
	default:
		a := Action{Op: OpReinvite, Email: m.Email, Reason: strings.Join(why, "; "), InvitationID: inv.ID, Status: StatusPlanned, Member: m, Current: inv}
		c.unsupportedRevoke(&a)
		c.add(a)
	}
	for _, old := range pending[1:] {
		if ok, _ := c.owned(old); !ok || c.policy != PolicySync {
			continue // not ours to clean up; the newest one is what counts
		}
		a := Action{Op: OpRevoke, Email: old.Email, InvitationID: old.ID, Status: StatusPlanned, Current: old,
			Reason: fmt.Sprintf("older duplicate pending invitation created by this tool; the newest one (%s) is kept", orNone(inv.ID))}
		c.unsupportedRevoke(&a)
		c.add(a)
	}
}

// absentPending handles the pending invitations of someone not in the roster.
func (c *computer) absentPending(pending []*providers.Invitation) {
	slices.SortFunc(pending, func(a, b *providers.Invitation) int { return cmp.Compare(a.ID, b.ID) })
	for _, inv := range pending {
		a := Action{Email: inv.Email, InvitationID: inv.ID, Status: StatusPlanned, Current: inv}
		owned, by := c.owned(inv)
		switch {
		case owned && c.policy == PolicySync:
			a.Op, a.Reason = OpRevoke, "not in roster; "+by
		case owned:
			a.Op, a.Reason = OpLeave, "not in roster; "+by+"; not revoked: --policy create-only never revokes"
		case c.opts.RevokeUnmanaged && c.policy == PolicySync:
			a.Op, a.Reason = OpRevoke, "not in roster; not created by this tool; revoked because of --revoke-unmanaged"
		default:
			a.Op, a.Unmanaged, a.Reason = OpLeave, true, "not in roster; not created by this tool (unmanaged)"
		}
		c.unsupportedRevoke(&a)
		c.add(a)
	}
}

// unsupportedRevoke marks an action that needs a revoke the provider cannot do.
func (c *computer) unsupportedRevoke(a *Action) {
	needs := a.Op == OpRevoke || (a.Op == OpReinvite && a.Current != nil && effectiveStatus(a.Current, c.now) == providers.StatusPending)
	if !needs || c.opts.Capabilities.Revoke {
		return
	}
	a.Status = StatusUnsupported
	hint := c.opts.Capabilities.RevokeHint
	if hint == "" {
		hint = "the provider cannot revoke invitations"
	}
	a.Reason += "; unsupported: " + hint
}

// differences lists, in words, the compared attributes where the member and
// the invitation differ. Only attributes the provider sets are compared; an
// empty member auth type or org role list means the upstream default and is
// not compared.
// Expiry is a create-time setting, never compared.
func (c *computer) differences(m *sources.Member, inv *providers.Invitation) []string {
	caps := c.opts.Capabilities
	var out []string
	if caps.AuthType && m.AuthType != "" && !strings.EqualFold(m.AuthType, inv.AuthType) {
		out = append(out, "auth type differs: "+orNone(inv.AuthType)+" -> "+strings.ToUpper(m.AuthType))
	}
	// No org roles in the roster means the upstream's default (CSP sends
	// org_member), as an empty auth type does: not compared.
	if caps.OrgRoles && len(m.OrgRoles) > 0 {
		if d := setDiff(m.OrgRoles, inv.OrgRoles); d != "" {
			out = append(out, "org roles differ: "+d)
		}
	}
	if caps.ServiceRoles {
		want := make([]string, len(m.ServiceRoles))
		for i, r := range m.ServiceRoles {
			want[i] = r.Link + "=" + r.Role
		}
		have := make([]string, len(inv.ServiceRoles))
		for i, r := range inv.ServiceRoles {
			have[i] = r.Link + "=" + r.Role
		}
		if d := setDiff(want, have); d != "" {
			out = append(out, "service roles differ: "+d)
		}
	}
	if caps.Groups {
		if d := setDiff(m.Groups, inv.Groups); d != "" {
			out = append(out, "groups differ: "+d)
		}
	}
	return out
}

// setDiff compares two lists as sets: "" when equal, else "+added -removed"
// (wanted minus have, then have minus wanted, each sorted).
func setDiff(want, have []string) string {
	w := setOf(want)
	h := setOf(have)
	var parts []string
	for _, s := range w {
		if _, ok := slices.BinarySearch(h, s); !ok {
			parts = append(parts, "+"+s)
		}
	}
	for _, s := range h {
		if _, ok := slices.BinarySearch(w, s); !ok {
			parts = append(parts, "-"+s)
		}
	}
	return strings.Join(parts, " ")
}

func setOf(s []string) []string {
	out := make([]string, 0, len(s))
	for _, v := range s {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func endedReason(inv *providers.Invitation, now time.Time) string {
	if effectiveStatus(inv, now) == providers.StatusRevoked {
		return "invitation was revoked (" + rawOr(inv) + ")"
	}
	if !inv.ExpiresAt.IsZero() {
		return "pending invitation expired on " + day(inv.ExpiresAt)
	}
	return "invitation expired (" + rawOr(inv) + ")"
}

func onDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return " on " + day(t)
}

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

func rawOr(inv *providers.Invitation) string {
	if inv.RawStatus != "" {
		return inv.RawStatus
	}
	return string(inv.Status)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// formatDuration writes whole days as "Nd" (how --refresh-before is usually given).
func formatDuration(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}
