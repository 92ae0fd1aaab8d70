// Package notify posts a short summary of a run to a chat webhook (Slack's
// incoming-webhook JSON: "text" plus "blocks"; Mattermost, Rocket.Chat and
// most Slack-compatible receivers read the same body) when the run changed
// something or failed.
//
// What is sent: provider, org, mode, exit code, counts by action kind and
// status, a one-line failure reason and where the report is. Email addresses
// only when the caller asks (--notify-emails). Never a credential: the caller
// passes no credential in, and the webhook URL (itself a secret on Slack) never
// appears in an error.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Run is what one plan or apply did, as far as a notification tells.
type Run struct {
	Provider string
	Org      string
	Mode     string // plan or apply

	Started, Finished time.Time
	ExitCode          int
	// Failed: the run did not do what it was asked (apply with failed
	// actions, a refused guard, an unreadable upstream, an invalid roster).
	Failed bool
	// Reason is one line saying why it failed; the caller keeps secrets out of it.
	Reason string
	// Actions counts actions by {kind, status}, e.g. {"create", "done"}.
	Actions map[[2]string]int
	// Emails lists the people of each {kind, status}; sent only with Options.IncludeEmails.
	Emails map[[2]string][]string
	// Report says where the full report is (a path or a URL); optional.
	Report string
}

// Changed is how many actions changed something upstream (status done).
func (r Run) Changed() int {
	n := 0
	for k, c := range r.Actions {
		if k[1] == "done" && k[0] != "leave" {
			n += c
		}
	}
	return n
}

// ShouldNotify: only runs that changed something or failed are worth a message;
// an hourly "nothing to do" would teach people to ignore the channel.
func ShouldNotify(r Run) bool { return r.Failed || r.Changed() > 0 }

// Options configure Send.
type Options struct {
	URL string
	// IncludeEmails adds the people's addresses (--notify-emails); off by
	// default because a chat channel is often wider than the org's admins.
	IncludeEmails bool
	// Timeout bounds each attempt (default 10s); there are at most two.
	Timeout time.Duration
	// RetryDelay is the pause before the one retry (default 2s; a 429's
	// Retry-After up to 10s wins).
	RetryDelay time.Duration
	// Client, if set, sends the requests (its own Timeout is kept if shorter).
	Client *http.Client
}

const (
	defaultTimeout    = 10 * time.Second
	defaultRetryDelay = 2 * time.Second
	maxRetryAfter     = 10 * time.Second
	// Slack refuses a section text over 3,000 characters and a header over 150.
	maxSectionText = 3000
	maxHeaderText  = 150
	// At most this many addresses per kind and status: a message, not the report.
	maxEmailsPerGroup = 20
)

// Message is the JSON body posted to the webhook.
type Message struct {
	Text   string  `json:"text"`
	Blocks []Block `json:"blocks"`
}

// Block is one Slack layout block (header, section or context).
type Block struct {
	Type     string  `json:"type"`
	Text     *Text   `json:"text,omitempty"`
	Elements []*Text `json:"elements,omitempty"`
}

// Text is a Slack text object.
type Text struct {
	Type string `json:"type"` // plain_text or mrkdwn
	Text string `json:"text"`
}

// Notify posts r's summary when ShouldNotify(r), and says whether it did.
func Notify(ctx context.Context, opt Options, r Run) (sent bool, err error) {
	if !ShouldNotify(r) {
		return false, nil
	}
	if err := Send(ctx, opt, r); err != nil {
		return false, err
	}
	return true, nil
}

// Send posts r's summary to opt.URL: one retry on a network error, a 429 or a
// 5xx; each attempt bounded by opt.Timeout.
func Send(ctx context.Context, opt Options, r Run) error {
	u, err := checkURL(opt.URL)
	if err != nil {
		return err
	}
	where := u.Scheme + "://" + u.Host // the path of a Slack webhook URL is its secret
	body, err := json.Marshal(Compose(r, opt.IncludeEmails))
	if err != nil {
		return fmt.Errorf("notify: encode the message: %w", err)
	}
	timeout := opt.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	delay := opt.RetryDelay
	if delay <= 0 {
		delay = defaultRetryDelay
	}
	client := opt.Client
	if client == nil {
		client = &http.Client{}
	}
	var lastErr error
	for attempt := 1; attempt <= 2; attempt++ {
		retry, wait, err := post(ctx, client, u.String(), body, timeout)
		if err == nil {
			return nil
		}
		lastErr = err
		if !retry || attempt == 2 {
			break
		}
		if wait <= 0 {
			wait = delay
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("notify webhook %s: %v (not retried: %w)", where, lastErr, ctx.Err())
		case <-time.After(wait):
		}
	}
	return fmt.Errorf("notify webhook %s: %w", where, lastErr)
}

// post makes one attempt. retry says whether another attempt may help; wait
// is the receiver's Retry-After, if any.
func post(ctx context.Context, client *http.Client, target string, body []byte, timeout time.Duration) (retry bool, wait time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return false, 0, errors.New("cannot build the request")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "invitesync")
	resp, err := client.Do(req)
	if err != nil {
		// *url.Error repeats the whole URL: keep only what went wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return true, 0, fmt.Errorf("no answer within %s", timeout)
		}
		return true, 0, err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, 0, nil
	}
	err = fmt.Errorf("answered %s: %s", resp.Status, strings.TrimSpace(string(snippet)))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s >= 0 {
			wait = min(time.Duration(s)*time.Second, maxRetryAfter)
		}
		return true, wait, err
	case resp.StatusCode >= 500:
		return true, 0, err
	}
	return false, 0, err
}

// checkURL refuses what would leak the webhook's secret path: plain http to
// anything but loopback.
func checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, errors.New("notify webhook: want an https:// URL")
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("notify webhook %s: plain http is refused except on loopback (the URL is a secret)", u.Host)
	}
	return u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Compose builds the message for r: a header, the counts, the reason for a
// failure, and the emails only when includeEmails.
func Compose(r Run, includeEmails bool) Message {
	outcome := "changed " + plural(r.Changed(), "invitation")
	icon := ":white_check_mark:"
	if r.Failed {
		outcome = "FAILED"
		icon = ":x:"
	}
	title := fmt.Sprintf("invitesync %s %s: %s %s", r.Mode, outcome, r.Provider, r.Org)
	text := title
	if r.Failed && r.Reason != "" {
		text += ": " + oneLine(r.Reason)
	}
	header := truncate(title, maxHeaderText)

	var body strings.Builder
	fmt.Fprintf(&body, "%s *%s* on *%s* `%s`, exit %d", icon, escape(r.Mode), escape(r.Provider), escape(r.Org), r.ExitCode)
	if !r.Started.IsZero() && !r.Finished.IsZero() {
		fmt.Fprintf(&body, ", took %s", r.Finished.Sub(r.Started).Round(time.Second))
	}
	body.WriteString("\n")
	if r.Failed && r.Reason != "" {
		fmt.Fprintf(&body, "*Why:* %s\n", escape(oneLine(r.Reason)))
	}
	for _, k := range sortedKeys(r.Actions) {
		if k[0] == "leave" || r.Actions[k] == 0 {
			continue // untouched people are the report's business
		}
		fmt.Fprintf(&body, "• %s %s: %d\n", escape(k[0]), escape(k[1]), r.Actions[k])
	}
	blocks := []Block{
		{Type: "header", Text: &Text{Type: "plain_text", Text: header}},
		{Type: "section", Text: &Text{Type: "mrkdwn", Text: clip(body.String())}},
	}
	if includeEmails {
		var people strings.Builder
		for _, k := range sortedKeys(r.Emails) {
			if k[0] == "leave" || len(r.Emails[k]) == 0 {
				continue
			}
			list := append([]string(nil), r.Emails[k]...)
			sort.Strings(list)
			more := 0
			if len(list) > maxEmailsPerGroup {
				list, more = list[:maxEmailsPerGroup], len(list)-maxEmailsPerGroup
			}
			for i := range list {
				list[i] = escape(list[i])
			}
			fmt.Fprintf(&people, "*%s %s:* %s", escape(k[0]), escape(k[1]), strings.Join(list, ", "))
			if more > 0 {
				fmt.Fprintf(&people, " and %d more", more)
			}
			people.WriteString("\n")
		}
		if people.Len() > 0 {
			blocks = append(blocks, Block{Type: "section", Text: &Text{Type: "mrkdwn", Text: clip(people.String())}})
		}
	}
	if r.Report != "" {
		blocks = append(blocks, Block{Type: "context", Elements: []*Text{{Type: "mrkdwn", Text: clip("Report: " + escape(r.Report))}}})
	}
	return Message{Text: text, Blocks: blocks}
}

func sortedKeys[V any](m map[[2]string]V) [][2]string {
	keys := make([][2]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	return keys
}

// escape applies Slack's mrkdwn escaping, so a roster value cannot ping
// @channel or forge a link.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func oneLine(s string) string {
	return truncate(strings.Join(strings.Fields(s), " "), 300)
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

func clip(s string) string {
	s = strings.TrimRight(s, "\n")
	const more = "\n(more in the report)"
	if len(s) > maxSectionText {
		s = truncate(s, maxSectionText-len(more)) + more
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
