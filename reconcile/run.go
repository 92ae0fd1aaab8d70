package reconcile

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/sources"
)

// Verdict is how a run ended; the CLI maps it to an exit code.
type Verdict int

const (
	VerdictOK      Verdict = iota // done, nothing left to change
	VerdictPending                // plan: changes pending
	VerdictFailed                 // apply had failed or unknown actions, or the upstream could not be read
	VerdictInvalid                // invalid roster, plan file or options
	VerdictRefused                // a safety guard or the saved-plan check refused
)

// RunConfig is one plan or apply run.
type RunConfig struct {
	Mode     string // "plan" | "apply"
	Provider providers.Provider

	// Roster is the desired roster; with SavedPlan it may be empty (the
	// plan's own roster_file is read), and it must be the reviewed file.
	Roster      string
	ReadOptions sources.ReadOptions
	// SavedPlan is apply --plan's file: re-derived, never trusted.
	SavedPlan string

	Options PlanOptions
	// Explicit names the options the operator gave on this run (flag
	// names: policy, max-revoke, revoke-unmanaged, refresh-before,
	// manage-all-roles, remove-members, offboard, max-remove,
	// allow-key-loss, adopt). With SavedPlan, one stricter than the plan's
	// wins; a looser one is an error.
	Explicit map[string]bool

	Ledger  string // ledger file ("" = none)
	LockDir string // "" = LockDir()
	// AdoptFile lists members (one email a line, # comments) to treat as
	// managed; recorded in the ledger on apply.
	AdoptFile string

	Concurrency int
	Yes         bool
	// Confirm is asked before apply changes anything, unless Yes.
	Confirm func(*Plan) (bool, error)
	// OnPlanned is told the plan apply is about to run (a progress bar's total).
	OnPlanned  func(runnable int)
	OnProgress func(done, total int)
	Logger     zerolog.Logger
	Now        func() time.Time
}

// Outcome is a finished run.
type Outcome struct {
	Verdict Verdict
	// Result is what the reports show; nil when no plan was computed.
	Result *Result
	// Err says why the run did not end OK (nil for OK and Pending).
	Err error
	// Problems are the roster's problems when Verdict is Invalid because
	// of them (each printed on its own line).
	Problems sources.Problems
	// Resolved lists emails whose earlier unknown create the listing settled.
	Resolved []string
}

func fail(v Verdict, err error) *Outcome { return &Outcome{Verdict: v, Err: err} }

// Run is one plan or apply: it reads and validates the roster, asks the
// upstream who and where the tool is, takes the org's lock (apply), reads
// the current state, computes the plan (re-deriving a saved one and
// refusing any difference), holds it to its guards, and in apply asks,
// executes and returns every action's outcome. Every decision is here;
// the caller writes reports and maps the verdict to an exit code.
func Run(ctx context.Context, cfg RunConfig) *Outcome {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	started := cfg.Now().UTC()
	p := cfg.Provider
	caps := p.Capabilities()
	log := cfg.Logger

	// The saved plan, if any, and the options in force.
	opts := cfg.Options
	var saved *Plan
	if cfg.SavedPlan != "" {
		var err error
		if saved, err = LoadPlan(cfg.SavedPlan); err != nil {
			var te *TamperedError
			if errors.As(err, &te) {
				return fail(VerdictRefused, err)
			}
			return fail(VerdictInvalid, err)
		}
		if saved.Provider != p.Name() {
			return fail(VerdictInvalid, fmt.Errorf("the plan is for --provider %s, not %s", saved.Provider, p.Name()))
		}
		if opts, err = mergeOptions(saved.Options, cfg.Options, cfg.Explicit); err != nil {
			return fail(VerdictInvalid, err)
		}
		if cfg.Roster == "" {
			cfg.Roster = saved.RosterFile
		}
	}
	if err := checkOptions(&opts); err != nil {
		return fail(VerdictInvalid, err)
	}

	// The desired state, read and validated before any call.
	members, digest, out := readRoster(cfg.Roster, cfg.ReadOptions)
	if out != nil {
		return out
	}
	if saved != nil && digest != saved.RosterDigest {
		return fail(VerdictRefused, fmt.Errorf("roster %s is not the one the plan was made from (digest %s, the plan says %s): make a new plan and review it", cfg.Roster, digest, saved.RosterDigest))
	}
	if ps := CheckMembers(members, p); len(ps) > 0 {
		return &Outcome{Verdict: VerdictInvalid, Problems: ps, Err: problemsError(ps, cfg.Roster)}
	}
	for _, w := range IgnoredAttributes(members, caps) {
		log.Warn().Str("provider", p.Name()).Msg(w)
	}
	adopted, adoptDigest, err := readAdopt(cfg.AdoptFile)
	if err != nil {
		return fail(VerdictInvalid, err)
	}
	if adoptDigest != "" {
		opts.Adopt = adoptDigest
	}
	if saved != nil && opts.Adopt != saved.Options.Adopt && cfg.Explicit["adopt"] {
		return fail(VerdictRefused, errors.New("--adopt names another list than the plan was made with: make a new plan and review it"))
	}

	// Who and where: the org is the upstream's id, never a host name.
	id, err := p.WhoAmI(ctx)
	if err != nil {
		return fail(VerdictFailed, fmt.Errorf("upstream could not be read: %w", err))
	}
	if id.Org == "" {
		return fail(VerdictFailed, errors.New("upstream could not be read: it did not say which organization these credentials reach"))
	}
	if saved != nil && saved.Organization != id.Org {
		return fail(VerdictRefused, fmt.Errorf("the plan is for organization %s, but these credentials reach %s: refusing to apply it there", saved.Organization, id.Org))
	}

	if cfg.Mode == "apply" {
		// Held from before the upstream is read until the run ends, so two
		// applies never plan from the same state and both act on it.
		dir := cfg.LockDir
		if dir == "" {
			dir = LockDir()
		}
		paths, err := LockPaths(dir, cfg.Ledger, p.Name(), id.Org)
		if err != nil {
			return fail(VerdictFailed, err)
		}
		host, _ := os.Hostname()
		lock, err := AcquireLock(paths, Holder{PID: os.Getpid(), Host: host, StartedAt: started, Provider: p.Name(), Org: id.Org})
		if err != nil {
			var le *LockedError
			if errors.As(err, &le) {
				return fail(VerdictRefused, err)
			}
			return fail(VerdictFailed, err)
		}
		defer lock.Release()
	}
	ledger, err := LoadLedger(cfg.Ledger, p.Name(), id.Org, p.Organization())
	if err != nil {
		return fail(VerdictFailed, err)
	}
	defer ledger.Close()
	if cfg.Mode == "apply" {
		for _, e := range adopted {
			if !ledger.OwnsMember(e) {
				if err := ledger.Adopt(e, cfg.Now()); err != nil {
					return fail(VerdictFailed, err)
				}
			}
		}
	}

	// The current state.
	st, err := readState(ctx, p, caps, id, members, opts, log)
	if err != nil {
		return fail(VerdictFailed, fmt.Errorf("upstream could not be read: %w", err))
	}
	resolved, err := ledger.ResolveIntents(st.invitations, cfg.Mode == "apply", cfg.Now())
	if err != nil {
		return fail(VerdictFailed, err)
	}
	if len(resolved) > 0 {
		log.Info().Strs("emails", resolved).Msg("an earlier create whose outcome was unknown is found upstream: recorded as this tool's")
	}
	if id.Principal == "" && cfg.Ledger == "" {
		log.Warn().Str("provider", p.Name()).Msg("no --ledger and the upstream does not say who created an invitation: none counts as this tool's, so none will be revoked")
	}

	in := planInput{cfg: cfg, members: members, digest: digest, id: id, st: st, ledger: ledger, adopted: adopted, now: cfg.Now()}
	if saved != nil {
		// Re-derive with the plan's own options and time: the same
		// roster, options and upstream must give the same deeds.
		in.now = saved.CreatedAt
		fresh, _, err := in.plan(saved.Options)
		if err != nil {
			return fail(VerdictFailed, err)
		}
		if err := Diff(saved.Actions, fresh.Actions); err != nil {
			res := &Result{Mode: cfg.Mode, Plan: fresh, StartedAt: started, FinishedAt: cfg.Now().UTC(), Actions: fresh.Actions}
			return &Outcome{Verdict: VerdictRefused, Result: res, Err: err, Resolved: resolved}
		}
		in.now = cfg.Now()
	}
	plan, guardErr, err := in.plan(opts)
	if err != nil {
		return fail(VerdictFailed, err)
	}
	res := &Result{Mode: cfg.Mode, Plan: plan, StartedAt: started, Actions: plan.Actions}
	if guardErr != nil {
		res.FinishedAt = cfg.Now().UTC()
		return &Outcome{Verdict: VerdictRefused, Result: res, Err: guardErr, Resolved: resolved}
	}
	log.Info().Int("actions", len(plan.Actions)).Bool("changes", Changes(plan.Actions)).Msg("plan computed")

	if cfg.Mode == "plan" {
		res.FinishedAt = cfg.Now().UTC()
		v := VerdictOK
		if Changes(plan.Actions) {
			v = VerdictPending
		}
		return &Outcome{Verdict: v, Result: res, Resolved: resolved}
	}

	// apply
	if Changes(plan.Actions) && !cfg.Yes {
		if cfg.Confirm == nil {
			return fail(VerdictInvalid, errors.New("apply needs --yes when not run from a terminal"))
		}
		ok, err := cfg.Confirm(plan)
		if err != nil {
			return fail(VerdictFailed, err)
		}
		if !ok {
			return &Outcome{Verdict: VerdictFailed, Result: res, Err: errors.New("not confirmed; nothing applied")}
		}
	}
	if cfg.OnPlanned != nil {
		n := 0
		for _, a := range plan.Actions {
			if a.Status == StatusPlanned && a.Op != OpLeave {
				n++
			}
		}
		cfg.OnPlanned(n)
	}
	applied, err := Apply(ctx, p, plan, ApplyOptions{Concurrency: cfg.Concurrency, Ledger: ledger, Logger: log, OnProgress: cfg.OnProgress, Now: cfg.Now})
	if err != nil {
		return fail(VerdictFailed, err)
	}
	applied.StartedAt = started
	return applyVerdict(applied, resolved)
}

// applyVerdict reads an apply's outcome.
func applyVerdict(res *Result, resolved []string) *Outcome {
	out := &Outcome{Verdict: VerdictOK, Result: res, Resolved: resolved}
	s := Summarize(res.Actions)
	skipped := 0
	for _, a := range res.Actions {
		if a.Status == StatusSkipped && a.Op != OpLeave {
			skipped++
		}
	}
	switch {
	case res.Cancelled:
		out.Verdict, out.Err = VerdictFailed, fmt.Errorf("cancelled: %d actions were not started; run apply again to finish", skipped)
	case s.Failed > 0 || s.Unknown > 0 || skipped > 0:
		var parts []string
		if s.Failed > 0 {
			parts = append(parts, fmt.Sprintf("%d actions failed (see the report)", s.Failed))
		}
		if s.Unknown > 0 {
			parts = append(parts, fmt.Sprintf("%d may have taken effect (outcome unknown; never re-sent blindly)", s.Unknown))
		}
		if skipped > 0 {
			parts = append(parts, fmt.Sprintf("%d were not started (see each one's reason)", skipped))
		}
		out.Verdict, out.Err = VerdictFailed, errors.New(strings.Join(parts, "; ")+": run apply again once the cause is fixed; it converges")
	}
	return out
}

// planInput is everything a plan is computed from.
type planInput struct {
	cfg     RunConfig
	members []sources.Member
	digest  string
	id      providers.Identity
	st      *state
	ledger  *Ledger
	adopted []string
	now     time.Time
}

// plan computes the whole plan (invitations, access, offboarding) under
// opts, and the first guard it breaks, if any.
func (in *planInput) plan(opts PlanOptions) (*Plan, error, error) {
	p := in.cfg.Provider
	caps := p.Capabilities()
	plan, gerr := Compute(in.members, in.st.invitations, Options{
		Policy: opts.Policy, Owner: in.id.Principal, Ledger: in.ledger, RevokeUnmanaged: opts.RevokeUnmanaged,
		RefreshBefore: opts.RefreshBefore, MaxRevoke: opts.MaxRevoke, Capabilities: caps, Now: in.now,
		RosterFile: in.cfg.Roster, RosterRows: len(in.members), RosterDigest: in.digest,
		Provider: p.Name(), Organization: in.id.Org,
	})
	var guard *GuardError
	if gerr != nil && !errors.As(gerr, &guard) {
		return nil, nil, gerr
	}
	plan.Principal = in.id.Principal
	plan.Options = opts
	plan.Sends = Sends(caps)
	acc := AccessInput{Grants: in.st.grants, UserIDs: in.st.userIDs, ManageAllRoles: opts.ManageAllRoles, Ledger: in.ledger,
		BeforeAccept: caps.AccessBeforeAccept}
	var extra []Action
	if in.st.accessRead {
		extra = append(extra, PlanAccess(in.members, plan.Actions, acc)...)
	}
	if opts.RemoveMembers {
		adopted := map[string]bool{}
		for _, e := range in.adopted {
			adopted[sources.Key(e)] = true
		}
		owned := func(u providers.User) bool {
			return adopted[sources.Key(u.Email)] || in.ledger.OwnsMember(u.Email) || in.st.ownedAccepted[sources.Key(u.Email)]
		}
		ob := OffboardInput{Mode: opts.Offboard, Members: in.st.members, Pending: in.st.pending, Identity: in.id,
			Owned: owned, Radius: in.st.radius, AllowKeyLoss: opts.AllowKeyLoss, Caps: caps, Access: acc}
		extra = append(extra, PlanOffboarding(in.members, ob)...)
	}
	if len(extra) > 0 {
		plan.Actions = mergeActions(plan.Actions, extra)
	}
	if guard != nil {
		return plan, guard, nil
	}
	if err := accessGuards(plan, opts, in.st); err != nil {
		return plan, err, nil
	}
	return plan, nil, nil
}

// accessGuards holds access removals to --max-revoke (of the roles held)
// and member removals to --max-remove (of the members).
func accessGuards(plan *Plan, opts PlanOptions, st *state) error {
	limit, err := ParseMaxRevoke(opts.MaxRevoke)
	if err != nil {
		return err
	}
	if n, allowed := Ungrants(plan.Actions), limit.Of(len(st.grants)); n > allowed {
		return &GuardError{Revokes: n, Limit: allowed, Pending: len(st.grants), MaxRevoke: orDefault(opts.MaxRevoke, DefaultMaxRevoke),
			Flag: "--max-revoke", Noun: "roles", Base: "roles held"}
	}
	rl, err := ParseMaxRevoke(orDefault(opts.MaxRemove, DefaultMaxRemove))
	if err != nil {
		return fmt.Errorf("--max-remove: %w", err)
	}
	if n, allowed := Removals(plan.Actions), rl.Of(len(st.members)); n > allowed {
		return &GuardError{Revokes: n, Limit: allowed, Pending: len(st.members), MaxRevoke: orDefault(opts.MaxRemove, DefaultMaxRemove),
			Flag: "--max-remove", Noun: "members", Base: "members"}
	}
	return nil
}

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

// mergeActions merges two lists sorted by email key (a stable merge: the
// invitation actions of a person come before their access actions).
func mergeActions(a, b []Action) []Action {
	slices.SortStableFunc(b, func(x, y Action) int { return strings.Compare(sources.Key(x.Email), sources.Key(y.Email)) })
	out := make([]Action, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		if j == len(b) || i < len(a) && sources.Key(a[i].Email) <= sources.Key(b[j].Email) {
			out = append(out, a[i])
			i++
		} else {
			out = append(out, b[j])
			j++
		}
	}
	return out
}

// state is what the upstream holds now.
type state struct {
	invitations []providers.Invitation
	members     []providers.User
	pending     map[string]bool // email keys with a pending invitation
	// ownedAccepted: email keys with an accepted invitation made by the principal.
	ownedAccepted map[string]bool
	userIDs       map[string]string
	grants        []providers.Grant
	accessRead    bool // grants were read (the roster manages access)
	radius        map[string]providers.Radius
}

// readState lists the invitations, and, as the run needs them, the members,
// the access held and the blast radius of each removal candidate.
func readState(ctx context.Context, p providers.Provider, caps providers.Capabilities, id providers.Identity,
	members []sources.Member, opts PlanOptions, log zerolog.Logger) (*state, error) {
	start := time.Now()
	invs, err := p.List(ctx)
	if err != nil {
		return nil, err
	}
	log.Info().Str("provider", p.Name()).Str("organization", id.Org).Int("invitations", len(invs)).
		Str("took", time.Since(start).Round(time.Millisecond).String()).Msg("listed current invitations")
	st := &state{invitations: invs, pending: map[string]bool{}, ownedAccepted: map[string]bool{}, userIDs: map[string]string{}}
	hasInv := map[string]bool{}
	for i := range invs {
		k := sources.Key(invs[i].Email)
		hasInv[k] = true
		switch invs[i].Status {
		case providers.StatusPending:
			st.pending[k] = true
		case providers.StatusAccepted:
			if id.Principal != "" && invs[i].CreatorID == id.Principal {
				st.ownedAccepted[k] = true
			}
		}
		if invs[i].UserID != "" && invs[i].Status != providers.StatusRevoked && invs[i].Status != providers.StatusExpired {
			st.userIDs[k] = invs[i].UserID
		}
	}
	manageAccess := slices.ContainsFunc(members, func(m sources.Member) bool { return m.Roles != nil })
	stripping := opts.RemoveMembers && opts.Offboard == OffboardStripRoles
	mp, hasMembers := p.(providers.Members)
	if caps.Members && hasMembers {
		if st.members, err = mp.ListMembers(ctx); err != nil {
			return nil, fmt.Errorf("list members: %w", err)
		}
		inRoster := make(map[string]bool, len(members))
		for i := range members {
			inRoster[sources.Key(members[i].Email)] = true
		}
		for _, u := range st.members {
			k := sources.Key(u.Email)
			if u.ID != "" {
				st.userIDs[k] = u.ID
			}
			if !hasInv[k] && inRoster[k] {
				// A roster member who is in the org with no invitation listed
				// (an upstream that drops redeemed invitations, or someone
				// added directly) is in: never invited. Members absent from
				// the roster are offboarding's business, not rows here.
				st.invitations = append(st.invitations, providers.Invitation{Email: u.Email, Status: providers.StatusAccepted,
					RawStatus: "member", CreatedAt: u.CreatedAt, UserID: u.ID, OrgRoles: u.Roles})
			}
		}
	} else if opts.RemoveMembers {
		return nil, fmt.Errorf("--remove-members: the %s provider cannot list members", p.Name())
	}
	if acc, ok := p.(providers.Access); ok && caps.Access && (manageAccess || stripping || opts.RemoveMembers) {
		people := make([]providers.Person, 0, len(st.userIDs))
		for _, inv := range st.invitations {
			if uid, ok := st.userIDs[sources.Key(inv.Email)]; ok {
				people = append(people, providers.Person{Email: inv.Email, UserID: uid})
			}
		}
		for _, u := range st.members {
			if u.ID != "" {
				people = append(people, providers.Person{Email: u.Email, UserID: u.ID})
			}
		}
		people = dedupePeople(people)
		if st.grants, err = acc.ListAccess(ctx, people); err != nil {
			return nil, fmt.Errorf("list access: %w", err)
		}
		st.accessRead = manageAccess
	}
	if opts.RemoveMembers && opts.Offboard != OffboardStripRoles {
		st.radius = map[string]providers.Radius{}
		inRoster := map[string]bool{}
		for i := range members {
			inRoster[sources.Key(members[i].Email)] = true
		}
		for _, u := range st.members {
			k := sources.Key(u.Email)
			if inRoster[k] || st.pending[k] || u.ID == "" {
				continue
			}
			r, err := mp.BlastRadius(ctx, u)
			if err != nil {
				return nil, fmt.Errorf("what goes with removing %s: %w", u.Email, err)
			}
			st.radius[u.ID] = r
		}
	}
	return st, nil
}

func dedupePeople(ps []providers.Person) []providers.Person {
	seen := map[string]bool{}
	out := ps[:0]
	for _, p := range ps {
		k := sources.Key(p.Email)
		if !seen[k] {
			seen[k] = true
			out = append(out, p)
		}
	}
	return out
}

// readRoster reads and validates the roster and its digest, from one
// reading of the bytes' identity: the digest is taken before and after the
// parse, and a file that changed in between is refused.
func readRoster(path string, ro sources.ReadOptions) ([]sources.Member, string, *Outcome) {
	if path == "" {
		return nil, "", fail(VerdictInvalid, errors.New("--roster is required"))
	}
	before, err := FileDigest(path)
	if err != nil {
		return nil, "", fail(VerdictInvalid, err)
	}
	members, err := sources.ReadFile(path, ro)
	if err != nil {
		var ps sources.Problems
		if errors.As(err, &ps) {
			return nil, "", &Outcome{Verdict: VerdictInvalid, Problems: ps, Err: problemsError(ps, path)}
		}
		return nil, "", fail(VerdictInvalid, err)
	}
	after, err := FileDigest(path)
	if err != nil {
		return nil, "", fail(VerdictInvalid, err)
	}
	if after != before {
		return nil, "", fail(VerdictInvalid, fmt.Errorf("roster %s changed while it was read: run again", path))
	}
	return members, before, nil
}

// CheckMembers validates the members against the provider, with no
// upstream call: its limits and the roles it can grant.
func CheckMembers(members []sources.Member, p providers.Provider) sources.Problems {
	caps := p.Capabilities()
	var ps sources.Problems
	if err := ValidateMembers(members, caps); err != nil {
		if !errors.As(err, &ps) {
			return sources.Problems{{Message: err.Error()}}
		}
	}
	acc, ok := p.(providers.Access)
	for i := range members {
		m := &members[i]
		if len(m.Roles) == 0 {
			continue
		}
		if !ok || !caps.Access {
			ps = append(ps, sources.Problem{File: m.Origin.File, Row: m.Origin.Row, Column: "roles",
				Message: fmt.Sprintf("the %s provider cannot manage access; leave the roles column out", p.Name())})
			continue
		}
		for _, r := range m.Roles {
			if err := acc.CheckRole(r); err != nil {
				msg := err.Error()
				if !strings.Contains(msg, r) {
					msg = fmt.Sprintf("role %q: %s", r, msg)
				}
				ps = append(ps, sources.Problem{File: m.Origin.File, Row: m.Origin.Row, Column: "roles", Message: msg})
			}
		}
	}
	if len(ps) > 0 {
		sortProblems(ps)
	}
	return ps
}

func problemsError(ps sources.Problems, path string) error {
	n := ps.Count()
	return fmt.Errorf("%d %s in roster %s", n, plural(n, "problem", "problems"), path)
}

// FileDigest is a file's sha256, as plans record it.
func FileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("digest roster: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("digest roster: %w", err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// readAdopt reads an --adopt file: one email a line, blank lines and #
// comments ignored. It returns the emails and a digest of the sorted keys.
func readAdopt(path string) ([]string, string, error) {
	if path == "" {
		return nil, "", nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("--adopt: %w", err)
	}
	defer f.Close()
	var emails []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.Contains(line, "@") || strings.ContainsAny(line, " \t,;") {
			return nil, "", fmt.Errorf("%s:%d: want one email address a line, got %q", path, n, line)
		}
		emails = append(emails, line)
	}
	if err := sc.Err(); err != nil {
		return nil, "", fmt.Errorf("--adopt %s: %w", path, err)
	}
	keys := make([]string, len(emails))
	for i, e := range emails {
		keys[i] = sources.Key(e)
	}
	slices.Sort(keys)
	sum := sha256.Sum256([]byte(strings.Join(slices.Compact(keys), "\n")))
	return emails, "sha256:" + hex.EncodeToString(sum[:]), nil
}

// VerdictOf is the verdict an error from loading a saved plan maps to.
func VerdictOf(err error) Verdict {
	var te *TamperedError
	if errors.As(err, &te) {
		return VerdictRefused
	}
	return VerdictInvalid
}

// Sends names the roster attributes a provider with caps sets on an invitation.
func Sends(caps providers.Capabilities) []string {
	var out []string
	for _, a := range []struct {
		ok   bool
		name string
	}{{caps.AuthType, "auth_type"}, {caps.OrgRoles, "org_roles"}, {caps.ServiceRoles, "service_roles"}, {caps.Groups, "groups"}, {caps.Expiry, "expires_in_days"}} {
		if a.ok {
			out = append(out, a.name)
		}
	}
	return out
}
