package providers

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Error is an upstream request that failed: an HTTP error answer, or no
// answer at all (Status 0, Err set). Its text never holds credentials, headers
// or query strings: only method, path, status, the upstream's code and message
// (scrubbed of known secrets) and the request id.
type Error struct {
	Method    string
	Path      string // without query
	Status    int    // 0 when no response arrived
	Code      string // upstream error code (Confluent errors[].code, ARM error.code, CSP errorCode)
	Message   string // upstream message, scrubbed
	RequestID string
	Attempts  int
	// Retryable says the failure is transient (429, 5xx, connection errors):
	// trying later may succeed. Permanent is its negation.
	Retryable bool
	// MaybeApplied is set on a write that may have reached the upstream (500,
	// 502, 504, reset, timeout): read before sending it again.
	MaybeApplied bool
	// TimedOut: the client gave up waiting while the upstream may still be
	// working on the request (a write may land later).
	TimedOut bool
	Err      error // transport cause, nil for HTTP answers
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: ", e.Method, e.Path)
	if e.Status == 0 {
		b.WriteString("no response")
		if e.Err != nil {
			b.WriteString(": ")
			b.WriteString(e.Err.Error())
		}
	} else {
		fmt.Fprintf(&b, "HTTP %d", e.Status)
		if e.Code != "" {
			b.WriteString(" ")
			b.WriteString(e.Code)
		}
		if e.Message != "" {
			b.WriteString(": ")
			b.WriteString(e.Message)
		}
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request id %s)", e.RequestID)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Permanent reports whether sending the same request again cannot help
// (4xx other than 429, e.g. 402 quota_exceeded, 401 bad credentials).
func (e *Error) Permanent() bool { return !e.Retryable }

// AsError returns err's *Error, if it holds one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// IsMaybeApplied reports whether err is a write that may have taken effect.
func IsMaybeApplied(err error) bool {
	e, ok := AsError(err)
	return ok && e.MaybeApplied
}

// StatusCode returns the HTTP status err carries, 0 if none.
func StatusCode(err error) int {
	if e, ok := AsError(err); ok {
		return e.Status
	}
	return 0
}

// retryableStatus: the statuses retried at all.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// notAppliedStatus: answers that say the request was not acted on, so even a
// write may be re-sent blindly.
func notAppliedStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable
}

// NotAttempted fills the results of requests a cancelled Create never got
// to, so none of them reads as a success; it returns err.
func NotAttempted(out []CreateResult, reqs []InviteRequest, err error) error {
	for i := range out {
		out[i] = CreateResult{Email: reqs[i].Email, Err: fmt.Errorf("create %s: not attempted: %w", reqs[i].Email, err)}
	}
	return err
}
