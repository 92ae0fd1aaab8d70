package main

import (
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildWithMake runs the Makefile's own build target into a temporary path,
// so the test checks what `make build` ships, not a build of its own.
func buildWithMake(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary with make")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "invitesync")
	cmd := exec.Command("make", "--no-print-directory", "-C", root, "build", "BIN="+bin)
	// The caller's CGO_ENABLED (go test -race sets none, a developer may set 1)
	// must not matter: the Makefile pins it.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	return bin
}

// One build serves both checks: `make build` relinks with a fresh date each time.
func TestStaticBinary(t *testing.T) {
	bin := buildWithMake(t)
	t.Run("no interpreter, no shared libraries", func(t *testing.T) { checkStaticELF(t, bin) })
	t.Run("runs in an empty root", func(t *testing.T) { checkRunsInEmptyRoot(t, bin) })
}

func checkStaticELF(t *testing.T, bin string) {
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("open %s as ELF: %v", bin, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the binary has a PT_INTERP program header: it needs a dynamic loader")
		}
		if p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary has a PT_DYNAMIC segment: it is dynamically linked")
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatalf("read imported libraries: %v", err)
	}
	if len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v", libs)
	}
	// -trimpath: the checkout's path must not be baked into the binary.
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	if b, err := os.ReadFile(bin); err == nil && strings.Contains(string(b), root+"/") {
		t.Errorf("the binary contains the build path %s: -trimpath is missing", root)
	}
}

// The binary runs alone in an empty root: no /etc, no /tmp, no libc, no CA
// bundle, only itself and a roster (what a distroless static image gives it).
func checkRunsInEmptyRoot(t *testing.T, bin string) {
	root := t.TempDir()
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "invitesync"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	roster, err := os.ReadFile(filepath.Join("..", "..", "samples", "roster.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "roster.csv"), roster, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		cmd := chrootCommand(t, root, args...)
		cmd.Env = []string{} // nothing from the host either
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// Probe: is chroot permitted here at all? (root, or an unprivileged user namespace)
	if out, err := run("/invitesync", "version"); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && strings.Contains(out, "Operation not permitted") {
			t.Skipf("chroot is not permitted here (%v): %s", err, out)
		}
		t.Fatalf("invitesync version in an empty root: %v\n%s", err, out)
	} else if !strings.HasPrefix(out, "invitesync ") {
		t.Errorf("version printed %q", out)
	}
	out, err := run("/invitesync", "validate", "--roster", "/roster.csv")
	if err != nil {
		t.Fatalf("invitesync validate in an empty root: %v\n%s", err, out)
	}
	if !strings.Contains(out, "OK, ") {
		t.Errorf("validate printed %q, want an OK line", out)
	}
}

// chrootCommand runs args inside root: directly as root, else through an
// unprivileged user namespace (unshare -r) where the kernel allows one.
func chrootCommand(t *testing.T, root string, args ...string) *exec.Cmd {
	t.Helper()
	chroot, err := exec.LookPath("chroot")
	if err != nil {
		t.Skip("chroot is not installed")
	}
	if os.Geteuid() == 0 {
		return exec.Command(chroot, append([]string{root}, args...)...)
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("not root and no unshare: chroot into an empty root is not permitted")
	}
	return exec.Command(unshare, append([]string{"-r", chroot, root}, args...)...)
}

// The binary builds for the platforms the README promises, without cgo: a
// direct syscall.Flock (Unix only) or a cgo import would break these.
func TestStaticCrossBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles the module")
	}
	for _, target := range []struct{ goos, goarch string }{
		{"darwin", "arm64"},
		{"windows", "amd64"},
	} {
		t.Run(target.goos+"/"+target.goarch, func(t *testing.T) {
			// The shipped binary and everything it imports; the test-only
			// packages (deploy/k8scheck's Kubernetes types) would only add minutes.
			cmd := exec.Command("go", "build", "-o", os.DevNull, "./cmd/invitesync")
			cmd.Dir = filepath.Join("..", "..")
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+target.goos, "GOARCH="+target.goarch)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("GOOS=%s GOARCH=%s go build ./cmd/invitesync: %v\n%s", target.goos, target.goarch, err, out)
			}
		})
	}
}
