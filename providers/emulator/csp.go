package emulator

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// VMware CSP (upstream-apis.md section 3).

const (
	cspInvitationsPOST = "POST /csp/gateway/am/api/orgs/{orgId}/invitations"

	maxCustomGroups   = 15
	minExpiryDays     = 1
	maxExpiryDays     = 90
	defaultExpiryDays = 7
)

// cspTokens are the access tokens handed out, with their expiry.
type cspTokens struct {
	mu sync.Mutex
	m  map[string]time.Time
}

type cspError struct {
	CSPErrorCode string `json:"cspErrorCode"`
	Message      string `json:"message"`
	ErrorCode    string `json:"errorCode"`
	RequestID    string `json:"requestId"`
	ModuleCode   int    `json:"moduleCode"`
	StatusCode   int    `json:"statusCode"`
}

func writeCSPError(w http.ResponseWriter, rc *reqCtx, status int, msg string) {
	writeJSON(w, status, cspError{Message: msg, RequestID: rc.id, StatusCode: status})
}

func (s *Server) cspRoutes() []*route { return nil }

// newUUID is a random version 4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
