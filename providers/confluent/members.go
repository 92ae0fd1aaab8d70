package confluent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/providers/confluent/iam"
)

// Members are the organization's users, /iam/v2/users (iam/v2 openapi.yaml):
// listed with paging, removed with DELETE /iam/v2/users/{id}, which "will
// also recursively delete all of the user's associated resources, including
// its cloud and cluster API keys". API keys are listed by owner with
// apikeys/v2's spec.owner filter.

const (
	usersPath   = "/iam/v2/users"
	apiKeysPath = "/iam/v2/api-keys"
	// removeChecks is how many read-backs a removal gets to show the user
	// gone ("A User is being deleted": it may take a moment upstream).
	removeChecks = 5
)

type wireUser struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	Metadata struct {
		CreatedAt string `json:"created_at"`
	} `json:"metadata"`
}

// ListMembers returns every user of the organization.
func (c *Client) ListMembers(ctx context.Context) ([]providers.User, error) {
	var out []providers.User
	_, err := c.pages(ctx, usersPath, nil, false, func(data json.RawMessage) error {
		var us []wireUser
		if err := json.Unmarshal(data, &us); err != nil {
			return fmt.Errorf("decode users: %w", err)
		}
		for _, w := range us {
			u := providers.User{ID: w.ID, Email: w.Email}
			t, err := parseTime(w.Metadata.CreatedAt)
			if err != nil {
				return fmt.Errorf("user %s: created_at: %w", w.ID, err)
			}
			u.CreatedAt = t
			out = append(out, u)
		}
		return nil
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	return out, nil
}

// BlastRadius lists what deleting u takes with it: the API keys u owns
// (ids only; secrets are never in a listing) and u's role bindings.
func (c *Client) BlastRadius(ctx context.Context, u providers.User) (providers.Radius, error) {
	var r providers.Radius
	_, err := c.pages(ctx, apiKeysPath, url.Values{"spec.owner": {u.ID}}, false, func(data json.RawMessage) error {
		var ks []struct {
			ID   string `json:"id"`
			Spec struct {
				Owner struct {
					ID string `json:"id"`
				} `json:"owner"`
			} `json:"spec"`
		}
		if err := json.Unmarshal(data, &ks); err != nil {
			return fmt.Errorf("decode api keys: %w", err)
		}
		for _, k := range ks {
			if k.Spec.Owner.ID == u.ID { // the filter is an optimisation; check again
				r.APIKeys = append(r.APIKeys, k.ID)
			}
		}
		return nil
	}, nil)
	if err != nil {
		return providers.Radius{}, fmt.Errorf("blast radius of %s: %w", u.Email, err)
	}
	org, err := c.orgID(ctx)
	if err != nil {
		return providers.Radius{}, fmt.Errorf("blast radius of %s: %w", u.Email, err)
	}
	bs, err := c.listBindings(ctx, url.Values{
		"crn_pattern": {iam.OrgWide(org)}, "principal": {"User:" + u.ID},
	}, false, nil)
	if err != nil {
		return providers.Radius{}, fmt.Errorf("blast radius of %s: %w", u.Email, err)
	}
	for _, b := range bs {
		if b.Principal == "User:"+u.ID {
			r.Bindings = append(r.Bindings, b.ID)
		}
	}
	return r, nil
}

// RemoveMember deletes u. It is done only when a read-back no longer finds
// the user; a user still there after the read-backs is an unknown outcome.
// A 404 on the delete means u was gone already.
func (c *Client) RemoveMember(ctx context.Context, u providers.User) (providers.WriteResult, error) {
	if u.ID == "" {
		return providers.WriteResult{}, fmt.Errorf("remove %s: the user has no id", u.Email)
	}
	path := usersPath + "/" + url.PathEscape(u.ID)
	resp, err := c.http.Do(ctx, providers.Request{
		Method: http.MethodDelete, Path: path, Idempotent: true, Accept: []int{http.StatusNotFound},
	})
	if err != nil {
		res := providers.WriteResult{Attempts: providers.Attempts(resp, err), Unknown: providers.IsMaybeApplied(err)}
		if e, ok := providers.AsError(err); ok {
			res.RequestID = e.RequestID
		}
		return res, fmt.Errorf("remove %s (%s): %w", u.Email, u.ID, err)
	}
	res := providers.WriteResult{RequestID: resp.RequestID, Attempts: resp.Attempts}
	if resp.Status == http.StatusNotFound {
		res.NotFound = true
		return res, nil
	}
	for i := 1; ; i++ {
		rb, err := c.http.Do(ctx, providers.Request{
			Method: http.MethodGet, Path: path, Idempotent: true, ReadBack: true, Accept: []int{http.StatusNotFound},
		})
		res.Attempts += providers.Attempts(rb, err)
		if err != nil {
			res.Unknown = true
			return res, fmt.Errorf("remove %s (%s): deletion accepted, read-back failed: %w", u.Email, u.ID, err)
		}
		if rb.Status == http.StatusNotFound {
			return res, nil
		}
		if i == removeChecks {
			res.Unknown = true
			return res, fmt.Errorf("remove %s (%s): deletion accepted but the user is still listed after %d read-backs", u.Email, u.ID, i)
		}
		if err := c.http.Backoff(ctx, i); err != nil {
			res.Unknown = true
			return res, fmt.Errorf("remove %s (%s): %w", u.Email, u.ID, err)
		}
	}
}
