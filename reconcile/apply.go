package reconcile

import (
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
)

// DefaultConcurrency is how many actions Apply runs at once by default.
const DefaultConcurrency = 8

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
	// Concurrency bounds the actions in flight (0 = DefaultConcurrency). The
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
	if plan.Organization != "" && plan.Organization != p.Organization() {
		return nil, fmt.Errorf("apply: the plan is for organization %s, not %s", plan.Organization, p.Organization())
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
	}
	if r.opts.Concurrency <= 0 {
		r.opts.Concurrency = DefaultConcurrency
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
	units := r.units()
	for _, u := range units {
		r.total += len(u.actions)
	}

	// In-flight calls outlive ctx by at most Grace: cancelling mid-request
	// would leave it unknown whether a create landed.
	callCtx, cancelCalls := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelCalls()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(r.opts.Grace, cancelCalls) })
	defer stop()

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
			if u.revoke {
				r.revoke(callCtx, u.actions[0])
			} else {
				r.create(callCtx, u.actions)
			}
			return nil
		})
	}
	_ = g.Wait() // units record their own failures
	r.res.FinishedAt = r.opts.Now().UTC()
	r.res.Cancelled = r.cancelled > 0
	return r.res, nil
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

	mu         sync.Mutex // the counts below, gone, OnProgress
	done       int
	cancelled  int  // skipped because ctx was cancelled
	unanswered int  // actions in a row that failed with no answer at all
	gone       bool // unanswered reached MaxUnanswered: start nothing more
}

// unit is what one worker does: one revoke, or one create call (with the
// revokes its reinvites need first).
type unit struct {
	revoke  bool
	actions []int // indexes into res.Actions
}

// units groups the runnable actions. Creates and reinvites with identical
// (supported) attributes are batched up to MaxBatch; units keep plan order
// of their first action.
func (r *runner) units() []unit {
	maxBatch := max(r.caps.MaxBatch, 1)
	var out []unit
	open := map[string]int{} // request signature -> index in out of the unit still filling
	for i, a := range r.res.Actions {
		if a.Status != StatusPlanned {
			continue
		}
		switch a.Op {
		case OpRevoke:
			if a.Current != nil {
				out = append(out, unit{revoke: true, actions: []int{i}})
			}
		case OpCreate, OpReinvite:
			if a.Member == nil {
				continue
			}
			sig := signature(r.request(&a))
			if j, ok := open[sig]; ok && len(out[j].actions) < maxBatch {
				out[j].actions = append(out[j].actions, i)
				continue
			}
			open[sig] = len(out)
			out = append(out, unit{actions: []int{i}})
		}
	}
	return out
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
	if err != nil {
		r.fail(i, fmt.Errorf("revoke %s: %w", orNone(a.Current.ID), err), true, rr.Attempts)
		return
	}
	r.finish(i, nil)
}

func (r *runner) create(ctx context.Context, idx []int) {
	var reqs []providers.InviteRequest
	var who []int
	for _, i := range idx {
		a := &r.res.Actions[i]
		if r.needsRevoke(a) {
			rr, err := r.p.Revoke(providers.WithAction(ctx, "reinvite "+a.Email), *a.Current)
			a.Attempts += rr.Attempts
			a.RequestID = rr.RequestID
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
		if cr.Err != nil {
			r.fail(i, fmt.Errorf("create: %w", cr.Err), false, cr.Attempts)
			continue
		}
		id := ""
		if cr.Invitation != nil {
			id = cr.Invitation.ID
		}
		a.InvitationID = id
		if cr.AlreadyInvited {
			// A pending invitation exists (a retried create that had landed,
			// or one made meanwhile): the person is invited, which was the goal.
			a.Reason += "; already invited upstream"
		} else if r.opts.Ledger != nil {
			if err := r.opts.Ledger.Record(id, a.Email, r.opts.Now()); err != nil {
				r.finish(i, fmt.Errorf("invited (%s), but %w", orNone(id), err))
				continue
			}
		}
		r.finish(i, nil)
	}
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
		err = fmt.Errorf("%s (it may have taken effect upstream; the next plan shows whether it did): %w", OutcomeUnknown, err)
	}
	r.finish(i, err)
}

// mayHaveApplied reads the providers' typed error: a write that got no
// answer, was cut off or got a 500 and ran out of attempts (MaybeApplied); a
// read-back that failed after such a write (the write's outcome was never
// learnt); a retried idempotent write; or the context ending between a write
// and its read-back (no HTTP error left to tell).
func mayHaveApplied(err error, idempotent bool) bool {
	e, ok := providers.AsError(err)
	switch {
	case !ok:
		return isContextError(err)
	case e.MaybeApplied:
		return true
	case isRead(e):
		return true
	case idempotent:
		return e.Retryable && e.Attempts > 1
	}
	return false
}

// isRead says whether e is from a request that reads: a GET, or one of the
// POST list actions of an ARM resource (the Azure access API lists with a POST
// to .../listInvitations). A create's error from a read is its read-back.
func isRead(e *providers.Error) bool {
	if e.Method == "GET" {
		return true
	}
	last := e.Path[strings.LastIndexByte(e.Path, '/')+1:]
	return e.Method == "POST" && strings.HasPrefix(last, "list")
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
	r.mu.Lock()
	switch {
	case err != nil && unanswered(err):
		r.unanswered++
		if r.opts.MaxUnanswered > 0 && r.unanswered >= r.opts.MaxUnanswered && !r.gone {
			r.gone = true
			r.opts.Logger.Error().Int("unanswered", r.unanswered).
				Msg("the upstream stopped answering: no further action starts; the rest are reported skipped")
		}
	default:
		r.unanswered = 0 // it answered
	}
	r.mu.Unlock()
	r.progress(1, false)
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
