//go:build reliability && !linux

package main_test

import "syscall"

// childAttr: without Pdeathsig, children are stopped by the tests' cleanups only.
func childAttr() *syscall.SysProcAttr { return nil }
