package emulator

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// The state file is rewritten whole on every group commit, under the store
// lock, so its encoding is on the hot path of every change. encoding/json's
// reflection made it the bottleneck; these appenders write the same JSON
// (read back with encoding/json; TestStateEncoding checks both agree).

func appendStore(b []byte, st *store) []byte {
	b = append(b, `{"version":`...)
	b = strconv.AppendInt(b, stateVersion, 10)
	b = append(b, `,"store":{"seq":`...)
	b = strconv.AppendInt(b, st.Seq, 10)
	b = append(b, `,"confluent":`...)
	b = appendCOrg(b, st.Confluent)
	if st.ConfluentSecond != nil {
		b = append(b, `,"confluent_second":`...)
		b = appendCOrg(b, st.ConfluentSecond)
	}
	b = append(b, `,"csp":{`...)
	first := true
	for id, o := range st.CSP {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, id)
		b = append(b, ':')
		b = appendCSPOrg(b, o)
	}
	b = append(b, `},"azure":{`...)
	first = true
	for k, o := range st.Azure {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, k)
		b = append(b, ':')
		b = appendCOrg(b, o)
	}
	b = append(b, '}')
	if st.CSPDeclared {
		b = append(b, `,"csp_declared":true`...)
	}
	return append(b, "}}"...)
}

func appendCOrg(b []byte, o *cOrg) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, o.ID)
	b = append(b, `,"invitations":`...)
	if o.Invs == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, inv := range o.Invs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCInv(b, inv)
		}
		b = append(b, ']')
	}
	b = append(b, `,"users":{`...)
	first := true
	for k, u := range o.Users {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, k)
		b = append(b, ':')
		b = appendCUser(b, u)
	}
	b = append(b, '}')
	b = appendCOrgAccess(b, o)
	return append(b, '}')
}

func appendCInv(b []byte, inv *cInv) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, inv.Seq, 10)
	b = appendField(b, "id", inv.ID)
	b = appendField(b, "email", inv.Email)
	b = appendOptField(b, "auth_type", inv.AuthType)
	b = appendField(b, "status", inv.Status)
	b = appendOptField(b, "creator_id", inv.CreatorID)
	b = appendField(b, "user_id", inv.UserID)
	b = appendTime(b, "created_at", inv.CreatedAt)
	b = appendTime(b, "updated_at", inv.UpdatedAt)
	b = appendTime(b, "expires_at", inv.ExpiresAt)
	b = appendOptTime(b, "accepted_at", inv.AcceptedAt)
	b = appendOptTime(b, "deleted_at", inv.DeletedAt)
	return append(b, '}')
}

func appendCUser(b []byte, u *cUser) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, u.ID)
	b = appendField(b, "email", u.Email)
	b = appendOptField(b, "auth_type", u.AuthType)
	b = appendTime(b, "created_at", u.CreatedAt)
	if u.Member {
		b = append(b, `,"member":true`...)
	}
	if u.MemberSeq != 0 {
		b = append(b, `,"member_seq":`...)
		b = strconv.AppendInt(b, u.MemberSeq, 10)
	}
	b = appendOptTime(b, "accepted_at", u.AcceptedAt)
	return append(b, '}')
}

func appendCSPOrg(b []byte, o *cspOrg) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, o.ID)
	b = append(b, `,"invitations":`...)
	if o.Invs == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, inv := range o.Invs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCSPInv(b, inv)
		}
		b = append(b, ']')
	}
	b = appendCSPUsers(b, o.Users) // csp_users.go
	return append(b, '}')
}

func appendCSPInv(b []byte, inv *cspInv) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, inv.Seq, 10)
	b = appendField(b, "id", inv.ID)
	b = appendField(b, "username", inv.Username)
	b = appendField(b, "status", inv.Status)
	b = appendOptStrings(b, "org_roles", inv.OrgRoles)
	if len(inv.ServiceRoles) > 0 {
		b = append(b, `,"service_roles":[`...)
		for i, sr := range inv.ServiceRoles {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"link":`...)
			b = appendString(b, sr.Link)
			b = append(b, `,"roles":`...)
			b = appendStrings(b, sr.Roles)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendOptStrings(b, "custom_roles", inv.CustomRoles)
	b = appendOptStrings(b, "groups", inv.Groups)
	b = appendField(b, "invited_by", inv.InvitedBy)
	b = appendField(b, "generated_by", inv.GeneratedBy)
	b = appendTime(b, "generated_at", inv.GeneratedAt)
	b = appendTime(b, "expires_at", inv.ExpiresAt)
	b = appendOptTime(b, "redeemed_at", inv.RedeemedAt)
	b = appendOptField(b, "redeemed_by", inv.RedeemedBy)
	b = appendOptTime(b, "revoked_at", inv.RevokedAt)
	b = appendOptField(b, "revoked_by", inv.RevokedBy)
	if inv.MemberSynced {
		b = append(b, `,"member_synced":true`...)
	}
	return append(b, '}')
}

func appendField(b []byte, name, v string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, v)
}

func appendOptField(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	return appendField(b, name, v)
}

func appendTime(b []byte, name string, t time.Time) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':', '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

func appendOptTime(b []byte, name string, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	return appendTime(b, name, t)
}

func appendOptStrings(b []byte, name string, ss []string) []byte {
	if len(ss) == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendStrings(b, ss)
}

// appendStrings writes a JSON array (null for nil, as encoding/json does).
func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD (as encoding/json does).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
