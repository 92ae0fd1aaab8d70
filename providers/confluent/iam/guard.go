package iam

import (
	"fmt"

	"github.com/invitesync/invitesync/providers"
)

// Guard stops a listing that would never end: a page token met before (a
// cycle), a page budget spent, or a page that serves nothing but items
// already listed (the listing started over under fresh tokens). Pages that
// merely overlap (a few items listed again) are fine: callers dedupe.
type Guard struct {
	max    int
	tokens map[string]bool
	ids    map[string]bool
}

// NewGuard makes a guard for one listing with a budget of max pages
// (0 = providers.DefaultMaxPages).
func NewGuard(max int) *Guard {
	if max <= 0 {
		max = providers.DefaultMaxPages
	}
	return &Guard{max: max, tokens: map[string]bool{}, ids: map[string]bool{}}
}

// Page checks page n (from 1), which listed ids, before it is followed.
func (g *Guard) Page(n int, ids []string) error {
	fresh := false
	for _, id := range ids {
		if id == "" || !g.ids[id] {
			fresh = true
		}
		g.ids[id] = true
	}
	if n > 1 && len(ids) > 0 && !fresh {
		return fmt.Errorf("%w: page %d lists only items already listed (the listing started over); stopped", providers.ErrPaging, n)
	}
	if n >= g.max {
		return fmt.Errorf("%w: still not at the end after %d pages (the page budget); stopped", providers.ErrPaging, n)
	}
	return nil
}

// Next checks the token a page names for the next one.
func (g *Guard) Next(n int, token string) error {
	if g.tokens[token] {
		return fmt.Errorf("%w: page %d names a page token already followed (a cycle); stopped", providers.ErrPaging, n)
	}
	g.tokens[token] = true
	return nil
}
