package main

import (
	"context"
	"errors"
	"io"
)

func runPlan(_ context.Context, _ []string, _, _ io.Writer) (int, error) {
	return exitFailed, errors.New("'plan' is not there yet")
}

func runApply(_ context.Context, _ []string, _, _ io.Writer) (int, error) {
	return exitFailed, errors.New("'apply' is not there yet")
}
