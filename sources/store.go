package sources

import (
	"hash/maphash"
	"runtime/debug"
	"strings"
)

// bigRoster is the size from which building the members returns freed
// memory to the system first (a full GC: tens of ms per 100k rows).
const bigRoster = 1 << 20

// store keeps a roster's members compactly while it is read, and finds
// duplicate emails as rows stream in. A Member is 176 bytes and most rows of
// a big roster are an email and little else, so a row is kept as 32 bytes
// (plus its lists, only when it has any) in fixed-size chunks that never
// need a copy to grow; the []Member is built once, at its exact size, when
// the roster turned out valid. Duplicates are found through a map from a
// 64-bit hash of the key to the row that has it, not a map of strings.
type store struct {
	chunks  [][]compactRow
	extras  [][]rowLists
	items   [][]string // the arena: members' lists are slices of it
	intern  map[string]string
	n       int // rows kept
	nExtras int
	hash    func(string) uint64 // maphash with a per-roster seed; tests force collisions
	seen    map[uint64]int32    // hash of Key(email) -> index of the row
	collide map[string]int32    // keys whose hash another key holds (rare)
}

const storeChunk = 1 << 15

// compactRow is a kept row. Auth type and expiry are small enumerations;
// lists are runs of strings in the items arena (org roles, groups, roles,
// in that order), or, when a row has service roles or a huge list, a
// rowLists entry.
type compactRow struct {
	email   string
	row     int32
	lists   int32 // > 0: 1 + index into extras; < 0: -(1 + index into items); 0: no lists
	auth    uint8 // 0 none, 1 local, 2 sso
	expires uint8 // 0 = upstream default
	nOrg    uint8 // items of each list in the arena
	nGroups uint8
	nRoles  uint8
}

// itemChunk is the size of one arena chunk; a row's items never straddle two.
const itemChunk = 1 << 16

// maxInterned bounds the table that makes repeated list items (the same
// few groups and roles on every row) one string each.
const maxInterned = 1 << 16

type rowLists struct {
	orgRoles, groups, roles []string
	serviceRoles            []ServiceRole
}

func newStore() *store {
	seed := maphash.MakeSeed()
	return &store{hash: func(k string) uint64 { return maphash.String(seed, k) }, seen: make(map[uint64]int32)}
}

func (s *store) at(i int32) *compactRow {
	return &s.chunks[i/storeChunk][i%storeChunk]
}

// firstRow returns the row that already holds email's key, or 0, and
// remembers the key for row index next (the index the row will get when
// kept) when it is new.
func (s *store) firstRow(email string) int {
	k := Key(email)
	h := s.hash(k)
	idx, ok := s.seen[h]
	if !ok {
		s.seen[h] = int32(s.n)
		return 0
	}
	if prev := s.at(idx); Key(prev.email) == k {
		return int(prev.row)
	}
	// Another key has this hash: fall back to the key itself.
	if s.collide == nil {
		s.collide = make(map[string]int32)
	}
	if idx, ok := s.collide[k]; ok {
		return int(s.at(idx).row)
	}
	s.collide[k] = int32(s.n)
	return 0
}

func (s *store) add(email string, row int, auth string, expires int, l rowLists) {
	if s.n%storeChunk == 0 {
		s.chunks = append(s.chunks, make([]compactRow, 0, storeChunk))
	}
	r := compactRow{email: email, row: int32(row), expires: uint8(expires)}
	switch auth {
	case AuthLocal:
		r.auth = 1
	case AuthSSO:
		r.auth = 2
	}
	n := len(l.orgRoles) + len(l.groups) + len(l.roles)
	switch {
	case l.serviceRoles == nil && n > 0 && n <= itemChunk && len(l.orgRoles) <= 255 && len(l.groups) <= 255 && len(l.roles) <= 255:
		// A CSV row's values are substrings of its line: copy the email
		// and intern the items, so the line itself can be freed.
		r.email = strings.Clone(email)
		last := len(s.items) - 1
		if last < 0 || len(s.items[last])+n > itemChunk {
			s.items = append(s.items, make([]string, 0, itemChunk))
			last++
		}
		r.lists = -int32(last*itemChunk + len(s.items[last]) + 1)
		r.nOrg, r.nGroups, r.nRoles = uint8(len(l.orgRoles)), uint8(len(l.groups)), uint8(len(l.roles))
		for _, list := range [][]string{l.orgRoles, l.groups, l.roles} {
			for _, it := range list {
				s.items[last] = append(s.items[last], s.interned(it))
			}
		}
	case l.orgRoles != nil || l.groups != nil || l.roles != nil || l.serviceRoles != nil:
		if s.nExtras%storeChunk == 0 {
			s.extras = append(s.extras, make([]rowLists, 0, storeChunk))
		}
		last := len(s.extras) - 1
		s.extras[last] = append(s.extras[last], l)
		s.nExtras++
		r.lists = int32(s.nExtras)
	}
	last := len(s.chunks) - 1
	s.chunks[last] = append(s.chunks[last], r)
	s.n++
}

// members builds the []Member, dropping the compact rows as it goes.
// rolesColumn makes Roles non-nil on every member (the column is present).
func (s *store) members(file, sheet string, rolesColumn bool) []Member {
	s.seen, s.collide = nil, nil
	if s.n >= bigRoster {
		// The reader's garbage and the duplicate index are dead now; hand
		// their pages back before the one big allocation, or the process
		// holds both at its peak (5M rows: 1.34 GiB without this, 1.14 GiB
		// with it; BenchmarkReadCSV5M).
		debug.FreeOSMemory()
	}
	out := make([]Member, 0, s.n)
	for ci, chunk := range s.chunks {
		for _, r := range chunk {
			m := Member{Email: r.email, ExpiresInDays: int(r.expires), Origin: Origin{File: file, Sheet: sheet, Row: int(r.row)}}
			switch r.auth {
			case 1:
				m.AuthType = AuthLocal
			case 2:
				m.AuthType = AuthSSO
			}
			switch {
			case r.lists > 0:
				i := int(r.lists - 1)
				l := &s.extras[i/storeChunk][i%storeChunk]
				m.OrgRoles, m.Groups, m.Roles, m.ServiceRoles = l.orgRoles, l.groups, l.roles, l.serviceRoles
			case r.lists < 0:
				at := int(-r.lists - 1)
				chunk, off := s.items[at/itemChunk], at%itemChunk
				// Capped slices: appending to one member's list copies it
				// instead of writing over the next member's.
				take := func(n uint8) []string {
					if n == 0 {
						return nil
					}
					x := chunk[off : off+int(n) : off+int(n)]
					off += int(n)
					return x
				}
				m.OrgRoles, m.Groups, m.Roles = take(r.nOrg), take(r.nGroups), take(r.nRoles)
			}
			if rolesColumn && m.Roles == nil {
				m.Roles = []string{}
			}
			out = append(out, m)
		}
		s.chunks[ci] = nil
	}
	s.chunks, s.extras, s.items, s.intern = nil, nil, nil, nil
	return out
}

func (s *store) interned(x string) string {
	if y, ok := s.intern[x]; ok {
		return y
	}
	x = strings.Clone(x)
	if len(s.intern) < maxInterned {
		if s.intern == nil {
			s.intern = make(map[string]string)
		}
		s.intern[x] = x
	}
	return x
}
