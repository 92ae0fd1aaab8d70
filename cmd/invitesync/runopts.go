package main

import (
	"github.com/invitesync/invitesync/reconcile"
)

// accessFlags are plan/apply's access and offboarding options.
type accessFlags struct {
	manageAllRoles bool
	removeMembers  bool
	offboard       string
	maxRemove      string
	allowKeyLoss   bool
	adopt          string
}

func (rf *runFlags) addAccessFlags() {
	fs := rf.fs
	fs.BoolVar(&rf.acc.manageAllRoles, "manage-all-roles", false, "also remove roles this tool did not grant when the roster's roles column does not list them")
	fs.BoolVar(&rf.acc.removeMembers, "remove-members", false, "offboard members absent from the roster (only those who joined through this tool's invitations, or adopted)")
	fs.StringVar(&rf.acc.offboard, "offboard", reconcile.OffboardRemove, "with --remove-members: remove (delete the user) or strip-roles (remove the access this tool manages, keep the user)")
	fs.StringVar(&rf.acc.maxRemove, "max-remove", reconcile.DefaultMaxRemove, "refuse a plan removing more than N or N% of the members (at least 1)")
	fs.BoolVar(&rf.acc.allowKeyLoss, "allow-key-loss", false, "remove members even when their API keys go with them")
	fs.StringVar(&rf.acc.adopt, "adopt", "", "file of existing members' emails (one a line) to treat as managed by this tool")
	group := func(names ...string) {
		for _, n := range names {
			annotate(fs, n, annGroup, groupRun)
		}
	}
	group("manage-all-roles", "remove-members", "offboard", "max-remove", "allow-key-loss", "adopt")
}

// planOptions are the options that shape a plan, as given.
func (rf *runFlags) planOptions() reconcile.PlanOptions {
	return reconcile.PlanOptions{
		Policy: reconcile.Policy(rf.policy), MaxRevoke: rf.maxRevoke, RevokeUnmanaged: rf.revokeUnmanaged,
		RefreshBefore: rf.refresh, ManageAllRoles: rf.acc.manageAllRoles, RemoveMembers: rf.acc.removeMembers,
		Offboard: rf.acc.offboard, MaxRemove: rf.acc.maxRemove, AllowKeyLoss: rf.acc.allowKeyLoss,
	}
}

// explicit names the plan options given on the command line or in the
// config file (apply --plan holds them against the plan's).
func (rf *runFlags) explicit() map[string]bool {
	out := map[string]bool{}
	for _, n := range []string{"policy", "max-revoke", "revoke-unmanaged", "refresh-before", "manage-all-roles",
		"remove-members", "offboard", "max-remove", "allow-key-loss", "adopt"} {
		if f := rf.fs.Lookup(n); f != nil && f.Changed {
			out[n] = true
		}
	}
	return out
}
