package report

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sanitize makes upstream-sourced text safe to show a person: every control
// character (C0, DEL, C1 — so no ANSI CSI or OSC sequence can reach a
// terminal), line and paragraph separators, invisible format characters
// (bidi overrides such as U+202E, zero-width spaces) and invalid UTF-8 are
// replaced by a visible escape such as \x1b, \n or \u202e. A reviewer sees
// that something odd was there instead of having the screen rewritten, a
// line forged, or an address shown reversed. Printable text is returned as is.
//
// JSON reports keep values exact (JSON escapes them); every other format and
// the terminal use Sanitize (or its variants below).
func Sanitize(s string) string { return sanitize(s, false) }

// sanitizeCell is Sanitize for spreadsheet cells, where tab, CR and LF are
// ordinary cell content (and formula neutralising looks at them).
func sanitizeCell(s string) string { return sanitize(s, true) }

func sanitize(s string, keepSpace bool) string {
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			if keepSpace && (c == '\t' || c == '\n' || c == '\r') {
				i++
				continue
			}
			break
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || unsafeRune(r) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s // the common case: nothing to replace, nothing allocated
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c >= 0x20 && c < 0x7f:
				b.WriteByte(c)
			case keepSpace && (c == '\t' || c == '\n' || c == '\r'):
				b.WriteByte(c)
			case c == '\n':
				b.WriteString(`\n`)
			case c == '\r':
				b.WriteString(`\r`)
			case c == '\t':
				b.WriteString(`\t`)
			default:
				writeHexEscape(&b, `\x`, uint32(c), 2)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			writeHexEscape(&b, `\x`, uint32(c), 2)
		case unsafeRune(r):
			writeHexEscape(&b, `\u`, uint32(r), 4)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// unsafeRune reports non-ASCII runes that must not be shown raw: C1 controls
// (0x9b is CSI and 0x9d OSC on some terminals), line/paragraph separators
// and format characters (bidi embeddings, overrides and isolates, zero-width
// spaces, the BOM). The zero-width joiner stays: emoji sequences need it.
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x200d:
		return false
	case r == 0x2028 || r == 0x2029:
		return true
	}
	return unicode.Is(unicode.Cf, r)
}

const hexDigits = "0123456789abcdef"

func writeHexEscape(b *strings.Builder, prefix string, v uint32, width int) {
	if v > 0xffff {
		prefix, width = `\U`, 8
	}
	b.WriteString(prefix)
	for shift := (width - 1) * 4; shift >= 0; shift -= 4 {
		b.WriteByte(hexDigits[(v>>uint(shift))&0xf])
	}
}
