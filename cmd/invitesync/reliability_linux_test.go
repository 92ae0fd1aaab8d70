//go:build reliability

package main_test

import "syscall"

// childAttr makes every child (emulator, invitesync) die with the test
// binary, even when it is killed by go test's -timeout before any cleanup
// runs: no emulator, frozen or not, outlives the suite.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
