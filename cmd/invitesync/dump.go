package main

import (
	"context"
	"errors"
	"io"
)

func runDump(_ context.Context, _ []string, _, _ io.Writer) (int, error) {
	return exitFailed, errors.New("'dump' is not there yet")
}
