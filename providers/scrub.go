package providers

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// Redacted replaces a credential wherever one is found.
const Redacted = "[REDACTED]"

// maxUpstreamText bounds upstream text (a message, a code, a request id)
// kept in an error: a hostile or broken upstream must not fill a terminal.
const maxUpstreamText = 1024

// secretSet is the credentials one client knows, in every form an upstream
// or a proxy might echo them: raw, URL-escaped, base64 (as in a Basic
// authorization header) and, for a Basic header, the user:password pair.
type secretSet struct {
	mu   sync.RWMutex
	seen map[string]bool
	r    *strings.Replacer
	last string // the credential header registered last: most requests repeat it
}

// authScheme catches credentials echoed in an authorization-header shape even
// when the value was never registered (a token minted by a proxy).
var authScheme = regexp.MustCompile(`(?i)\b(basic|bearer|csp-auth-token[:=]?)(\s+|["':=]\s*)[A-Za-z0-9+/=._~-]{8,}`)

// secretForms lists the spellings of s worth scrubbing.
func secretForms(s string) []string {
	forms := []string{s, url.QueryEscape(s), url.PathEscape(s)}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		forms = append(forms, enc.EncodeToString([]byte(s)))
	}
	return forms
}

// add registers s (and its forms). Values under 4 bytes are no secret, and
// scrubbing them would mangle messages.
func (ss *secretSet) add(s string) {
	if len(s) < 4 {
		return
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.seen == nil {
		ss.seen = map[string]bool{}
	}
	fresh := false
	for _, f := range secretForms(s) {
		if len(f) >= 4 && !ss.seen[f] {
			ss.seen[f], fresh = true, true
		}
	}
	if !fresh {
		return
	}
	// Longest first, so a value that contains another is replaced whole.
	all := make([]string, 0, len(ss.seen))
	for f := range ss.seen {
		all = append(all, f)
	}
	sort.Slice(all, func(i, j int) bool {
		if len(all[i]) != len(all[j]) {
			return len(all[i]) > len(all[j])
		}
		return all[i] < all[j]
	})
	pairs := make([]string, 0, 2*len(all))
	for _, f := range all {
		pairs = append(pairs, f, Redacted)
	}
	ss.r = strings.NewReplacer(pairs...)
}

// addHeader registers the credential an authorization header carries: the
// whole value, the token after its scheme and, for Basic, the decoded
// user:password pair and the password.
func (ss *secretSet) addHeader(v string) {
	v = strings.TrimSpace(v)
	ss.mu.RLock()
	known := v == ss.last
	ss.mu.RUnlock()
	if v == "" || known {
		return
	}
	ss.add(v)
	ss.mu.Lock()
	ss.last = v
	ss.mu.Unlock()
	scheme, token, ok := strings.Cut(v, " ")
	if !ok {
		return
	}
	token = strings.TrimSpace(token)
	ss.add(token)
	if strings.EqualFold(scheme, "basic") {
		if raw, err := base64.StdEncoding.DecodeString(token); err == nil {
			ss.add(string(raw))
			if _, pass, ok := strings.Cut(string(raw), ":"); ok {
				ss.add(pass)
			}
		}
	}
}

func (ss *secretSet) scrub(s string) string {
	ss.mu.RLock()
	r := ss.r
	ss.mu.RUnlock()
	if r != nil {
		s = r.Replace(s)
	}
	if authScheme.MatchString(s) {
		s = authScheme.ReplaceAllString(s, "${1}${2}"+Redacted)
	}
	return s
}

// credentialHeaders are request headers whose values are credentials
// wherever a provider sets them.
var credentialHeaders = []string{"Authorization", "Proxy-Authorization", "Csp-Auth-Token", "X-Api-Key", "Api-Key", "Cookie"}

func (ss *secretSet) addFromRequest(h http.Header) {
	for _, name := range credentialHeaders {
		for _, v := range h.Values(name) {
			ss.addHeader(v)
		}
	}
}

// SafeText makes upstream text safe to print on a terminal, in a log line or
// in a report: ANSI escape sequences (CSI, OSC, and other ESC forms) are
// removed, other control characters (C0, DEL, C1), line breaks and Unicode
// bidirectional overrides become visible escapes or spaces, and invalid UTF-8
// becomes U+FFFD. Printable text, non-ASCII letters included, is unchanged.
func SafeText(s string) string {
	if isPlainSafe(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteRune(utf8.RuneError)
			i++
			continue
		case r == 0x1b || r == 0x9b: // ESC or its 8-bit CSI: drop the whole sequence
			i += escapeLen(s[i:], size, r == 0x9b)
			continue
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			b.WriteString(`\x`)
			const hex = "0123456789abcdef"
			b.WriteByte(hex[r>>4&0xf])
			b.WriteByte(hex[r&0xf])
		case isBidiControl(r) || r == 0x2028 || r == 0x2029:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// isPlainSafe is SafeText's fast path: printable ASCII only.
func isPlainSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// escapeLen is the length of the escape sequence at the start of s: CSI
// (ESC [ params final), OSC/DCS/APC/PM/SOS (ESC ] ... BEL or ESC \), or a
// two-byte ESC x. An unterminated sequence runs to the end of s.
func escapeLen(s string, size int, csi8 bool) int {
	i := size
	if !csi8 {
		if i >= len(s) {
			return i
		}
		switch s[i] {
		case '[':
			i++
		case ']', 'P', '_', '^', 'X':
			i++
			for i < len(s) {
				if s[i] == 0x07 {
					return i + 1
				}
				if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '\\' {
					return i + 2
				}
				i++
			}
			return i
		default:
			return i + 1
		}
	}
	// CSI: parameter and intermediate bytes (0x20-0x3f), then one final byte.
	for i < len(s) && s[i] >= 0x20 && s[i] <= 0x3f {
		i++
	}
	if i < len(s) && s[i] >= 0x40 && s[i] <= 0x7e {
		i++
	}
	return i
}

func isBidiControl(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c
}

// upstreamText is what the client keeps of a text an upstream sent: scrubbed
// of credentials, made safe to print, and bounded.
func (c *Client) upstreamText(s string) string {
	s = SafeText(c.Scrub(s))
	if len(s) > maxUpstreamText {
		cut := maxUpstreamText
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "… (truncated)"
	}
	return s
}

// safeErr keeps an error's chain (errors.Is/As still see the cause) while its
// text is scrubbed and made safe: transport errors can quote bytes the
// upstream sent (a malformed status line echoing a header).
type safeErr struct {
	msg string
	err error
}

func (e *safeErr) Error() string { return e.msg }
func (e *safeErr) Unwrap() error { return e.err }

func (c *Client) safeError(err error) error {
	if err == nil {
		return nil
	}
	msg := c.upstreamText(err.Error())
	if msg == err.Error() {
		return err
	}
	return &safeErr{msg: msg, err: err}
}

// RedactHeader returns a copy of h fit to record or print (`check
// --record`, a bug report): credential headers (Authorization, Cookie,
// Set-Cookie, csp-auth-token...) say Redacted, and every other value is
// scrubbed of known credentials and made safe to print.
func (c *Client) RedactHeader(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for name, vs := range h {
		canon := http.CanonicalHeaderKey(name)
		cred := canon == "Set-Cookie"
		for _, n := range credentialHeaders {
			cred = cred || canon == http.CanonicalHeaderKey(n)
		}
		for _, v := range vs {
			if cred {
				out[canon] = append(out[canon], Redacted)
				continue
			}
			out[canon] = append(out[canon], SafeText(c.Scrub(v)))
		}
	}
	return out
}
