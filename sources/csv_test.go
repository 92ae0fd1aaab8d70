package sources

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestCSV(t *testing.T) {
	ada := Member{Email: "ada@example.com", Groups: []string{"g-eng", "g-ops"}}
	bob := Member{Email: "bob@example.com", AuthType: AuthSSO}
	tests := []struct {
		name    string
		data    string
		file    string // default roster.csv
		opts    ReadOptions
		want    []string // problems (brief)
		members []Member
	}{
		{
			name:    "comma",
			data:    "email,groups,auth_type\nada@example.com,g-eng;g-ops,\nbob@example.com,,AUTH_TYPE_SSO\n",
			members: []Member{ada, bob},
		},
		{
			name:    "semicolon detected, quoted lists",
			data:    "email;groups;auth_type\nada@example.com;\"g-eng;g-ops\";\nbob@example.com;;AUTH_TYPE_SSO\n",
			members: []Member{ada, bob},
		},
		{
			name:    "semicolon given",
			data:    "email;groups\nada@example.com;\"g-eng;g-ops\"\n",
			opts:    ReadOptions{Delimiter: ';'},
			members: []Member{ada},
		},
		{
			name: "wrong delimiter given",
			data: "email;groups\nada@example.com;g\n",
			opts: ReadOptions{Delimiter: ','},
			want: []string{
				`1:: missing required column "email"`,
				`1:email;groups: unknown column "email;groups": is the delimiter wrong? the columns are ` + allColumnsMsg + ", separated by ',' or ';'",
			},
		},
		{
			name:    "BOM and CRLF",
			data:    "\ufeffemail,groups\r\nada@example.com,g-eng;g-ops\r\n",
			members: []Member{ada},
		},
		{
			name: "quoted field with a line break: row is its first line",
			data: "email,groups\n\"ada@example.com\",\"g-eng;\ng-ops\"\nbad,\n",
			want: []string{
				"2:groups: holds a line break (U+000A) at byte 7: a roster cell is one line (separate list items with ';')",
				`4:email: email "bad" is not a valid address`,
			},
			members: nil,
		},
		{
			name: "short and long rows",
			data: "email,auth_type,groups\nada@example.com\nbob@example.com,AUTH_TYPE_SSO,,extra\n",
			want: []string{"3:: value in column 4, which has no header"},
		},
		{
			name: "broken quoting: the row is named and later rows still checked",
			data: "email,groups\nada@example.com,g\"x\nbob@example.com,\"a\"b\nbad,\n",
			want: []string{
				`2:: broken CSV quoting: bare " in non-quoted-field (line 2, column 18); a field with ",", "\"" or a line break must be wholly in double quotes, and a quote inside it doubled`,
				`3:: broken CSV quoting: extraneous or missing " in quoted-field (line 3, column 19); a field with ",", "\"" or a line break must be wholly in double quotes, and a quote inside it doubled`,
				`4:email: email "bad" is not a valid address`,
			},
		},
		{
			name: "broken header",
			data: "email,\"groups\nada@example.com,g\n",
			want: []string{`1:: broken CSV quoting: extraneous or missing " in quoted-field (line 2, column 19); a field with ",", "\"" or a line break must be wholly in double quotes, and a quote inside it doubled`},
		},
		{
			name:    "blank lines before the header",
			data:    "\n  \nemail\nada@example.com\n",
			members: []Member{{Email: "ada@example.com"}},
		},
		{
			name: "empty file",
			data: "",
			want: []string{"0:: the roster has no members; an empty roster under --policy sync would revoke every invitation: " + hintAllowEmpty},
		},
		{
			name: "empty file allowed",
			data: "",
			opts: ReadOptions{AllowEmpty: true},
		},
		{
			name: "zip named .csv",
			data: zipMagic + "rest of a workbook",
			want: []string{"0:: not a CSV file: it is a zip archive (an XLSX workbook?); name it .xlsx or pass --format xlsx"},
		},
		{
			name: "binary named .csv",
			data: "email\n\x00\x01\x02",
			want: []string{"0:: not a CSV file: it holds binary data (NUL bytes)"},
		},
		{
			name: "legacy xls named .csv",
			data: oleMagic + "\x00\x00",
			want: []string{"0:: not a CSV file: it is a legacy .xls or password-protected workbook; save it as an unprotected .xlsx"},
		},
		{
			name: "UTF-16",
			data: "\xff\xfee\x00m\x00",
			want: []string{"0:: not a CSV file in UTF-8: it is UTF-16 text; save it as UTF-8"},
		},
		{
			name: "Latin-1",
			data: "email,groups\nada@example.com,caf\xe9\n",
			want: []string{"0:: not a CSV file in UTF-8: it holds bytes that are not UTF-8 text; save it as UTF-8"},
		},
		{
			name: "Latin-1 past the sniffed start is reported on its row",
			data: "email,groups\n" + strings.Repeat("x@example.com,\n", 0) + strings.Repeat(" ", maxSniffBytes) + "\nada@example.com,caf\xe9\n",
			want: []string{"3:groups: groups is not valid UTF-8 text; save the file as UTF-8"},
		},
		{
			name: "a 10 MB line is refused, not read",
			data: "email\nada@example.com\n" + strings.Repeat("x", 10<<20) + "\n",
			want: []string{"3:: line is longer than 1 MiB; a roster line is a few hundred bytes: is this the right file?"},
		},
		{
			name: "a huge list cell is counted after removing duplicates",
			data: "email,groups\na@example.com," + hugeList(60_000) + ";" + hugeList(60_000) + "\n",
			want: []string{"2:groups: 60000 groups; at most 15 allowed"},
		},
		{
			name:    "format given for another extension",
			file:    "roster.txt",
			data:    "email\nada@example.com\n",
			opts:    ReadOptions{Format: "csv"},
			members: []Member{{Email: "ada@example.com"}},
		},
		{
			name: "unknown extension",
			file: "roster.txt",
			data: "email\nada@example.com\n",
			want: []string{`0:: cannot tell the roster format from the extension ".txt": name it .csv, .xlsx or .yaml, or pass --format`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := tc.file
			if name == "" {
				name = "roster.csv"
			}
			path := filepath.Join(t.TempDir(), name)
			if err := os.WriteFile(path, []byte(tc.data), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ReadFile(path, tc.opts)
			checkProblems(t, path, err)
			if b := brief(t, err); !slices.Equal(b, tc.want) {
				t.Fatalf("problems:\n got %q\nwant %q", b, tc.want)
			}
			if tc.want == nil && !reflect.DeepEqual(stripOrigin(got), nonNil(tc.members)) {
				t.Errorf("members:\n got %+v\nwant %+v", stripOrigin(got), tc.members)
			}
		})
	}
}

func hugeList(n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = "g" + strconv.Itoa(i)
	}
	return strings.Join(items, ";")
}

func nonNil(ms []Member) []Member {
	if ms == nil {
		return []Member{}
	}
	return ms
}

func TestCSVBadDelimiter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.csv")
	if err := os.WriteFile(path, []byte("email\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(path, ReadOptions{Delimiter: '"'})
	var ps Problems
	if err == nil || errors.As(err, &ps) {
		t.Fatalf("want a plain error for a bad delimiter, got %v", err)
	}
}

func TestCSVMissingFile(t *testing.T) {
	_, err := ReadFile(filepath.Join(t.TempDir(), "none.csv"), ReadOptions{})
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("want a wrapped not-exist error, got %v", err)
	}
}

// TestGuard checks the size and line caps directly (a 256 MiB file is too
// big for a unit test).
func TestGuard(t *testing.T) {
	tests := []struct {
		name          string
		data          string
		max, maxLine  int64
		wantLine      int
		wantErrSubstr string
	}{
		{"fits", "ab\ncd\n", 10, 3, 0, ""},
		{"line too long", "ab\ncdef\n", 100, 3, 2, "longer than"},
		{"file too big", "ab\ncd\nef\n", 7, 3, 0, "over the"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := &guard{r: strings.NewReader(tc.data), max: tc.max, maxLine: tc.maxLine, line: 1}
			var buf bytes.Buffer
			_, err := buf.ReadFrom(g)
			var le *limitError
			switch {
			case tc.wantErrSubstr == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.wantErrSubstr != "" && (!errors.As(err, &le) || le.line != tc.wantLine || !strings.Contains(le.msg, tc.wantErrSubstr)):
				t.Fatalf("got %v, want line %d %q", err, tc.wantLine, tc.wantErrSubstr)
			}
		})
	}
}

func TestDetectDelimiter(t *testing.T) {
	tests := []struct {
		head string
		want rune
	}{
		{"email,groups\n", ','},
		{"email;groups\n", ';'},
		{"email\n", ','},
		{"\"a;b;c\",x\n", ','},
		{"email;groups", ';'},
		{"email,groups\na;b;c;d\n", ','},
	}
	for _, tc := range tests {
		if got := detectDelimiter([]byte(tc.head)); got != tc.want {
			t.Errorf("detectDelimiter(%q) = %q, want %q", tc.head, got, tc.want)
		}
	}
}
