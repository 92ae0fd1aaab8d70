package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// Set by the Makefile through -ldflags "-X main.version=... -X main.commit=... -X main.date=...".
// Left at these defaults (go install, go build), the module's build info fills them.
var (
	version = "dev"
	commit  = "unknown"
	date    = "unknown"
)

var pseudoVersion = regexp.MustCompile(`(\d{14})-([0-9a-f]{12})(\+incompatible)?(\+dirty)?$`)

// buildInfo is what `invitesync version` (and `--version`) prints.
type buildInfo struct {
	Version, Commit, Date string
}

// String leaves out what is not known (a tagged `go install` through the
// module proxy records no commit and no build time) rather than print "unknown".
func (b buildInfo) String() string {
	var parts []string
	if b.Commit != "" && b.Commit != "unknown" {
		parts = append(parts, "commit "+b.Commit)
	}
	if b.Date != "" && b.Date != "unknown" {
		parts = append(parts, "built "+b.Date)
	}
	parts = append(parts, runtime.Version())
	return fmt.Sprintf("invitesync %s (%s)", b.Version, strings.Join(parts, ", "))
}

// currentBuild is the version of this binary: the ldflags values when set,
// else what the Go toolchain recorded in the binary.
func currentBuild() buildInfo {
	bi, ok := debug.ReadBuildInfo()
	return resolveBuild(version, commit, date, bi, ok)
}

// resolveBuild prefers each ldflags value the Makefile set and falls back, per
// field, to the build info: `go install module@v1.2.3` records the module
// version, and a build from a git checkout records vcs.revision and vcs.time.
func resolveBuild(ver, com, dat string, bi *debug.BuildInfo, ok bool) buildInfo {
	out := buildInfo{Version: ver, Commit: com, Date: dat}
	if !ok || bi == nil {
		return out
	}
	// "(devel)" is what the toolchain records when it knows no version: no better than "dev".
	if out.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		out.Version = bi.Main.Version
	}
	var rev, at string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	// A module fetched through the proxy has no VCS settings, but its
	// pseudo-version (v0.0.0-20260102150405-abcdef123456) names the commit and its time.
	if m := pseudoVersion.FindStringSubmatch(bi.Main.Version); m != nil {
		if rev == "" {
			rev = m[2]
		}
		if t, err := time.Parse("20060102150405", m[1]); at == "" && err == nil {
			at = t.UTC().Format(time.RFC3339)
		}
	}
	if out.Commit == "unknown" && rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if modified {
			rev += "-dirty"
		}
		out.Commit = rev
	}
	if out.Date == "unknown" && at != "" {
		out.Date = at
	}
	return out
}

func runVersion(_ context.Context, _ []string, stdout, _ io.Writer) (int, error) {
	fmt.Fprintln(stdout, currentBuild())
	return exitOK, nil
}
