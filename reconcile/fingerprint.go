package reconcile

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strconv"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/sources"
)

// Fingerprint is a digest of the invitations a plan was computed from,
// independent of the order the upstream listed them in: the sum (in four
// 64-bit lanes) of each invitation's sha256, with the count, hashed again.
// A sum needs no sort and takes one sequential pass; it detects drift, it is
// not meant to resist forgery.
func Fingerprint(current []providers.Invitation) string {
	keys := make([]string, len(current))
	for i := range current {
		keys[i] = sources.Key(current[i].Email)
	}
	return fingerprintKeyed(keys, current)
}

// fingerprintKeyed is Fingerprint with each invitation's email key given.
func fingerprintKeyed(keys []string, current []providers.Invitation) string {
	fp := newFingerprinter()
	for i := range current {
		fp.add(keys[i], &current[i])
	}
	return fp.sum()
}

// fingerprinter accumulates Fingerprint one invitation at a time.
type fingerprinter struct {
	lanes   [4]uint64
	n       uint64
	buf     []byte
	scratch []string
}

func newFingerprinter() *fingerprinter { return &fingerprinter{} }

func (f *fingerprinter) add(key string, inv *providers.Invitation) {
	f.buf, f.scratch = appendInvitation(f.buf[:0], f.scratch, key, inv)
	d := sha256.Sum256(f.buf)
	for i := range f.lanes {
		f.lanes[i] += binary.BigEndian.Uint64(d[8*i:])
	}
	f.n++
}

func (f *fingerprinter) sum() string {
	var b [40]byte
	binary.BigEndian.PutUint64(b[:8], f.n)
	for i, l := range f.lanes {
		binary.BigEndian.PutUint64(b[8+8*i:], l)
	}
	d := sha256.Sum256(b[:])
	return "sha256:" + hex.EncodeToString(d[:])
}

// appendInvitation encodes the fields that make an invitation what it is
// for a plan: id, email key, status and the compared attributes. Fields are
// length-prefixed so no two invitations encode the same. scratch is reused
// for sorting lists.
func appendInvitation(buf []byte, scratch []string, key string, inv *providers.Invitation) ([]byte, []string) {
	field := func(s string) {
		buf = strconv.AppendInt(buf, int64(len(s)), 10)
		buf = append(buf, ':')
		buf = append(buf, s...)
	}
	list := func(s []string) {
		scratch = append(scratch[:0], s...)
		slices.Sort(scratch)
		scratch = slices.Compact(scratch)
		buf = append(buf, '[')
		buf = strconv.AppendInt(buf, int64(len(scratch)), 10)
		for _, v := range scratch {
			field(v)
		}
	}
	field(inv.ID)
	field(key)
	field(string(inv.Status))
	field(inv.RawStatus)
	field(inv.AuthType)
	list(inv.OrgRoles)
	list(inv.Groups)
	scratch = scratch[:0]
	for _, r := range inv.ServiceRoles {
		scratch = append(scratch, r.Link+"="+r.Role)
	}
	list(scratch)
	field(inv.CreatorID)
	if !inv.ExpiresAt.IsZero() {
		buf = binary.BigEndian.AppendUint64(buf, uint64(inv.ExpiresAt.UnixNano()))
	}
	return buf, scratch
}
