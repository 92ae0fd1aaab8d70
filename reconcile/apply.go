package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/sources"
)

// DefaultConcurrency (0) lets the provider's client decide how many
// requests are in flight: as many as the rate limit and the observed
// latency need (in flight = rate x RTT), within providers.MaxConcurrency.
const DefaultConcurrency = 0

// DefaultGrace is how long in-flight calls may run on after Apply's context
// is cancelled.
const DefaultGrace = 30 * time.Second

// DefaultMaxUnanswered is how many actions in a row may end with no answer
// from the upstream before Apply starts no more (ApplyOptions.MaxUnanswered).
const DefaultMaxUnanswered = 3

// OutcomeUnknown begins the error of a failed action whose request may have
// taken effect upstream although no answer said so (a write that timed out,
// was cut off or got a 500, and could not be checked by reading back).
const OutcomeUnknown = "outcome unknown"

// ApplyOptions steer Apply.
type ApplyOptions struct {
	// Concurrency bounds the actions in flight (0 = providers.MaxConcurrency,
	// gated by the client's adaptive in-flight limit). The
	// provider's own limiter paces the requests; this only bounds waiting workers.
	Concurrency int
	// Ledger records every successful create (written through before the
	// action counts as done). nil = no ledger.
	Ledger *Ledger
	// Logger gets one info line per finished action (never secrets).
	Logger zerolog.Logger
	// OnProgress is called after each action finishes, never concurrently.
	OnProgress func(done, total int)
	// Grace bounds in-flight calls once ctx is cancelled (0 = DefaultGrace):
	// they get a context that is not cancelled with ctx, so a create that is
	// on the wire finishes and is recorded, but that ends after Grace.
	Grace time.Duration
	// Now stamps ledger entries (nil = time.Now).
	Now func() time.Time
	// MaxUnanswered: once this many actions in a row have failed with no
	// answer from the upstream at all (every attempt timed out, was cut off
	// or refused), each after its own retries, the upstream is taken to be
	// gone: no further action starts, and the rest are reported skipped
	// instead of each waiting out its timeouts. 0 = DefaultMaxUnanswered,
	// < 0 = never stop.
	MaxUnanswered int
}

// Apply executes the runnable actions of plan (status planned; create,
// reinvite, revoke) through p and returns every action with its outcome.
//
// Creates with identical attributes share calls of up to MaxBatch people; a
// reinvite revokes the old pending invitation before its create. A failed
// action is recorded (status failed, error, attempts, request id) and the
// rest go on. A failed action whose request may nonetheless have taken
// effect upstream says so: its error begins with OutcomeUnknown. When ctx is
// cancelled no new action starts, in-flight ones finish, the rest are skipped
// and Result.Cancelled is set; when the upstream stops answering
// (MaxUnanswered), likewise, but Cancelled stays false. An action none of
// whose requests was sent is skipped, not failed. The error is only for a
// plan that does not fit p; failed actions are in the Result.
func Apply(ctx context.Context, p providers.Provider, plan *Plan, opts ApplyOptions) (*Result, error) {
	if plan == nil {
		return nil, errors.New("apply: no plan")
	}
	if plan.Provider != "" && plan.Provider != p.Name() {
		return nil, fmt.Errorf("apply: the plan is for provider %s, not %s", plan.Provider, p.Name())
	}
	r := &runner{
		p:    p,
		caps: p.Capabilities(),
		opts: opts,
		plan: plan,
		res: &Result{
			Mode:    "apply",
			Plan:    plan,
			Actions: slices.Clone(plan.Actions),
		},
		userIDs: map[string]string{},
	}
	if r.opts.Concurrency <= 0 {
		// Enough workers for the client's adaptive limit to gate: at 200 ms
		// round trips a fixed 8 caps an apply at 40 requests/s.
		r.opts.Concurrency = providers.MaxConcurrency
	}
	if r.opts.Grace <= 0 {
		r.opts.Grace = DefaultGrace
	}
	if r.opts.Now == nil {
		r.opts.Now = time.Now
	}
	if r.opts.MaxUnanswered == 0 {
		r.opts.MaxUnanswered = DefaultMaxUnanswered
	}
	r.res.StartedAt = r.opts.Now().UTC()
	phases := r.phases()
	for _, ph := range phases {
		for _, u := range ph {
			r.total += len(u.actions)
		}
	}

	// In-flight calls outlive ctx by at most Grace: cancelling mid-request
	// would leave it unknown whether a create landed.
	callCtx, cancelCalls := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelCalls()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(r.opts.Grace, cancelCalls) })
	defer stop()

	// Phases run one after another: invitations (creates before the
	// reinvites that revoke first, so a quota refusal is learnt before any
	// revoke), then access (a grant may need the user id a create just
	// returned), then removals (last: a person's access is settled first).
	for _, units := range phases {
		var g errgroup.Group
		g.SetLimit(r.opts.Concurrency)
		for _, u := range units {
			if r.stopped(ctx, u) {
				continue
			}
			g.Go(func() error {
				if r.stopped(ctx, u) { // while waiting for a slot
					return nil
				}
				r.run(callCtx, u)
				return nil
			})
		}
		_ = g.Wait() // units record their own outcomes
	}
	r.res.FinishedAt = r.opts.Now().UTC()
	r.res.Cancelled = r.cancelled > 0
	return r.res, nil
}

func (r *runner) run(ctx context.Context, u unit) {
	switch u.kind {
	case unitRevoke:
		r.revoke(ctx, u.actions[0])
	case unitCreate:
		r.create(ctx, u.actions)
	case unitAccess:
		r.access(ctx, u.actions[0])
	case unitRemove:
		r.remove(ctx, u.actions[0])
	}
}

// stopped skips u, and says so, when no new action may start: ctx is
// cancelled, or the upstream has stopped answering.
func (r *runner) stopped(ctx context.Context, u unit) bool {
	if ctx.Err() != nil {
		r.skip(u, "not started: the run was cancelled", true)
		return true
	}
	r.mu.Lock()
	gone := r.gone
	r.mu.Unlock()
	if gone {
		r.skip(u, fmt.Sprintf("not started: the upstream stopped answering (%d actions in a row got no answer); nothing was sent for it", r.opts.MaxUnanswered), false)
		return true
	}
	return false
}

type runner struct {
	p     providers.Provider
	caps  providers.Capabilities
	opts  ApplyOptions
	plan  *Plan
	res   *Result
	total int

	// stopRevokes is set once a create was refused for good (402 quota,
	// 403): a reinvite that revokes first would then leave its person with
	// no invitation at all, so no further one starts.
	stopRevokes string
	// userIDs are the user ids creates returned, by email key, for the
	// grants of people invited in this run.
	userIDs map[string]string

	mu         sync.Mutex // the counts below, gone, OnProgress
	done       int
	cancelled  int  // skipped because ctx was cancelled
	unanswered int  // actions in a row that failed with no answer at all
	gone       bool // unanswered reached MaxUnanswered: start nothing more
}

type unitKind int

const (
	unitRevoke unitKind = iota
	unitCreate          // one create call: creates and reinvites sharing attributes
	unitAccess          // one grant or ungrant
	unitRemove          // one member removal
)

// unit is what one worker does: one revoke, one create call (with the
// revokes its reinvites need first), one access change or one removal.
type unit struct {
	kind    unitKind
	actions []int // indexes into res.Actions
}

// phases groups the runnable actions into the phases Apply runs in order.
// Creates and reinvites with identical (supported) attributes are batched up
// to MaxBatch; within a phase units keep plan order of their first action,
// except that pure creates go before units holding a reinvite.
func (r *runner) phases() [][]unit {
	maxBatch := max(r.caps.MaxBatch, 1)
	var inv, access, removal []unit
	open := map[string]int{} // request signature -> index in inv of the unit still filling
	for i, a := range r.res.Actions {
		if a.Status != StatusPlanned {
			continue
		}
		switch a.Op {
		case OpRevoke:
			if a.Current != nil {
				inv = append(inv, unit{kind: unitRevoke, actions: []int{i}})
			}
		case OpCreate, OpReinvite:
			if a.Member == nil {
				continue
			}
			sig := signature(r.request(&a))
			if j, ok := open[sig]; ok && len(inv[j].actions) < maxBatch {
				inv[j].actions = append(inv[j].actions, i)
				continue
			}
			open[sig] = len(inv)
			inv = append(inv, unit{kind: unitCreate, actions: []int{i}})
		case OpGrant, OpUngrant:
			if a.Grant != nil {
				access = append(access, unit{kind: unitAccess, actions: []int{i}})
			}
		case OpRemoveMember:
			if a.User != nil {
				removal = append(removal, unit{kind: unitRemove, actions: []int{i}})
			}
		}
	}
	slices.SortStableFunc(inv, func(a, b unit) int { return cmp.Compare(r.hasReinvite(a), r.hasReinvite(b)) })
	return [][]unit{inv, access, removal}
}

func (r *runner) hasReinvite(u unit) int {
	for _, i := range u.actions {
		if r.res.Actions[i].Op == OpReinvite {
			return 1
		}
	}
	return 0
}

// request is the invite for a's member, with only the attributes the
// provider sets (the others are ignored, as planned).
func (r *runner) request(a *Action) providers.InviteRequest {
	m := a.Member
	req := providers.InviteRequest{Email: m.Email}
	if r.caps.AuthType {
		req.AuthType = strings.ToUpper(m.AuthType)
	}
	if r.caps.OrgRoles {
		req.OrgRoles = setOf(m.OrgRoles)
	}
	if r.caps.ServiceRoles {
		for _, sr := range m.ServiceRoles {
			req.ServiceRoles = append(req.ServiceRoles, providers.ServiceRole{Link: sr.Link, Role: sr.Role})
		}
	}
	if r.caps.Groups {
		req.Groups = setOf(m.Groups)
	}
	if r.caps.Expiry {
		req.ExpiresInDays = m.ExpiresInDays
	}
	return req
}

// signature identifies the attributes of a request: requests with the same
// one may share a call.
func signature(req providers.InviteRequest) string {
	var b strings.Builder
	b.WriteString(req.AuthType)
	for _, list := range [][]string{req.OrgRoles, req.Groups} {
		b.WriteString("|")
		for _, s := range list {
			b.WriteString(strconv.Quote(s))
		}
	}
	b.WriteString("|")
	roles := make([]string, len(req.ServiceRoles))
	for i, sr := range req.ServiceRoles {
		roles[i] = strconv.Quote(sr.Link + "=" + sr.Role)
	}
	slices.Sort(roles)
	b.WriteString(strings.Join(roles, ""))
	b.WriteString("|" + strconv.Itoa(req.ExpiresInDays))
	return b.String()
}

// needsRevoke reports whether a reinvite must first revoke the invitation it
// replaces (a pending one, as planned; expired and revoked ones are left).
func (r *runner) needsRevoke(a *Action) bool {
	return a.Op == OpReinvite && a.Current != nil && effectiveStatus(a.Current, r.plan.CreatedAt) == providers.StatusPending
}

func (r *runner) revoke(ctx context.Context, i int) {
	a := &r.res.Actions[i]
	rr, err := r.p.Revoke(providers.WithAction(ctx, "revoke "+a.Email), *a.Current)
	a.Attempts += rr.Attempts
	a.RequestID = rr.RequestID
	switch {
	case rr.Unknown:
		r.unknown(i, fmt.Errorf("revoke %s: %w", orNone(a.Current.ID), orErr(err, "no read-back could tell")))
	case err != nil:
		r.fail(i, fmt.Errorf("revoke %s: %w", orNone(a.Current.ID), err), true, rr.Attempts)
	default:
		r.finish(i, nil)
	}
}

func (r *runner) create(ctx context.Context, idx []int) {
	var reqs []providers.InviteRequest
	var who []int
	for _, i := range idx {
		a := &r.res.Actions[i]
		if r.needsRevoke(a) {
			if why := r.revokesStopped(); why != "" {
				r.skipOne(i, "not started: "+why)
				continue
			}
			rr, err := r.p.Revoke(providers.WithAction(ctx, "reinvite "+a.Email), *a.Current)
			a.Attempts += rr.Attempts
			a.RequestID = rr.RequestID
			if rr.Unknown {
				r.unknown(i, fmt.Errorf("revoke %s before reinvite: %w", orNone(a.Current.ID), orErr(err, "no read-back could tell")))
				continue
			}
			if err != nil {
				r.fail(i, fmt.Errorf("revoke %s before reinvite: %w", orNone(a.Current.ID), err), true, rr.Attempts)
				continue
			}
		}
		reqs = append(reqs, r.request(a))
		who = append(who, i)
	}
	if len(reqs) == 0 {
		return
	}
	// Intent first: if this process dies with the call on the wire, the next
	// run finds the invitation it made and knows it is ours.
	if r.opts.Ledger != nil {
		for n, i := range who {
			a := &r.res.Actions[i]
			var known []string
			if a.Current != nil && a.Current.ID != "" {
				known = []string{a.Current.ID}
			}
			if err := r.opts.Ledger.RecordIntent(reqs[n].Email, known, r.opts.Now()); err != nil {
				for _, j := range who {
					r.fail(j, fmt.Errorf("create not sent: %w", err), false, 0)
				}
				return
			}
		}
	}
	label := string(r.res.Actions[who[0]].Op) + " " + reqs[0].Email
	if len(reqs) > 1 {
		label += fmt.Sprintf(" and %d more", len(reqs)-1)
	}
	results, err := r.p.Create(providers.WithAction(ctx, label), reqs)
	if len(results) != len(reqs) {
		if err == nil {
			err = fmt.Errorf("the provider answered %d results for %d invitations", len(results), len(reqs))
		}
		for _, i := range who {
			r.fail(i, fmt.Errorf("create: %w", err), false, 0)
		}
		return
	}
	// With a whole-call error (the context ended) the results still tell
	// which people were invited and which were never sent: keep them.
	for n, i := range who {
		a := &r.res.Actions[i]
		cr := results[n]
		a.Attempts += cr.Attempts
		if cr.RequestID != "" {
			a.RequestID = cr.RequestID
		}
		if cr.Unknown {
			r.unknown(i, fmt.Errorf("create: %w", orErr(cr.Err, "no read-back could tell")))
			continue
		}
		if cr.Err != nil {
			if code := providers.StatusCode(cr.Err); code == 402 || code == 403 {
				r.stopRevoking(fmt.Sprintf("a create was refused for good (%d) for %s; no more pending invitations are revoked for reinvites in this run, so nobody is left without one", code, a.Email))
			}
			r.fail(i, fmt.Errorf("create: %w", cr.Err), false, cr.Attempts)
			continue
		}
		var inv providers.Invitation
		if cr.Invitation != nil {
			inv = *cr.Invitation
		}
		a.InvitationID = inv.ID
		if inv.UserID != "" {
			r.mu.Lock()
			r.userIDs[sources.Key(a.Email)] = inv.UserID
			r.mu.Unlock()
		}
		if cr.AlreadyInvited {
			// A pending invitation exists (a retried create that had landed,
			// or one made meanwhile): the person is invited, which was the goal.
			a.Reason += "; already invited upstream"
		} else if r.opts.Ledger != nil && (inv.ID != "" || !inv.CreatedAt.IsZero()) {
			// Without an id or the upstream's creation time the intent stays
			// open: the next run's listing resolves it.
			if err := r.opts.Ledger.RecordInvitation(inv, a.Email, r.opts.Now()); err != nil {
				r.finish(i, fmt.Errorf("invited (%s), but %w", orNone(inv.ID), err))
				continue
			}
		}
		r.finish(i, nil)
	}
}

func (r *runner) revokesStopped() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopRevokes
}

func (r *runner) stopRevoking(why string) {
	r.mu.Lock()
	first := r.stopRevokes == ""
	if first {
		r.stopRevokes = why
	}
	r.mu.Unlock()
	if first {
		r.opts.Logger.Error().Msg(why)
	}
}

// access grants or removes one role.
func (r *runner) access(ctx context.Context, i int) {
	a := &r.res.Actions[i]
	acc, ok := r.p.(providers.Access)
	if !ok {
		r.finish(i, fmt.Errorf("%s: the provider cannot change access", a.Op))
		return
	}
	g := *a.Grant
	if g.UserID == "" {
		r.mu.Lock()
		g.UserID = r.userIDs[sources.Key(g.Email)]
		r.mu.Unlock()
	}
	var (
		wr  providers.WriteResult
		err error
	)
	if a.Op == OpGrant {
		wr, err = acc.GrantRole(providers.WithAction(ctx, "grant "+g.Role+" to "+a.Email), g)
	} else {
		wr, err = acc.UngrantRole(providers.WithAction(ctx, "ungrant "+g.Role+" from "+a.Email), g)
	}
	a.Attempts += wr.Attempts
	a.RequestID = wr.RequestID
	switch {
	case wr.Unknown:
		r.unknown(i, fmt.Errorf("%s %s: %w", a.Op, g.Role, orErr(err, "no read-back could tell")))
		return
	case err != nil:
		r.fail(i, fmt.Errorf("%s %s: %w", a.Op, g.Role, err), true, wr.Attempts)
		return
	}
	if r.opts.Ledger != nil {
		var lerr error
		if a.Op == OpGrant && !wr.NotFound {
			lerr = r.opts.Ledger.RecordGrant(a.Email, g.Role, g.ID, r.opts.Now())
		} else if a.Op == OpUngrant {
			lerr = r.opts.Ledger.RecordUngrant(a.Email, g.Role, r.opts.Now())
		}
		if lerr != nil {
			r.finish(i, fmt.Errorf("%s done, but %w", a.Op, lerr))
			return
		}
	}
	r.finish(i, nil)
}

// remove removes one member from the org.
func (r *runner) remove(ctx context.Context, i int) {
	a := &r.res.Actions[i]
	m, ok := r.p.(providers.Members)
	if !ok || !r.caps.RemoveMembers {
		r.finish(i, errors.New("remove-member: the provider cannot remove members"))
		return
	}
	wr, err := m.RemoveMember(providers.WithAction(ctx, "remove-member "+a.Email), *a.User)
	a.Attempts += wr.Attempts
	a.RequestID = wr.RequestID
	switch {
	case wr.Unknown:
		r.unknown(i, fmt.Errorf("remove %s: %w", a.User.ID, orErr(err, "no read-back could tell")))
	case err != nil:
		r.fail(i, fmt.Errorf("remove %s: %w", a.User.ID, err), true, wr.Attempts)
	default:
		r.finish(i, nil)
	}
}

func orErr(err error, why string) error {
	if err != nil {
		return err
	}
	return errors.New(why)
}

// unknown records an action whose outcome the provider could not learn.
func (r *runner) unknown(i int, err error) {
	a := &r.res.Actions[i]
	a.Status = StatusUnknown
	a.Error = fmt.Sprintf("%s (it may have taken effect upstream; it is not sent again blindly: the next plan shows whether it did): %v", OutcomeUnknown, err)
	r.record(a, true)
	r.count(err)
	r.progress(1, false)
}

func (r *runner) skipOne(i int, why string) {
	a := &r.res.Actions[i]
	a.Status, a.Error = StatusSkipped, why
	r.record(a, false)
	r.progress(1, false)
}

// fail records that a step of action i (its revoke or its create) failed
// after sent attempts, saying how sure it is of what happened:
//   - nothing was sent for the action (the context ended first): skipped;
//   - a request may have taken effect upstream but no answer, and no read-back,
//     said whether: failed, the error beginning with OutcomeUnknown;
//   - otherwise (the upstream refused, answered 429/503 to every attempt, or
//     could not be connected to; or the step was never sent): failed, and
//     known not to have happened.
//
// idempotent is true when the step was a revoke: those are retried after any
// transient failure, so when several attempts were made an earlier one may
// have landed even if the last answer says "not applied".
func (r *runner) fail(i int, err error, idempotent bool, sent int) {
	a := &r.res.Actions[i]
	switch {
	case sent == 0 && isContextError(err) && a.Attempts == 0:
		a.Status, a.Error = StatusSkipped, "not sent: "+err.Error()
		r.record(a, false)
		r.progress(1, true)
		return
	case sent == 0 && isContextError(err):
		// A reinvite whose revoke went through and whose create was never sent.
	case mayHaveApplied(err, idempotent):
		r.unknown(i, err)
		return
	}
	r.finish(i, err)
}

// mayHaveApplied reads the providers' typed error: a write that got no
// answer, was cut off or got a 500 and ran out of attempts (MaybeApplied); a
// retried idempotent write; or the context ending between a write and its
// read-back (no HTTP error left to tell). Providers that verify by reading
// back say Unknown themselves; this covers the rest.
func mayHaveApplied(err error, idempotent bool) bool {
	e, ok := providers.AsError(err)
	switch {
	case !ok:
		return isContextError(err)
	case e.MaybeApplied:
		return true
	case idempotent:
		return e.Retryable && e.Attempts > 1
	}
	return false
}

// unanswered says whether err is an upstream that gave no answer at all,
// after the request's own retries (timeouts, resets, refused connections).
func unanswered(err error) bool {
	e, ok := providers.AsError(err)
	return ok && e.Status == 0 && e.Attempts > 0 && !isContextError(e.Err)
}

func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func (r *runner) finish(i int, err error) {
	a := &r.res.Actions[i]
	if err != nil {
		a.Status = StatusFailed
		a.Error = err.Error()
	} else {
		a.Status = StatusDone
		a.Error = ""
	}
	r.record(a, err != nil)
	r.count(err)
	r.progress(1, false)
}

// count tracks actions in a row that got no answer at all: at
// MaxUnanswered the upstream is taken to be gone and nothing more starts.
func (r *runner) count(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil || !unanswered(err) {
		r.unanswered = 0 // it answered
		return
	}
	r.unanswered++
	if r.opts.MaxUnanswered > 0 && r.unanswered >= r.opts.MaxUnanswered && !r.gone {
		r.gone = true
		r.opts.Logger.Error().Int("unanswered", r.unanswered).
			Msg("the upstream stopped answering: no further action starts; the rest are reported skipped")
	}
}

// record logs a finished action.
func (r *runner) record(a *Action, failed bool) {
	ev := r.opts.Logger.Info()
	if failed {
		ev = r.opts.Logger.Warn()
	}
	if a.Error != "" {
		ev = ev.Str("error", a.Error)
	}
	ev.Str("op", string(a.Op)).Str("email", a.Email).Str("status", string(a.Status)).
		Str("invitation_id", a.InvitationID).Int("attempts", a.Attempts).Str("request_id", a.RequestID).
		Msg("action finished")
}

func (r *runner) skip(u unit, why string, cancelled bool) {
	for _, i := range u.actions {
		r.res.Actions[i].Status = StatusSkipped
		r.res.Actions[i].Error = why
	}
	r.progress(len(u.actions), cancelled)
}

func (r *runner) progress(n int, cancelled bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done += n
	if cancelled {
		r.cancelled += n
	}
	if r.opts.OnProgress != nil {
		r.opts.OnProgress(r.done, r.total)
	}
}
