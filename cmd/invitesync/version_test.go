package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionResolve(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	tests := []struct {
		name          string
		ver, com, dat string
		bi            *debug.BuildInfo
		ok            bool
		want          buildInfo
	}{
		{
			name: "ldflags win over build info",
			ver:  "v1.4.0", com: "abc1234", dat: "2026-12-01T00:00:00Z",
			bi: &debug.BuildInfo{Main: debug.Module{Version: "v9.9.9"},
				Settings: vcs("vcs.revision", "ffffffffffffffffffffffffffffffffffffffff")},
			ok:   true,
			want: buildInfo{"v1.4.0", "abc1234", "2026-12-01T00:00:00Z"},
		},
		{
			name: "go install of a tag: module version, no VCS",
			ver:  "dev", com: "unknown", dat: "unknown",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}},
			ok:   true,
			want: buildInfo{"v1.2.3", "unknown", "unknown"},
		},
		{
			name: "go install @latest of an untagged commit: the pseudo-version names it",
			ver:  "dev", com: "unknown", dat: "unknown",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261203174447-787c5ee4b1a2"}},
			ok:   true,
			want: buildInfo{"v0.0.0-20261203174447-787c5ee4b1a2", "787c5ee4b1a2", "2026-12-03T17:44:47Z"},
		},
		{
			name: "go build in a modified checkout",
			ver:  "dev", com: "unknown", dat: "unknown",
			bi: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"},
				Settings: vcs("vcs", "git", "vcs.revision", "787c5ee4b1a2c3d4e5f60718293a4b5c6d7e8f90",
					"vcs.time", "2026-12-03T17:44:47Z", "vcs.modified", "true")},
			ok:   true,
			want: buildInfo{"dev", "787c5ee4b1a2-dirty", "2026-12-03T17:44:47Z"},
		},
		{
			name: "no build info at all",
			ver:  "dev", com: "unknown", dat: "unknown",
			want: buildInfo{"dev", "unknown", "unknown"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := resolveBuild(tt.ver, tt.com, tt.dat, tt.bi, tt.ok); got != tt.want {
				t.Errorf("resolveBuild = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// A binary built with plain `go build` (no ldflags) in this checkout must not
// say "dev (commit unknown)": the toolchain stamps the git revision.
func TestVersionFromBuildInfo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout (%v): the toolchain has no revision to stamp", err)
	}
	bin := filepath.Join(t.TempDir(), "invitesync")
	if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("version: %v\n%s", err, out)
	}
	if want := string(head[:12]); !strings.Contains(string(out), want) {
		t.Errorf("version output %q lacks the revision %s", out, want)
	}
	if strings.Contains(string(out), "commit unknown") {
		t.Errorf("version output %q still says commit unknown", out)
	}
}

func TestVersionString(t *testing.T) {
	gov := runtime.Version()
	for _, tt := range []struct {
		in   buildInfo
		want string
	}{
		{buildInfo{"v1.4.0", "abc1234", "2026-12-01T00:00:00Z"}, "invitesync v1.4.0 (commit abc1234, built 2026-12-01T00:00:00Z, " + gov + ")"},
		{buildInfo{"v1.2.3", "unknown", "unknown"}, "invitesync v1.2.3 (" + gov + ")"},
		{buildInfo{"dev", "787c5ee4b1a2-dirty", "unknown"}, "invitesync dev (commit 787c5ee4b1a2-dirty, " + gov + ")"},
	} {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestVersionCommand(t *testing.T) {
	var out bytes.Buffer
	code, err := runVersion(context.Background(), nil, &out, &out)
	if err != nil || code != exitOK {
		t.Fatalf("runVersion = %d, %v", code, err)
	}
	if want := currentBuild().String() + "\n"; out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
}
