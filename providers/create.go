package providers

import (
	"context"
	"fmt"
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
// 502, 504, reset, timeout) find reads back, and the create is sent again only
// when nothing is there. send gets the attempts left of the budget; answer
// reads a successful (or accepted-conflict) response into res; find returns
// the pending invitation for email, if any, and the attempts it took.
func (c *Client) CreateVerified(ctx context.Context, email string,
	send func(ctx context.Context, maxAttempts int) (*Response, error),
	answer func(resp *Response, res *CreateResult),
	find func(ctx context.Context) (*Invitation, int, error),
) CreateResult {
	res := CreateResult{Email: email}
	budget, sent := c.MaxAttempts(), 0 // the budget bounds sends; read-backs come on top
	for round := 1; ; round++ {
		resp, err := send(ctx, budget-sent)
		sent += Attempts(resp, err)
		res.Attempts += Attempts(resp, err)
		if err == nil {
			res.RequestID = resp.RequestID
			answer(resp, &res)
			return res
		}
		if !IsMaybeApplied(err) || sent >= budget || ctx.Err() != nil {
			res.Err = fmt.Errorf("create %s: %w", email, err)
			return res
		}
		if err := c.Backoff(ctx, round); err != nil {
			res.Err = fmt.Errorf("create %s: %w", email, err)
			return res
		}
		inv, n, verr := find(ctx)
		res.Attempts += n
		if verr != nil {
			res.Err = fmt.Errorf("create %s: verify after %v: %w", email, err, verr)
			return res
		}
		if inv != nil { // the lost call landed
			res.Invitation = inv
			return res
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
