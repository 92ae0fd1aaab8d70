package providers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxBody bounds what one answer may hold (Config.MaxBody). CSP lists
// a whole org in one array, so this is generous; beyond it is an error, not
// a silent truncation.
const DefaultMaxBody = 64 << 20

// maxErrorBody bounds an error answer's body: only its code and message are
// read out of it.
const maxErrorBody = 1 << 20

// ErrBodyTooLarge is wrapped by the error of an answer over the bound.
var ErrBodyTooLarge = errors.New("response body too large")

func bodyTooLarge(limit int64) error {
	return fmt.Errorf("%w: response body over %s", ErrBodyTooLarge, sizeText(limit))
}

func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// readBody reads at most limit bytes of r into one buffer. With a declared
// length the buffer is allocated once at its size (no doubling growth); an
// answer declaring more than limit is refused before a byte is read.
func readBody(r io.Reader, declared, limit int64) ([]byte, error) {
	if declared > limit {
		return nil, bodyTooLarge(limit)
	}
	if declared >= 0 {
		// +1 so that reading past a lying Content-Length is noticed without
		// a regrowth of the buffer.
		buf := make([]byte, 0, declared+1)
		b := bytes.NewBuffer(buf)
		if _, err := b.ReadFrom(io.LimitReader(r, limit+1)); err != nil {
			return nil, err
		}
		if int64(b.Len()) > limit {
			return nil, bodyTooLarge(limit)
		}
		return b.Bytes(), nil
	}
	// Unknown length: chunks, joined once at the end.
	var chunks [][]byte
	var total int64
	size := int64(32 << 10)
	lr := io.LimitReader(r, limit+1)
	for {
		chunk := make([]byte, size)
		n, err := io.ReadFull(lr, chunk)
		total += int64(n)
		if n > 0 {
			chunks = append(chunks, chunk[:n])
		}
		if total > limit {
			return nil, bodyTooLarge(limit)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, err
		}
		size = min(size*2, 8<<20)
	}
	if len(chunks) == 1 {
		return chunks[0], nil
	}
	out := make([]byte, 0, total)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return out, nil
}

// limitedReader is io.LimitReader that says when the bound was crossed
// rather than ending the stream quietly (which would turn a huge answer into
// a truncated, undecodable one).
type limitedReader struct {
	r     io.Reader
	left  int64
	limit int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte more tells "exactly at the bound" from "over it".
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			return 0, bodyTooLarge(l.limit)
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// errNotJSON is wrapped by the error of a 2xx answer DoJSON could not decode.
var errNotJSON = errors.New("answer is not the expected JSON")

// decodeJSON streams a JSON value from r into v (no copy of the raw body is
// held) and refuses trailing data other than white space.
func decodeJSON(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, ErrBodyTooLarge) {
			return err
		}
		return fmt.Errorf("%w: %v", errNotJSON, err)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		if errors.Is(err, ErrBodyTooLarge) {
			return err
		}
		return fmt.Errorf("%w: data after the value", errNotJSON)
	}
	return nil
}
