package emulator

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// The hand-written state encoding says the same as encoding/json would.
func TestStateEncoding(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("X", 3600))
	st := newStore()
	weird := []string{"", "plain", `quote " and \ backslash`, "tab\tnl\ncr\r", "ctl \x00\x01\x1f", "ünïcødé ✓ 😀", "bad \xff utf8", "<html> & \u2028"}
	for i, w := range weird {
		inv := st.Confluent.add(st, w+"@example.com", authSSO, w, now, now.Add(time.Hour))
		if i%2 == 0 {
			st.Confluent.accept(st, inv, now.Add(time.Minute))
		}
	}
	az := st.azureOrg("s/"+weird[3]+"/o", true)
	az.add(st, "a@example.com", "", "", now, now.Add(time.Hour)).DeletedAt = now
	o := st.cspOrgFor(weird[5], true)
	o.add(&cspInv{Seq: st.next(), ID: newUUID(), Username: "u@example.com", Status: cspAvailable, GeneratedAt: now, ExpiresAt: now})
	o.add(&cspInv{
		Seq: st.next(), ID: newUUID(), Username: weird[6], Status: cspRevoked,
		OrgRoles: weird, ServiceRoles: []cspServiceRole{{Link: weird[2], Roles: weird}, {Link: "x", Roles: nil}},
		CustomRoles: []string{"c"}, Groups: []string{weird[7]}, InvitedBy: weird[4], GeneratedBy: "g",
		GeneratedAt: now, ExpiresAt: now, RedeemedAt: now, RedeemedBy: "r", RevokedAt: now, RevokedBy: "v",
	})
	st.cspOrgFor("empty", true)

	fast := appendStore(nil, st)
	slow, err := json.Marshal(stateFile{Version: stateVersion, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := json.Unmarshal(fast, &a); err != nil {
		t.Fatalf("hand-written encoding is not JSON: %v\n%s", err, fast)
	}
	if err := json.Unmarshal(slow, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("encodings differ:\nfast %s\nslow %s", fast, slow)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", `"\`, "\x00\x7f\x80", "\xed\xa0\x80", "é\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var fast, slow string
		if err := json.Unmarshal(appendString(nil, s), &fast); err != nil {
			t.Fatalf("appendString(%q) is not JSON: %v", s, err)
		}
		j, _ := json.Marshal(s)
		if err := json.Unmarshal(j, &slow); err != nil {
			t.Fatal(err)
		}
		if fast != slow {
			t.Errorf("appendString(%q) reads %q, encoding/json %q", s, fast, slow)
		}
	})
}
