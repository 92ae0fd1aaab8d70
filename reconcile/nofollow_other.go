//go:build !unix

package reconcile

// noFollow: Windows opens have no O_NOFOLLOW; creating a symlink there
// needs a privilege an attacker of the report folder rarely has.
const noFollow = 0
