package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
)

// Set by the Makefile through -ldflags "-X main.version=... -X main.commit=... -X main.date=...".
var (
	version = "dev"
	commit  = "unknown"
	date    = "unknown"
)

func runVersion(_ context.Context, _ []string, stdout, _ io.Writer) (int, error) {
	fmt.Fprintf(stdout, "invitesync %s (commit %s, built %s, %s)\n", version, commit, date, runtime.Version())
	return exitOK, nil
}
