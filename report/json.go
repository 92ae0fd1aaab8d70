package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"
)

// writeJSON writes report.json, indented (people read it in reviews too),
// one action at a time: memory stays flat whatever the run's size. The bytes
// are what encoding/json with SetIndent("", "  ") and SetEscapeHTML(false)
// wrote for the same document ("->" stays readable).
func writeJSON(w io.Writer, d *Document) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	buf := make([]byte, 0, 4<<10)
	buf = append(buf, "{\n"...)
	buf = jsonField(buf, 1, "version", false)
	buf = strconv.AppendInt(buf, int64(d.Version), 10)
	buf = jsonStringField(buf, 1, "mode", d.Mode)
	buf = jsonStringField(buf, 1, "provider", d.Provider)
	buf = jsonStringField(buf, 1, "organization", d.Organization)
	buf = jsonTimeField(buf, 1, "started_at", d.StartedAt)
	buf = jsonTimeField(buf, 1, "finished_at", d.FinishedAt)
	buf = jsonField(buf, 1, "roster", true)
	buf = append(buf, "{\n"...)
	buf = jsonField(buf, 2, "file", false)
	buf = appendJSONString(buf, d.Roster.File, false)
	buf = jsonIntField(buf, 2, "rows", d.Roster.Rows)
	buf = append(buf, "\n  }"...)
	buf = jsonField(buf, 1, "summary", true)
	// Every key reconcile.Summary has, in its order: a count added there is
	// reported without a change here.
	sum, err := json.MarshalIndent(d.Summary, "  ", "  ")
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	buf = append(buf, sum...)
	if d.Cancelled {
		buf = jsonField(buf, 1, "cancelled", true)
		buf = append(buf, "true"...)
	}
	buf = jsonField(buf, 1, "actions", true)
	if d.Len() == 0 {
		buf = append(buf, "[]\n}\n"...)
		_, _ = bw.Write(buf)
		return bw.Flush()
	}
	buf = append(buf, '[')
	for i := range d.actions {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendJSONAction(buf, toAction(&d.actions[i]))
		if len(buf) >= 32<<10 {
			if _, err := bw.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	buf = append(buf, "\n  ]\n}\n"...)
	if _, err := bw.Write(buf); err != nil {
		return err
	}
	return bw.Flush()
}

// appendJSONAction appends one action object at the indentation of an
// element of the top-level "actions" array.
func appendJSONAction(buf []byte, a Action) []byte {
	buf = append(buf, "\n    {\n"...)
	buf = jsonField(buf, 3, "op", false)
	buf = appendJSONString(buf, string(a.Op), false)
	buf = jsonStringField(buf, 3, "email", a.Email)
	buf = jsonStringField(buf, 3, "reason", a.Reason)
	buf = jsonStringField(buf, 3, "invitation_id", a.InvitationID)
	buf = jsonStringField(buf, 3, "status", string(a.Status))
	buf = jsonIntField(buf, 3, "attempts", a.Attempts)
	buf = jsonStringField(buf, 3, "error", a.Error)
	buf = jsonStringField(buf, 3, "request_id", a.RequestID)
	if a.Unmanaged {
		buf = jsonField(buf, 3, "unmanaged", true)
		buf = append(buf, "true"...)
	}
	if a.Role != "" {
		buf = jsonStringField(buf, 3, "role", a.Role)
	}
	if a.BindingID != "" {
		buf = jsonStringField(buf, 3, "binding_id", a.BindingID)
	}
	if a.UserID != "" {
		buf = jsonStringField(buf, 3, "user_id", a.UserID)
	}
	buf = jsonStringsField(buf, 3, "api_keys", a.APIKeys)
	buf = jsonStringsField(buf, 3, "bindings", a.Bindings)
	return append(buf, "\n    }"...)
}

const jsonIndent = "            "

// jsonField appends a key at depth (two spaces a level), preceded by the
// separator from the previous member; first is false for a first member.
func jsonField(buf []byte, depth int, key string, notFirst bool) []byte {
	if notFirst {
		buf = append(buf, ",\n"...)
	}
	buf = append(buf, jsonIndent[:2*depth]...)
	buf = appendJSONString(buf, key, false)
	return append(buf, ": "...)
}

func jsonStringField(buf []byte, depth int, key, v string) []byte {
	buf = jsonField(buf, depth, key, true)
	return appendJSONString(buf, v, false)
}

func jsonIntField(buf []byte, depth int, key string, v int) []byte {
	buf = jsonField(buf, depth, key, true)
	return strconv.AppendInt(buf, int64(v), 10)
}

func jsonTimeField(buf []byte, depth int, key string, t time.Time) []byte {
	buf = jsonField(buf, depth, key, true)
	buf = append(buf, '"')
	buf = t.AppendFormat(buf, time.RFC3339Nano)
	return append(buf, '"')
}

// jsonStringsField appends a string array, omitted when empty.
func jsonStringsField(buf []byte, depth int, key string, vs []string) []byte {
	if len(vs) == 0 {
		return buf
	}
	buf = jsonField(buf, depth, key, true)
	buf = append(buf, '[')
	for i, v := range vs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '\n')
		buf = append(buf, jsonIndent[:2*(depth+1)]...)
		buf = appendJSONString(buf, v, false)
	}
	buf = append(buf, '\n')
	buf = append(buf, jsonIndent[:2*depth]...)
	return append(buf, ']')
}

// appendJSONString appends s as a JSON string exactly as encoding/json does
// (invalid UTF-8 becomes U+FFFD; U+2028 and U+2029 are escaped). htmlSafe
// also escapes < > & as encoding/json's default does, so the text can sit
// inside an HTML <script> element.
func appendJSONString(buf []byte, s string, htmlSafe bool) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && (!htmlSafe || (b != '<' && b != '>' && b != '&')) {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch b {
			case '\\', '"':
				buf = append(buf, '\\', b)
			case '\b':
				buf = append(buf, '\\', 'b')
			case '\f':
				buf = append(buf, '\\', 'f')
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
