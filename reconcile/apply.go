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
}

// Apply executes the runnable actions of plan (status planned; create,
// reinvite, revoke) through p and returns every action with its outcome.
//
// Creates with identical attributes share calls of up to MaxBatch people; a
// reinvite revokes the old pending invitation before its create. A failed
// action is recorded (status failed, error, attempts, request id) and the
// rest go on. When ctx is cancelled no new action starts, in-flight ones
// finish, the rest are skipped and Result.Cancelled is set. The error is
// only for a plan that does not fit p; failed actions are in the Result.
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
		if ctx.Err() != nil {
			r.skip(u)
			continue
		}
		g.Go(func() error {
			if ctx.Err() != nil { // cancelled while waiting for a slot
				r.skip(u)
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
	r.res.Cancelled = r.skipped > 0
	return r.res, nil
}

type runner struct {
	p     providers.Provider
	caps  providers.Capabilities
	opts  ApplyOptions
	plan  *Plan
	res   *Result
	total int

	mu      sync.Mutex // done, skipped, OnProgress
	done    int
	skipped int
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
		r.finish(i, fmt.Errorf("revoke %s: %w", orNone(a.Current.ID), err))
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
				r.finish(i, fmt.Errorf("revoke %s before reinvite: %w", orNone(a.Current.ID), err))
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
	if err == nil && len(results) != len(reqs) {
		err = fmt.Errorf("the provider answered %d results for %d invitations", len(results), len(reqs))
	}
	if err != nil {
		for _, i := range who {
			r.finish(i, fmt.Errorf("create: %w", err))
		}
		return
	}
	for n, i := range who {
		a := &r.res.Actions[i]
		cr := results[n]
		a.Attempts += cr.Attempts
		if cr.RequestID != "" {
			a.RequestID = cr.RequestID
		}
		if cr.Err != nil {
			r.finish(i, fmt.Errorf("create: %w", cr.Err))
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

func (r *runner) finish(i int, err error) {
	a := &r.res.Actions[i]
	if err != nil {
		a.Status = StatusFailed
		a.Error = err.Error()
	} else {
		a.Status = StatusDone
		a.Error = ""
	}
	ev := r.opts.Logger.Info()
	if err != nil {
		ev = r.opts.Logger.Warn()
	}
	ev.Str("op", string(a.Op)).Str("email", a.Email).Str("status", string(a.Status)).
		Str("invitation_id", a.InvitationID).Int("attempts", a.Attempts).Str("request_id", a.RequestID).
		Str("error", a.Error).Msg("action finished")
	r.progress(1, false)
}

func (r *runner) skip(u unit) {
	for _, i := range u.actions {
		r.res.Actions[i].Status = StatusSkipped
		r.res.Actions[i].Error = "not started: the run was cancelled"
	}
	r.progress(len(u.actions), true)
}

func (r *runner) progress(n int, skipped bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done += n
	if skipped {
		r.skipped += n
	}
	if r.opts.OnProgress != nil {
		r.opts.OnProgress(r.done, r.total)
	}
}
