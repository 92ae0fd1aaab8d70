package providers

import (
	"context"
	"errors"
	"fmt"
)

// DefaultMaxPages bounds one listing (Config.MaxPages): 10,000,000
// invitations at 100 a page. A listing past it is an upstream that never
// ends its pagination, not an org.
const DefaultMaxPages = 100_000

// ErrPaging is wrapped by the errors Paginate returns for pagination that
// does not end (a cycle or an exhausted page budget).
var ErrPaging = errors.New("pagination does not end")

// PageFunc fetches the page that token names ("" = the first) and returns
// its items and the next page's token ("" = this was the last page). n is
// the page's number, from 1.
type PageFunc[T any] func(ctx context.Context, token string, n int) (items []T, next string, err error)

// Paginate follows a listing's page tokens to the end and returns every
// item. It stops with an error wrapping ErrPaging, naming the page count,
// when a token comes back that was already followed (a cycle) or when
// maxPages pages (0 = DefaultMaxPages) have not reached the end (an endless
// listing, a fresh token on every page). A page's error is returned wrapped
// with its number.
func Paginate[T any](ctx context.Context, maxPages int, fetch PageFunc[T]) ([]T, error) {
	if maxPages <= 0 {
		maxPages = DefaultMaxPages
	}
	var all []T
	seen := map[string]bool{}
	token := ""
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("listing stopped at page %d: %w", n, err)
		}
		items, next, err := fetch(ctx, token, n)
		if err != nil {
			if n == 1 {
				return nil, err
			}
			return nil, fmt.Errorf("page %d: %w", n, err)
		}
		all = append(all, items...)
		if next == "" {
			return all, nil
		}
		if seen[next] || next == token {
			return nil, fmt.Errorf("%w: page %d names a page token already followed (a cycle); stopped after %d pages", ErrPaging, n, n)
		}
		if n >= maxPages {
			return nil, fmt.Errorf("%w: still not at the end after %d pages (the page budget); stopped", ErrPaging, n)
		}
		seen[next] = true
		token = next
	}
}

// DedupeInvitations drops repeated listings of one invitation (pages that
// overlap while the listing moves): one record per non-empty ID is kept, at
// the place of its first listing, with the content of its last one (the
// freshest read). Invitations without an ID are kept as they are: nothing
// says two of them are one. It returns the kept invitations (invs, reused)
// and how many were dropped. Deduping before planning is what keeps a plan
// from revoking "the duplicate" of an invitation that is in fact the one kept.
func DedupeInvitations(invs []Invitation) ([]Invitation, int) {
	at := make(map[string]int, len(invs))
	out := invs[:0]
	dropped := 0
	for _, inv := range invs {
		if inv.ID == "" {
			out = append(out, inv)
			continue
		}
		if i, ok := at[inv.ID]; ok {
			out[i] = inv
			dropped++
			continue
		}
		at[inv.ID] = len(out)
		out = append(out, inv)
	}
	// Clear the tail so dropped records are not kept alive by the backing array.
	clear(invs[len(out):])
	return out, dropped
}

// ListInvitations is Paginate for invitation listings, deduped by ID.
func ListInvitations(ctx context.Context, maxPages int, fetch PageFunc[Invitation]) ([]Invitation, error) {
	all, err := Paginate(ctx, maxPages, fetch)
	if err != nil {
		return nil, err
	}
	all, _ = DedupeInvitations(all)
	return all, nil
}
