// Package preflight is `invitesync check`: a read-only look at a real org
// before the first apply. It asks who the credentials are, lists the
// invitations with every page, judges what came back (statuses, timestamps),
// says what each roster column will do with this provider, and reports the
// rate-limit headers the upstream sent. It never writes upstream.
package preflight

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/reconcile"
	"github.com/invitesync/invitesync/sources"
)

// Status is a check's verdict. Only Fail makes the check command exit 1.
type Status string

const (
	OK   Status = "ok"
	Fail Status = "FAIL"
	Warn Status = "warn"
	Skip Status = "skip" // not run because an earlier check failed
)

// Result is one line of the check's output.
type Result struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
}

func (r Result) String() string { return fmt.Sprintf("%-4s %-12s %s", r.Status, r.Name, r.Detail) }

// Report is what one check run found.
type Report struct {
	Provider     string
	Organization string
	Identity     providers.Identity
	Checks       []Result
	Invitations  []providers.Invitation // nil when the listing failed
	RateHeaders  map[string]string      // last value seen of each rate-limit header
	Responses    int                    // HTTP answers seen
}

// OK reports whether no check failed.
func (r *Report) OK() bool {
	for _, c := range r.Checks {
		if c.Status == Fail {
			return false
		}
	}
	return true
}

// Recorder sees the provider's HTTP answers (providers.Config.OnResponse).
// It keeps statuses and rate-limit headers, never bodies or other headers.
type Recorder struct {
	mu        sync.Mutex
	answers   []answer
	rate      map[string]string
	throttled int // 429s
}

type answer struct {
	method, path string
	status       int
}

// Confluent documents X-RateLimit-* (reset in relative seconds) and
// Retry-After; ARM reports what remains per subscription, globally and per
// tenant in x-ms-ratelimit-remaining-*.
var rateHeaders = []string{"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after",
	"x-ms-ratelimit-remaining-subscription-reads", "x-ms-ratelimit-remaining-subscription-writes",
	"x-ms-ratelimit-remaining-subscription-global-reads", "x-ms-ratelimit-remaining-subscription-global-writes",
	"x-ms-ratelimit-remaining-tenant-reads", "x-ms-ratelimit-remaining-tenant-writes"}

// OnResponse is the providers.Config.OnResponse hook.
func (r *Recorder) OnResponse(method, path string, status int, h http.Header, _ []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answers = append(r.answers, answer{method, path, status})
	if status == http.StatusTooManyRequests {
		r.throttled++
	}
	for _, name := range rateHeaders {
		if v := h.Get(name); v != "" {
			if r.rate == nil {
				r.rate = map[string]string{}
			}
			r.rate[http.CanonicalHeaderKey(name)] = clip(v, 64)
		}
	}
}

func (r *Recorder) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.answers)
}

func (r *Recorder) since(i int) []answer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]answer(nil), r.answers[i:]...)
}

// Options are what one check looks at besides the provider.
type Options struct {
	// Roster, when RosterFile is set, is the roster read and validated by
	// sources; RosterErr is why it could not be read.
	Roster     []sources.Member
	RosterFile string
	RosterErr  error
	// Explain rewrites an upstream error for the user (credential variables).
	Explain func(error) error
	Now     time.Time
}

// Run performs every check in order; a failed credential check skips the
// checks that need an answer.
func Run(ctx context.Context, p providers.Provider, rec *Recorder, opts Options) *Report {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.Explain == nil {
		opts.Explain = func(err error) error { return err }
	}
	if rec == nil {
		rec = &Recorder{}
	}
	rep := &Report{Provider: p.Name(), Organization: p.Organization()}
	add := func(name string, st Status, format string, args ...any) {
		rep.Checks = append(rep.Checks, Result{Name: name, Status: st, Detail: oneLine(fmt.Sprintf(format, args...))})
	}

	id, err := p.WhoAmI(ctx)
	orgErr := err != nil && isOrgRefusal(err) && !isCredentialRefusal(err)
	switch {
	case orgErr:
		// Asking who we are named the org (CSP reads the org): the org is
		// what failed, not necessarily the credentials.
		add("credentials", Warn, "not confirmed: the organization was refused (see organization)")
	case err != nil:
		add("credentials", Fail, "%v", opts.Explain(err))
	case id.Principal == "":
		add("credentials", Warn, "accepted; the upstream does not say who created an invitation: ownership by --ledger only")
	default:
		add("credentials", OK, "accepted; acting as %s", id.Principal)
	}
	rep.Identity = id

	var invs []providers.Invitation
	var listErr error
	if err == nil {
		mark := rec.mark()
		invs, listErr = p.List(ctx)
		pages := 0
		for _, a := range rec.since(mark) {
			if a.status/100 == 2 {
				pages++
			}
		}
		switch {
		case listErr != nil:
			add("listing", Fail, "%v", opts.Explain(listErr))
		default:
			rep.Invitations = invs
			add("listing", OK, "%d invitations in %d %s", len(invs), pages, plural(pages, "answer", "answers"))
		}
	} else {
		add("listing", Skip, "needs accepted credentials")
	}

	switch {
	case orgErr:
		add("organization", Fail, "the organization does not exist or these credentials do not reach it: %v", opts.Explain(err))
	case err != nil:
		add("organization", Skip, "needs accepted credentials")
	case id.Org == "":
		add("organization", Fail, "the upstream named no organization for these credentials")
	case listErr != nil && isOrgRefusal(listErr):
		add("organization", Fail, "%s: the organization does not exist or these credentials do not reach it (HTTP %d)", id.Org, providers.StatusCode(listErr))
	case listErr != nil:
		add("organization", Warn, "%s (named by the upstream; the listing failed, so not confirmed)", id.Org)
	default:
		add("organization", OK, "%s (named by the upstream; --provider %s %s)", id.Org, p.Name(), p.Organization())
	}

	rep.Checks = append(rep.Checks, permission(ctx, p, rec, id, err, listErr))
	if listErr == nil && err == nil {
		rep.Checks = append(rep.Checks, statusCheck(invs), timestampCheck(invs, opts.Now))
	} else {
		add("statuses", Skip, "needs a listing")
		add("timestamps", Skip, "needs a listing")
	}
	rep.Checks = append(rep.Checks, rosterChecks(p, opts)...)
	rep.Checks = append(rep.Checks, rateCheck(rec))
	rep.RateHeaders = rec.rate
	rep.Responses = rec.mark()
	return rep
}

// PermissionChecker is implemented by providers whose API says what the
// credentials may do (a role listing); detail names the roles found.
type PermissionChecker interface {
	CheckPermissions(ctx context.Context) (detail string, err error)
}

func permission(ctx context.Context, p providers.Provider, rec *Recorder, id providers.Identity, whoErr, listErr error) Result {
	if pc, ok := p.(PermissionChecker); ok && whoErr == nil {
		detail, err := pc.CheckPermissions(ctx)
		if err != nil {
			return res("permission", Fail, "%v", err)
		}
		return res("permission", OK, "%s", detail)
	}
	// Where the provider reads roles, the principal's own say what it may do.
	if acc, ok := p.(providers.Access); ok && p.Capabilities().Access && whoErr == nil && listErr == nil && id.Principal != "" {
		person := providers.Person{UserID: id.Principal}
		if strings.Contains(id.Principal, "@") {
			person = providers.Person{Email: id.Principal}
		}
		grants, err := acc.ListAccess(ctx, []providers.Person{person})
		switch {
		case err != nil && providers.StatusCode(err) == http.StatusForbidden:
			return res("permission", Fail, "%s may not read role bindings (HTTP 403): it is not an organization admin: %v", id.Principal, err)
		case err != nil:
			return res("permission", Warn, "the roles of %s could not be read: %v", id.Principal, err)
		}
		var roles []string
		seen := map[string]bool{}
		for _, g := range grants {
			if !seen[g.Role] {
				seen[g.Role] = true
				roles = append(roles, g.Role)
			}
		}
		sort.Strings(roles)
		if len(roles) == 0 {
			return res("permission", Warn, "the API lists no role for %s: creates may be refused (an organization admin is needed)", id.Principal)
		}
		return res("permission", OK, "%s holds %s", id.Principal, clip(strings.Join(roles, ", "), 200))
	}
	for _, a := range rec.since(0) {
		if a.status == http.StatusForbidden {
			return res("permission", Fail, "%s %s answered 403: the credentials lack a permission it needs", a.method, a.path)
		}
	}
	if whoErr != nil || listErr != nil {
		return res("permission", Skip, "needs a listing")
	}
	caps := p.Capabilities()
	what := "create"
	if caps.Revoke {
		what += " and revoke"
	}
	return res("permission", Warn, "reading works; the API does not tell whether these credentials may %s (the first apply shows it)", what)
}

// isCredentialRefusal: an answer about the credentials themselves (a 401,
// or the credential exchange refusing them).
func isCredentialRefusal(err error) bool {
	e, ok := providers.AsError(err)
	if !ok {
		return false
	}
	return e.Status == http.StatusUnauthorized || strings.HasPrefix(e.Message, "credential exchange")
}

// isOrgRefusal: the answers a real API gives for an org the credentials do
// not reach.
func isOrgRefusal(err error) bool {
	switch providers.StatusCode(err) {
	case http.StatusNotFound, http.StatusForbidden:
		return true
	}
	return false
}

func statusCheck(invs []providers.Invitation) Result {
	counts := map[providers.Status]int{}
	unknown := map[string]int{}
	noEmail := 0
	for _, inv := range invs {
		counts[inv.Status]++
		if inv.Status == providers.StatusUnknown {
			unknown[clip(inv.RawStatus, 40)]++
		}
		if strings.TrimSpace(inv.Email) == "" {
			noEmail++
		}
	}
	var parts []string
	for _, s := range []providers.Status{providers.StatusPending, providers.StatusAccepted, providers.StatusExpired, providers.StatusRevoked} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	summary := strings.Join(parts, ", ")
	if summary == "" {
		summary = "none listed"
	}
	if len(unknown) > 0 || noEmail > 0 {
		var u []string
		for raw, n := range unknown {
			u = append(u, fmt.Sprintf("%q x%d", raw, n))
		}
		sort.Strings(u)
		msg := summary
		if len(u) > 0 {
			msg += "; unknown statuses (left alone by plan): " + strings.Join(u, ", ")
		}
		if noEmail > 0 {
			msg += fmt.Sprintf("; %d without an email", noEmail)
		}
		return res("statuses", Warn, "%s", msg)
	}
	return res("statuses", OK, "%s", summary)
}

// Plausible timestamps: after the year 2000 and within ten years of now.
// Anything else is a unit or parsing mistake (seconds read as milliseconds).
var epochFloor = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func timestampCheck(invs []providers.Invitation, now time.Time) Result {
	ceiling := now.AddDate(10, 0, 0)
	var absurd []string
	zeroExpiry, zeroCreated, pastPending := 0, 0, 0
	for _, inv := range invs {
		for _, f := range []struct {
			name string
			t    time.Time
		}{{"created", inv.CreatedAt}, {"expires", inv.ExpiresAt}, {"accepted", inv.AcceptedAt}} {
			if !f.t.IsZero() && (f.t.Before(epochFloor) || f.t.After(ceiling)) && len(absurd) < 3 {
				absurd = append(absurd, fmt.Sprintf("%s %s", f.name, f.t.UTC().Format(time.RFC3339)))
			}
		}
		if inv.CreatedAt.IsZero() {
			zeroCreated++
		}
		if inv.Status == providers.StatusPending {
			if inv.ExpiresAt.IsZero() {
				zeroExpiry++
			} else if inv.ExpiresAt.Before(now) {
				pastPending++
			}
		}
	}
	if len(absurd) > 0 {
		return res("timestamps", Fail, "implausible times (a unit or format the client misreads): %s", strings.Join(absurd, "; "))
	}
	var notes []string
	if zeroCreated > 0 {
		notes = append(notes, fmt.Sprintf("%d without a creation time", zeroCreated))
	}
	if zeroExpiry > 0 {
		notes = append(notes, fmt.Sprintf("%d pending without an expiry (--refresh-before cannot apply to them)", zeroExpiry))
	}
	if pastPending > 0 {
		notes = append(notes, fmt.Sprintf("%d pending past their expiry by this machine's clock (the upstream's status is trusted)", pastPending))
	}
	if len(notes) > 0 {
		return res("timestamps", Warn, "%s", strings.Join(notes, "; "))
	}
	return res("timestamps", OK, "%d invitations with plausible times", len(invs))
}

// rosterChecks says what each roster column will do with this provider: sent,
// compared, or ignored; roles are checked by the provider when it can.
func rosterChecks(p providers.Provider, opts Options) []Result {
	caps := p.Capabilities()
	var out []Result
	add := func(name string, st Status, format string, args ...any) {
		out = append(out, Result{Name: name, Status: st, Detail: oneLine(fmt.Sprintf(format, args...))})
	}
	if !caps.Revoke {
		hint := caps.RevokeHint
		if hint == "" {
			hint = "the API has no revoke"
		}
		add("revoke", Warn, "unsupported here: %s", hint)
	}
	if opts.RosterFile == "" {
		add("roster", Skip, "no --roster: pass one to see what each column will do with %s", p.Name())
		return out
	}
	if opts.RosterErr != nil {
		add("roster", Fail, "%v", opts.RosterErr)
		return out
	}
	if err := reconcile.ValidateMembers(opts.Roster, caps); err != nil {
		var ps sources.Problems
		if errors.As(err, &ps) && len(ps) > 0 {
			add("roster", Fail, "%d %s for %s, first: %s", ps.Count(), plural(ps.Count(), "problem", "problems"), p.Name(), ps[0].String())
		} else {
			add("roster", Fail, "%v", err)
		}
		return out
	}
	add("roster", OK, "%s: %d members valid for %s", opts.RosterFile, len(opts.Roster), p.Name())
	type column struct {
		name, what string
		ok         bool
		used       func(sources.Member) bool
	}
	cols := []column{
		{"auth_type", "sent and compared", caps.AuthType, func(m sources.Member) bool { return m.AuthType != "" }},
		{"org_roles", "sent with each invitation", caps.OrgRoles, func(m sources.Member) bool { return len(m.OrgRoles) > 0 }},
		{"service_roles", "sent with each invitation", caps.ServiceRoles, func(m sources.Member) bool { return len(m.ServiceRoles) > 0 }},
		{"groups", "sent with each invitation", caps.Groups, func(m sources.Member) bool { return len(m.Groups) > 0 }},
		{"expires_in_days", "sent as the invitation's expiry", caps.Expiry, func(m sources.Member) bool { return m.ExpiresInDays != 0 }},
		{"roles", "granted and kept in step (access)", caps.Access, func(m sources.Member) bool { return len(m.Roles) > 0 }},
	}
	for _, c := range cols {
		n := 0
		for _, m := range opts.Roster {
			if c.used(m) {
				n++
			}
		}
		if n == 0 {
			continue
		}
		if !c.ok {
			add("column", Warn, "%s (%d rows): ignored by %s (the API cannot carry it)", c.name, n, p.Name())
			continue
		}
		if c.name == "roles" {
			out = append(out, roleCheck(p, opts.Roster, n))
			continue
		}
		add("column", OK, "%s (%d rows): %s", c.name, n, c.what)
	}
	return out
}

func roleCheck(p providers.Provider, roster []sources.Member, rows int) Result {
	acc, ok := p.(providers.Access)
	if !ok {
		return Result{Name: "column", Status: Warn, Detail: fmt.Sprintf("roles (%d rows): %s declares access but cannot check role names", rows, p.Name())}
	}
	seen := map[string]bool{}
	var bad []string
	for _, m := range roster {
		for _, r := range m.Roles {
			if seen[r] {
				continue
			}
			seen[r] = true
			if err := acc.CheckRole(r); err != nil && len(bad) < 5 {
				bad = append(bad, fmt.Sprintf("%s: %v", r, err))
			}
		}
	}
	if len(bad) > 0 {
		return Result{Name: "column", Status: Fail, Detail: oneLine(fmt.Sprintf("roles: %s refuses %s", p.Name(), strings.Join(bad, "; ")))}
	}
	return Result{Name: "column", Status: OK, Detail: fmt.Sprintf("roles (%d rows, %d distinct): granted and kept in step (access)", rows, len(seen))}
}

func rateCheck(rec *Recorder) Result {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.rate) == 0 {
		return res("rate-limit", OK, "no rate-limit headers seen in %d answers (the client paces at --rate)", len(rec.answers))
	}
	var parts []string
	for _, name := range rateHeaders {
		if v, ok := rec.rate[http.CanonicalHeaderKey(name)]; ok {
			parts = append(parts, http.CanonicalHeaderKey(name)+": "+v)
		}
	}
	st := OK
	if rec.throttled > 0 {
		st = Warn
		parts = append(parts, fmt.Sprintf("%d answers were 429 (lower --rate for this org)", rec.throttled))
	}
	return res("rate-limit", st, "%s", strings.Join(parts, ", "))
}

func res(name string, st Status, format string, args ...any) Result {
	return Result{Name: name, Status: st, Detail: oneLine(fmt.Sprintf(format, args...))}
}

// oneLine keeps a check on one line and free of terminal control bytes
// (an upstream's text is hostile input).
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return -1
		}
		return r
	}, s)
	return clip(s, 400)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xc0) == 0x80 { // do not cut a UTF-8 sequence
		n--
	}
	return s[:n] + "..."
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
