package sources

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Fuzz targets (run by make fuzz): whatever the input, reading must not
// panic, every problem must have a file and a message, and a roster that is
// valid must survive WriteFile and validate again to the same members.

func FuzzCSV(f *testing.F) {
	addFileSeed(f, "../samples/roster.csv")
	for _, s := range []string{
		"email\nada@example.com\n",
		"email;groups\r\nada@example.com;\"a;b\"\r\n",
		"\ufeffEMAIL , Groups\nada@example.com,a;;a\n,\n",
		"email,email\n\"x\n",
		"email,groups\nAda@example.com,x\nada@example.com,\"y\"z\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRoster(t, "roster.csv", data)
	})
}

func FuzzYAML(f *testing.F) {
	addFileSeed(f, "../samples/roster.yaml")
	for _, s := range []string{
		"members:\n  - email: ada@example.com\n",
		"members:\n  - &a {email: ada@example.com, groups: [x]}\n  - *a\n",
		"members:\n  - <<: {groups: [a]}\n    email: b@example.com\n",
		"members: [{email: a@example.com, service_roles: [{service_definition_link: /l, role: r}]}]\n",
		aliasBomb(3),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRoster(t, "roster.yaml", data)
	})
}

// FuzzXLSX fuzzes the cells of a generated workbook (grid: lines of
// tab-separated cells), and raw bytes read as a workbook (mostly refused
// early: they must be refused cleanly).
func FuzzXLSX(f *testing.F) {
	f.Add("email\tgroups\nada@example.com\ta;b\n", []byte(nil))
	f.Add("EMAIL\texpires_in_days\tx\nada@example.com\t91\ty\n\t\t\nbad\n", []byte(nil))
	if b, err := os.ReadFile("../samples/roster.xlsx"); err == nil {
		f.Add("", b)
	}
	// Workbooks as other writers save them, so the raw bytes mutate from
	// shared strings, formulas, error cells and sheet states too.
	hdr := row(1, sc("A1", 0), is("B1", "groups"))
	f.Add("", handBook{sst: []string{"<t>email</t>", "<r><t>ada@</t></r><r><t>example.com</t></r>"}, sheets: []handSheet{
		{name: "Old", state: "hidden", rows: hdr},
		{name: "People", rows: hdr + row(2, sc("A2", 1), `<c r="B2" t="str"><f>A1</f><v>g_x0041_</v></c>`) +
			row(3, `<c r="A3"><f>X</f></c>`, `<c r="B3" t="e"><v>#N/A</v></c>`) + `<row><c t="b"><v>1</v></c><c t="s"><v>9</v></c></row>`},
	}}.bytes(f))
	f.Add("", handBook{sst: []string{"<t>email</t>", "<t>ada@example.com</t>"}, sheets: []handSheet{
		{name: "Sheet1", rows: row(1, sc("A1", 0)) + row(2, sc("A2", 1))},
	}}.bytes(f))
	f.Fuzz(func(t *testing.T, cells string, raw []byte) {
		if len(raw) > 0 {
			fuzzRoster(t, "raw.xlsx", raw)
		}
		if cells == "" || len(cells) > 8<<10 {
			return
		}
		var g grid
		for _, line := range strings.Split(cells, "\n") {
			g = append(g, strings.Split(line, "\t"))
		}
		path := filepath.Join(t.TempDir(), "grid.xlsx")
		if err := writeXLSXGrid(path, "Sheet1", g); err != nil {
			t.Skip("excelize cannot write this grid:", err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		fuzzRoster(t, "roster.xlsx", data)
	})
}

func addFileSeed(f *testing.F, path string) {
	if b, err := os.ReadFile(path); err == nil {
		f.Add(b)
	}
}

func fuzzRoster(t *testing.T, name string, data []byte) {
	dir := t.TempDir()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	members, err := ReadFile(path, ReadOptions{})
	if err != nil {
		var ps Problems
		if !errors.As(err, &ps) || len(ps) == 0 {
			t.Fatalf("want Problems for a bad roster, got %T %v", err, err)
		}
		checkProblems(t, path, err)
		return
	}
	if len(members) == 0 {
		t.Fatal("an empty roster passed without AllowEmpty")
	}
	again := filepath.Join(dir, "again"+filepath.Ext(name))
	if err := WriteFile(again, members); err != nil {
		t.Fatalf("a valid roster cannot be written back: %v", err)
	}
	back, err := ReadFile(again, ReadOptions{})
	if err != nil {
		t.Fatalf("a valid roster, written back, does not validate: %v", err)
	}
	if !reflect.DeepEqual(stripOrigin(back), stripOrigin(members)) {
		t.Fatalf("round trip changed the members:\n got %+v\nwant %+v", stripOrigin(back), stripOrigin(members))
	}
}
