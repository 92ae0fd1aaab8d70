package sources

import (
	"fmt"
	"strings"
)

// moreFormat is the message of the last Problem when more than MaxProblems
// were found; Count reads the number back.
const moreFormat = "... and %d more problems"

// Count is the number of problems found, including those past MaxProblems
// that are summarised by the last entry rather than listed.
func (ps Problems) Count() int {
	n := len(ps)
	if n == 0 {
		return 0
	}
	last := ps[n-1]
	var more int
	if last.Row == 0 && strings.HasPrefix(last.Message, "... and ") {
		if _, err := fmt.Sscanf(last.Message, moreFormat, &more); err == nil && more > 0 {
			return n - 1 + more
		}
	}
	return n
}
