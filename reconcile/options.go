package reconcile

import (
	"errors"
	"fmt"
	"strings"
)

// checkOptions fills defaults and refuses contradictions.
func checkOptions(o *PlanOptions) error {
	switch o.Policy {
	case "":
		o.Policy = PolicySync
	case PolicySync, PolicyCreateOnly:
	default:
		return fmt.Errorf("--policy %q: want sync or create-only", o.Policy)
	}
	o.MaxRevoke = orDefault(o.MaxRevoke, DefaultMaxRevoke)
	if _, err := ParseMaxRevoke(o.MaxRevoke); err != nil {
		return err
	}
	o.MaxRemove = orDefault(o.MaxRemove, DefaultMaxRemove)
	if _, err := ParseMaxRevoke(o.MaxRemove); err != nil {
		return fmt.Errorf("--max-remove: %w", err)
	}
	switch o.Offboard {
	case "":
		o.Offboard = OffboardRemove
	case OffboardRemove, OffboardStripRoles:
	default:
		return fmt.Errorf("--offboard %q: want remove or strip-roles", o.Offboard)
	}
	if o.RefreshBefore < 0 {
		return errors.New("--refresh-before must not be negative")
	}
	return nil
}

// mergeOptions is the options apply --plan runs under: the plan's, with
// each one the operator gave explicitly (explicit, by flag name) taken
// when it is at least as strict, and an error naming each looser one.
func mergeOptions(saved, given PlanOptions, explicit map[string]bool) (PlanOptions, error) {
	out := saved
	if err := checkOptions(&out); err != nil {
		return out, fmt.Errorf("the plan's options: %w", err)
	}
	var looser []string
	take := func(flag string, stricter bool, set func(), was, now string) {
		if !explicit[flag] || was == now {
			return
		}
		if stricter {
			set()
			return
		}
		looser = append(looser, fmt.Sprintf("--%s %s is looser than the plan's %s", flag, now, was))
	}
	take("policy", given.Policy == PolicyCreateOnly, func() { out.Policy = given.Policy }, string(out.Policy), string(given.Policy))
	take("max-revoke", tighter(given.MaxRevoke, out.MaxRevoke), func() { out.MaxRevoke = given.MaxRevoke }, out.MaxRevoke, given.MaxRevoke)
	take("max-remove", tighter(given.MaxRemove, out.MaxRemove), func() { out.MaxRemove = given.MaxRemove }, out.MaxRemove, given.MaxRemove)
	take("revoke-unmanaged", !given.RevokeUnmanaged, func() { out.RevokeUnmanaged = false }, fmt.Sprint(out.RevokeUnmanaged), fmt.Sprint(given.RevokeUnmanaged))
	take("manage-all-roles", !given.ManageAllRoles, func() { out.ManageAllRoles = false }, fmt.Sprint(out.ManageAllRoles), fmt.Sprint(given.ManageAllRoles))
	take("remove-members", !given.RemoveMembers, func() { out.RemoveMembers = false }, fmt.Sprint(out.RemoveMembers), fmt.Sprint(given.RemoveMembers))
	take("allow-key-loss", !given.AllowKeyLoss, func() { out.AllowKeyLoss = false }, fmt.Sprint(out.AllowKeyLoss), fmt.Sprint(given.AllowKeyLoss))
	take("offboard", given.Offboard == OffboardStripRoles, func() { out.Offboard = given.Offboard }, out.Offboard, orDefault(given.Offboard, OffboardRemove))
	// Not a guard: another window reinvites other people than were reviewed.
	take("refresh-before", false, nil, out.RefreshBefore.String(), given.RefreshBefore.String())
	if len(looser) > 0 {
		return out, fmt.Errorf("options differ from the saved plan's: %s (a saved plan runs under its own options or stricter ones: make a new plan to loosen them)", strings.Join(looser, "; "))
	}
	return out, nil
}

// tighter reports whether guard setting a allows no more than b for any
// base. "N" and "N%" compare only in kind; across kinds a is tighter when
// it is 0, or b is 100%.
func tighter(a, b string) bool {
	la, errA := ParseMaxRevoke(a)
	lb, errB := ParseMaxRevoke(b)
	if errA != nil || errB != nil {
		return false
	}
	switch {
	case la.Percent == lb.Percent:
		return la.N <= lb.N
	case la.N == 0:
		return true
	default:
		return lb.Percent && lb.N >= 100
	}
}
