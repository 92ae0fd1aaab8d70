package providers

import (
	"context"
	"fmt"
	"time"
)

// Attempts is how many HTTP attempts a Do call made, answered or not.
func Attempts(resp *Response, err error) int {
	if resp != nil {
		return resp.Attempts
	}
	if e, ok := AsError(err); ok {
		return e.Attempts
	}
	return 0
}

// CreateVerified makes one non-idempotent create under the rule that a retry
// never invites twice: Do re-sends blindly only when the upstream cannot have
// applied the call (refused, 429, 503); after one that may have landed (500,
// 502, 504, reset, timeout, an undecodable answer) it reads back (readBack)
// and sends again only when the call is known to be over upstream and the
// read-back shows nothing. When it cannot tell (a read-back fails, or a call
// it gave up waiting for may still land) the result is Unknown: never
// re-sent blindly, never plain "failed"; the next run's listing settles it. send gets the
// attempts left of the budget; answer reads a successful (or
// accepted-conflict) response into res, setting res.Err when a 2xx body
// cannot be read (ambiguous too: the call landed, but what it made is
// unknown, so it is read back); find returns the pending invitation for email, if any,
// and the attempts it took (its requests should be marked ReadBack).
func (c *Client) CreateVerified(ctx context.Context, email string,
	send func(ctx context.Context, maxAttempts int) (*Response, error),
	answer func(resp *Response, res *CreateResult),
	find func(ctx context.Context) (*Invitation, int, error),
) CreateResult {
	res := CreateResult{Email: email}
	budget, sent := c.MaxAttempts(), 0 // the budget bounds sends; read-backs come on top
	for {
		landed := false // a 2xx whose body could not be read
		resp, err := send(ctx, budget-sent)
		sent += Attempts(resp, err)
		res.Attempts += Attempts(resp, err)
		if err == nil {
			res.RequestID = resp.RequestID
			answer(resp, &res)
			if res.Err == nil || resp.Status >= 300 {
				return res
			}
			// Landed, but the answer is unreadable: find what it made.
			err = fmt.Errorf("the answer could not be read: %w", res.Err)
			res.Err, landed = nil, true
		} else if !IsMaybeApplied(err) || ctx.Err() != nil {
			res.Err = fmt.Errorf("create %s: %w", email, err)
			return res
		}
		inv, n, open, verr := c.readBack(ctx, err, find)
		res.Attempts += n
		switch {
		case open:
			res.Err = fmt.Errorf("create %s: %w; not found by reading back, and it may still land", email, err)
			res.Unknown = true
			return res
		case verr != nil:
			res.Err = fmt.Errorf("create %s: verify after %v: %w", email, err, verr)
			res.Unknown = true
			return res
		case inv != nil: // the lost call landed
			res.Invitation = inv
			return res
		case landed:
			// The upstream said yes, yet nothing shows: never send again.
			res.Err = fmt.Errorf("create %s: accepted, but not found by reading back: %w", email, err)
			res.Unknown = true
			return res
		case sent >= budget:
			// Known not to have landed, and no attempt left: plainly failed.
			res.Err = fmt.Errorf("create %s: %w", email, err)
			return res
		}
	}
}

// readBack looks for what an ambiguous create made. A call answered with a
// 5xx, or cut off, is over upstream: one look after a backoff settles it. A
// call the client gave up waiting for may still be queued upstream: looks go
// on until the client's timeout has passed once more, and if nothing shows by
// then the outcome stays unknown (stillOpen): a create can land later than
// any read-back, so sending it again could invite twice.
func (c *Client) readBack(ctx context.Context, cause error, find func(context.Context) (*Invitation, int, error)) (inv *Invitation, attempts int, stillOpen bool, err error) {
	patience, timedOut := time.Duration(0), false
	if e, ok := AsError(cause); ok && e.TimedOut {
		patience, timedOut = c.timeout, true
	}
	deadline := time.Now().Add(patience)
	for round := 1; ; round++ {
		if err := c.Backoff(ctx, round); err != nil {
			return nil, attempts, false, err
		}
		inv, n, err := find(ctx)
		attempts += n
		if err != nil || inv != nil {
			return inv, attempts, false, err
		}
		if !time.Now().Before(deadline) {
			return nil, attempts, timedOut, nil
		}
	}
}

// CreateEach creates people one call each (APIs without a bulk invite); once
// ctx is done, the rest are reported as not attempted.
func CreateEach(ctx context.Context, reqs []InviteRequest, one func(context.Context, InviteRequest) CreateResult) ([]CreateResult, error) {
	out := make([]CreateResult, len(reqs))
	for i, r := range reqs {
		if err := ctx.Err(); err != nil {
			return out, NotAttempted(out[i:], reqs[i:], err)
		}
		out[i] = one(ctx, r)
	}
	return out, nil
}
