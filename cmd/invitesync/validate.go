package main

import (
	"context"
	"errors"
	"io"
)

func runValidate(_ context.Context, _ []string, _, _ io.Writer) (int, error) {
	return exitFailed, errors.New("'validate' is not there yet")
}
