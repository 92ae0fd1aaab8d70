package providers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestPaginate(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name     string
		next     func(n int, token string) string // the token page n answers
		failAt   int
		maxPages int
		want     int    // items (one per page) when no error
		wantErr  string // substring
		pages    int    // pages fetched
	}{
		{"one page", func(int, string) string { return "" }, 0, 0, 1, "", 1},
		{"three pages", func(n int, _ string) string {
			if n < 3 {
				return fmt.Sprint("t", n)
			}
			return ""
		}, 0, 0, 3, "", 3},
		{"the same token again", func(int, string) string { return "same" }, 0, 0, 0, "page token already followed (a cycle); stopped after 2 pages", 2},
		{"a cycle of three", func(n int, _ string) string { return fmt.Sprint("t", n%3) }, 0, 0, 0, "a cycle); stopped after 4 pages", 4},
		{"a fresh token every page", func(n int, _ string) string { return fmt.Sprint("t", n) }, 0, 50, 0, "still not at the end after 50 pages", 50},
		{"exactly the budget", func(n int, _ string) string {
			if n < 5 {
				return fmt.Sprint("t", n)
			}
			return ""
		}, 0, 5, 5, "", 5},
		{"a page fails", func(n int, _ string) string { return fmt.Sprint("t", n) }, 3, 0, 0, "page 3: boom", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fetched := 0
			var tokens []string
			got, err := Paginate(context.Background(), tt.maxPages, func(_ context.Context, token string, n int) ([]int, string, error) {
				fetched++
				tokens = append(tokens, token)
				if n != fetched {
					t.Fatalf("page number %d, want %d", n, fetched)
				}
				if n == tt.failAt {
					return nil, "", boom
				}
				return []int{n}, tt.next(n, token), nil
			})
			if fetched != tt.pages {
				t.Errorf("fetched %d pages, want %d", fetched, tt.pages)
			}
			if tokens[0] != "" {
				t.Errorf("first token %q, want empty", tokens[0])
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if tt.failAt == 0 && !errors.Is(err, ErrPaging) {
					t.Errorf("err %v does not wrap ErrPaging", err)
				}
				if tt.failAt != 0 && !errors.Is(err, boom) {
					t.Errorf("err %v does not wrap the page's error", err)
				}
				return
			}
			if err != nil || len(got) != tt.want {
				t.Fatalf("got %v, %v; want %d items", got, err, tt.want)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Paginate(ctx, 0, func(context.Context, string, int) ([]int, string, error) { return nil, "", nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestDedupeInvitations(t *testing.T) {
	inv := func(id, email string, st Status) Invitation { return Invitation{ID: id, Email: email, Status: st} }
	tests := []struct {
		name    string
		in      []Invitation
		want    []Invitation
		dropped int
	}{
		{"none", nil, nil, 0},
		{"no repeats", []Invitation{inv("a", "x", StatusPending), inv("b", "y", StatusPending)},
			[]Invitation{inv("a", "x", StatusPending), inv("b", "y", StatusPending)}, 0},
		{"a page overlap", []Invitation{inv("a", "x", StatusPending), inv("b", "y", StatusPending), inv("b", "y", StatusPending), inv("c", "z", StatusPending)},
			[]Invitation{inv("a", "x", StatusPending), inv("b", "y", StatusPending), inv("c", "z", StatusPending)}, 1},
		{"the freshest read wins, at the first place", []Invitation{inv("a", "x", StatusPending), inv("b", "y", StatusPending), inv("a", "x", StatusAccepted)},
			[]Invitation{inv("a", "x", StatusAccepted), inv("b", "y", StatusPending)}, 1},
		{"no id: kept", []Invitation{inv("", "x", StatusPending), inv("", "x", StatusPending)},
			[]Invitation{inv("", "x", StatusPending), inv("", "x", StatusPending)}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, dropped := DedupeInvitations(slices.Clone(tt.in))
			if dropped != tt.dropped || !slices.EqualFunc(got, tt.want, func(a, b Invitation) bool {
				return a.ID == b.ID && a.Email == b.Email && a.Status == b.Status
			}) {
				t.Fatalf("got %v (%d dropped), want %v (%d)", got, dropped, tt.want, tt.dropped)
			}
		})
	}
	// ListInvitations: pages that overlap list each invitation once.
	pages := [][]Invitation{{inv("a", "x", StatusPending), inv("b", "y", StatusPending)}, {inv("b", "y", StatusPending), inv("c", "z", StatusPending)}}
	got, err := ListInvitations(context.Background(), 0, func(_ context.Context, _ string, n int) ([]Invitation, string, error) {
		if n == 1 {
			return pages[0], "p2", nil
		}
		return pages[1], "", nil
	})
	if err != nil || len(got) != 3 {
		t.Fatalf("ListInvitations = %v, %v: want a, b, c", got, err)
	}
}
