package main

import (
	"context"
	"errors"
	"io"
)

func runEmulator(_ context.Context, _ []string, _, _ io.Writer) (int, error) {
	return exitFailed, errors.New("'emulator' is not there yet")
}
