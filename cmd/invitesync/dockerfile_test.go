package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// There is no Docker engine where the tests run, so the Dockerfile is read,
// not built: these checks hold the settings an image build would depend on.

type instruction struct {
	cmd  string // upper case: FROM, RUN, COPY...
	args string
	line int
}

type stage struct {
	from, name string
	ins        []instruction
}

// parseDockerfile splits a Dockerfile into stages of instructions, joining
// backslash continuations and dropping comments, as the Dockerfile frontend does.
func parseDockerfile(t *testing.T, file string) []stage {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stages []stage
	var cur strings.Builder
	start := 0
	flush := func() {
		s := strings.TrimSpace(cur.String())
		cur.Reset()
		if s == "" {
			return
		}
		cmd, args, _ := strings.Cut(s, " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			st := stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
			return
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				t.Fatalf("%s:%d: %s before the first FROM", file, in.line, in.cmd)
			}
			return
		}
		stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, in)
	}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		flush()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	flush()
	return stages
}

func makefileVar(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + name + `\s*[:?]?=\s*(\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("Makefile sets no %s", name)
	}
	return string(m[1])
}

func goModVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	return string(m[1])
}

// versionAtLeast compares dotted numeric versions ("1.26.8" >= "1.26").
func versionAtLeast(have, want string) bool {
	h, w := strings.Split(have, "."), strings.Split(want, ".")
	for i := range w {
		wi, _ := strconv.Atoi(w[i])
		hi := 0
		if i < len(h) {
			hi, _ = strconv.Atoi(h[i])
		}
		if hi != wi {
			return hi > wi
		}
	}
	return true
}

const imageBinary = "/usr/local/bin/invitesync"

func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, filepath.Join("..", "..", "Dockerfile"))
	if len(stages) < 2 {
		t.Fatalf("want a multi-stage build (builder + runtime), got %d stage(s)", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]

	// Builder: the official Go image at least at go.mod's version, building with the Makefile.
	img, tag, _ := strings.Cut(build.from, ":")
	if img != "golang" || tag == "" {
		t.Errorf("builder FROM %s, want golang:<version>", build.from)
	}
	goVer, _, _ := strings.Cut(tag, "-")
	if want := goModVersion(t); !versionAtLeast(goVer, want) {
		t.Errorf("builder Go %s is older than go.mod's go %s", goVer, want)
	}
	var workdir, makeRun string
	cgoOff := false
	for _, in := range build.ins {
		switch in.cmd {
		case "WORKDIR":
			workdir = in.args
		case "ENV":
			if regexp.MustCompile(`\bCGO_ENABLED=0\b`).MatchString(in.args) {
				cgoOff = true
			}
		case "RUN":
			if strings.Contains(in.args, "make build") {
				makeRun = in.args
			}
			if strings.Contains(in.args, "CGO_ENABLED=0") {
				cgoOff = true
			}
		}
	}
	if !cgoOff {
		t.Error("the builder does not set CGO_ENABLED=0")
	}
	if makeRun == "" {
		t.Fatal("the builder does not run `make build`: the image would not hold what the Makefile ships")
	}
	bin := makefileVar(t, "BIN")
	if m := regexp.MustCompile(`\bBIN=(\S+)`).FindStringSubmatch(makeRun); m != nil {
		bin = m[1]
	}
	builtAt := path.Join(workdir, bin)

	// Runtime: distroless static, pinned (tag or digest, never latest), nonroot, the binary where the README says.
	if !strings.HasPrefix(final.from, "gcr.io/distroless/static-debian12:nonroot") {
		t.Errorf("runtime FROM %s, want gcr.io/distroless/static-debian12:nonroot", final.from)
	}
	if strings.Contains(final.from, ":latest") || !strings.Contains(final.from, ":") {
		t.Errorf("runtime image %s is not pinned", final.from)
	}
	var copied, user string
	var entry []string
	for _, in := range final.ins {
		switch in.cmd {
		case "COPY":
			f := strings.Fields(in.args)
			if len(f) == 3 && f[0] == "--from="+build.name {
				if f[1] != builtAt {
					t.Errorf("line %d copies %s, but make build writes %s", in.line, f[1], builtAt)
				}
				copied = f[2]
			}
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(in.args), &entry); err != nil {
				t.Errorf("line %d: ENTRYPOINT %s is not the exec (JSON) form: signals would go to a shell", in.line, in.args)
			}
		}
	}
	if copied != imageBinary {
		t.Errorf("the binary is copied to %q, want %s", copied, imageBinary)
	}
	if u, _, _ := strings.Cut(user, ":"); u != "nonroot" && u != "65532" {
		t.Errorf("USER %q, want nonroot (65532)", user)
	}
	if len(entry) != 1 || entry[0] != imageBinary {
		t.Errorf("ENTRYPOINT %v, want [%s]", entry, imageBinary)
	}

	// No credential is ever a build argument or baked into a layer.
	secretish := regexp.MustCompile(`(?i)secret|token|password|passwd|api_?key|credential|private`)
	for _, st := range stages {
		for _, in := range st.ins {
			if in.cmd == "ARG" || in.cmd == "ENV" {
				if name, _, _ := strings.Cut(in.args, "="); secretish.MatchString(name) {
					t.Errorf("line %d: %s %s looks like a credential; pass credentials at run time", in.line, in.cmd, in.args)
				}
			}
			if in.cmd == "RUN" && strings.Contains(in.args, "--mount=type=secret") {
				t.Errorf("line %d: the build needs no secret", in.line)
			}
		}
	}

	// The README, once it describes the image, names the same path.
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(readme), "Dockerfile") && !strings.Contains(string(readme), imageBinary) {
		t.Errorf("README mentions the Dockerfile but not the binary's path in the image, %s", imageBinary)
	}
}

// dockerignoreMatcher applies .dockerignore rules: patterns anchored at the
// context root, Go filepath.Match syntax plus "**", a match on a directory
// excludes everything under it, and "!" re-includes.
type dockerignoreMatcher struct {
	res     []*regexp.Regexp
	exclude []bool
}

func loadDockerignore(t *testing.T, file string) dockerignoreMatcher {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var m dockerignoreMatcher
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		excl := true
		if strings.HasPrefix(line, "!") {
			excl, line = false, strings.TrimSpace(line[1:])
		}
		p := strings.TrimPrefix(filepath.ToSlash(filepath.Clean(line)), "/")
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(p); i++ {
			switch c := p[i]; {
			case strings.HasPrefix(p[i:], "**/"):
				re.WriteString("(.*/)?")
				i += 2
			case strings.HasPrefix(p[i:], "**"):
				re.WriteString(".*")
				i++
			case c == '*':
				re.WriteString("[^/]*")
			case c == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		re.WriteString("(/.*)?$") // a directory takes its contents with it
		m.res = append(m.res, regexp.MustCompile(re.String()))
		m.exclude = append(m.exclude, excl)
	}
	return m
}

func (m dockerignoreMatcher) excluded(p string) bool {
	out := false
	for i, re := range m.res {
		if re.MatchString(p) {
			out = m.exclude[i]
		}
	}
	return out
}

func TestDockerignore(t *testing.T) {
	m := loadDockerignore(t, filepath.Join("..", "..", ".dockerignore"))
	mustExclude := []string{
		"bin/invitesync", ".git/HEAD", ".git/objects/ab/cdef",
		"invitesync-report/report.json", "demo/report/report.html", "reports/latest/report.md",
		"ledger.jsonl", "data/ledger.jsonl", "invitesync-report/audit.jsonl",
		"plan.json", "ci/plan.json", "invitesync.env", "deploy/.env", "metrics/invitesync.prom",
	}
	for _, p := range mustExclude {
		if !m.excluded(p) {
			t.Errorf(".dockerignore lets %s into the build context", p)
		}
	}
	// Everything the build needs stays: every file git tracks that is not a test.
	files := []string{"go.mod", "go.sum", "Makefile", "cmd/invitesync/main.go", "report/report.go"}
	if out, err := exec.Command("git", "-C", filepath.Join("..", ".."), "ls-files").Output(); err == nil {
		files = append(files, strings.Fields(string(out))...)
	}
	for _, p := range files {
		if strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") || p == "go.mod" || p == "go.sum" || p == "Makefile" {
			if m.excluded(p) {
				t.Errorf(".dockerignore excludes %s, which the build needs", p)
			}
		}
	}
}

func TestDockerignoreMatcher(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, ".dockerignore")
	if err := os.WriteFile(f, []byte("bin/\n*.jsonl\n**/*.prom\n!keep.prom\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := loadDockerignore(t, f)
	for p, want := range map[string]bool{
		"bin/x": true, "bin": true, "binary/x": false,
		"a.jsonl": true, "sub/a.jsonl": false, // anchored at the root, as Docker does
		"x.prom": true, "a/b/x.prom": true, "keep.prom": false,
	} {
		if got := m.excluded(p); got != want {
			t.Errorf("excluded(%q) = %v, want %v", p, got, want)
		}
	}
}
