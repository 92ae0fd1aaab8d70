package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// SavePlan writes p as JSON to path atomically (temp file in the same
// directory, fsync, rename), so a reviewer never reads half a plan.
func SavePlan(path string, p *Plan) (err error) {
	if p == nil {
		return errors.New("save plan: no plan")
	}
	sealed := *p
	if sealed.Digest, err = planDigest(&sealed); err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	data, err := json.MarshalIndent(&sealed, "", "  ")
	if err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	if err = os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // best effort: make the rename durable
		d.Close()
	}
	return nil
}

// LoadPlan reads a plan written by SavePlan, refusing another format version
// or a file that is not a plan.
func LoadPlan(path string) (*Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load plan: %w", err)
	}
	var head struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("load plan %s: not a plan file: %w", path, err)
	}
	if head.Version == nil {
		return nil, fmt.Errorf("load plan %s: not a plan file (no version)", path)
	}
	if *head.Version != PlanVersion {
		return nil, fmt.Errorf("load plan %s: plan format version %d is not supported by this build (want %d): make a new plan", path, *head.Version, PlanVersion)
	}
	var p Plan
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("load plan %s: %w", path, err)
	}
	want, err := planDigest(&p)
	if err != nil {
		return nil, fmt.Errorf("load plan %s: %w", path, err)
	}
	if p.Digest != want {
		return nil, &TamperedError{Path: path}
	}
	if p.Provider == "" {
		return nil, fmt.Errorf("load plan %s: no provider recorded", path)
	}
	if p.Organization == "" || p.RosterDigest == "" {
		return nil, fmt.Errorf("load plan %s: no organization or roster digest recorded", path)
	}
	for i, a := range p.Actions {
		switch a.Op {
		case OpCreate, OpReinvite, OpRevoke, OpLeave, OpGrant, OpUngrant, OpRemoveMember:
		default:
			return nil, fmt.Errorf("load plan %s: action %d: unknown op %q", path, i+1, a.Op)
		}
		if a.Email == "" {
			return nil, fmt.Errorf("load plan %s: action %d: no email", path, i+1)
		}
		if (a.Op == OpCreate || a.Op == OpReinvite) && a.Member == nil {
			return nil, fmt.Errorf("load plan %s: action %d (%s %s): no member", path, i+1, a.Op, a.Email)
		}
		if (a.Op == OpRevoke || a.Op == OpReinvite) && a.Current == nil {
			return nil, fmt.Errorf("load plan %s: action %d (%s %s): no current invitation", path, i+1, a.Op, a.Email)
		}
	}
	return &p, nil
}

// TamperedError says a saved plan's content does not match its digest.
type TamperedError struct{ Path string }

func (e *TamperedError) Error() string {
	return fmt.Sprintf("plan %s was edited after it was written (its digest does not match its content): make a new plan and review it", e.Path)
}

// planDigest is the sha256 of p's compact JSON with Digest empty.
func planDigest(p *Plan) (string, error) {
	c := *p
	c.Digest = ""
	h := sha256.New()
	if err := json.NewEncoder(h).Encode(&c); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
