package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// stateVersion is the state file's format version.
const stateVersion = 1

type stateFile struct {
	Version int    `json:"version"`
	Store   *store `json:"store"`
}

// loadState reads the state file; (nil, nil) when it does not exist.
func loadState(path string) (*store, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load state: %w", err)
	}
	var sf stateFile
	if err := json.Unmarshal(b, &sf); err != nil {
		return nil, fmt.Errorf("load state %s: %w", path, err)
	}
	if sf.Version != stateVersion || sf.Store == nil {
		return nil, fmt.Errorf("load state %s: version %d: want %d", path, sf.Version, stateVersion)
	}
	st := sf.Store
	if st.Confluent == nil {
		st.Confluent = newCOrg("confluent")
	}
	if st.CSP == nil {
		st.CSP = map[string]*cspOrg{}
	}
	if st.Azure == nil {
		st.Azure = map[string]*cOrg{}
	}
	st.Confluent.index()
	if st.ConfluentSecond != nil {
		st.ConfluentSecond.index()
	}
	for _, o := range st.Azure {
		o.index()
	}
	for _, o := range st.CSP {
		o.index()
	}
	return st, nil
}

// snapshot encodes the store with the generation it reflects.
func (s *Server) snapshot() (uint64, []byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Size the buffer from the last snapshot: one allocation per write.
	b := appendStore(make([]byte, 0, s.snapSize+s.snapSize/8+4096), s.st)
	s.snapSize = len(b)
	return s.gen, b, nil
}

// persister writes the state file in the background with group commit: every
// change bumps a generation and kicks it; one write covers every change made
// before its snapshot, and a change's response waits for the write that
// covers it.
type persister struct {
	path string
	snap func() (uint64, []byte, error)

	kickc chan struct{}
	stop  chan struct{}
	done  chan struct{}

	mu       sync.Mutex
	saved    uint64 // every generation <= saved is on disk
	failed   uint64 // the last failed write covered generations <= failed
	err      error  // that failure
	notify   chan struct{}
	stopOnce sync.Once
}

func newPersister(path string, snap func() (uint64, []byte, error)) *persister {
	p := &persister{
		path:   path,
		snap:   snap,
		kickc:  make(chan struct{}, 1),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		notify: make(chan struct{}),
	}
	go p.loop()
	return p
}

func (p *persister) kick() {
	select {
	case p.kickc <- struct{}{}:
	default: // a write is already due; it will include this change
	}
}

func (p *persister) loop() {
	defer close(p.done)
	for {
		select {
		case <-p.kickc:
			p.writeOnce()
		case <-p.stop:
			// Final write of anything still unsaved.
			select {
			case <-p.kickc:
				p.writeOnce()
			default:
			}
			return
		}
	}
}

func (p *persister) writeOnce() {
	gen, b, err := p.snap()
	if err == nil {
		err = writeFileAtomic(p.path, b)
	}
	p.mu.Lock()
	if err != nil {
		p.failed, p.err = gen, err
	} else if gen > p.saved {
		p.saved = gen
	}
	close(p.notify)
	p.notify = make(chan struct{})
	p.mu.Unlock()
}

// wait blocks until generation gen is on disk, or its write failed.
func (p *persister) wait(ctx context.Context, gen uint64) error {
	for {
		p.mu.Lock()
		switch {
		case p.saved >= gen:
			p.mu.Unlock()
			return nil
		case p.failed >= gen:
			err := p.err
			p.mu.Unlock()
			return err
		}
		ch := p.notify
		p.mu.Unlock()
		select {
		case <-ch:
		case <-p.done:
			// Stopped: one last look (the final write may have covered gen).
			p.mu.Lock()
			ok := p.saved >= gen
			p.mu.Unlock()
			if ok {
				return nil
			}
			return errors.New("state writer stopped")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// close writes pending changes and stops the writer.
func (p *persister) close() error {
	p.stopOnce.Do(func() { close(p.stop) })
	<-p.done
	// Anything changed after the last kick was drained is written here.
	gen, b, err := p.snap()
	if err != nil {
		return err
	}
	p.mu.Lock()
	saved := p.saved
	p.mu.Unlock()
	if gen <= saved {
		return nil
	}
	if err := writeFileAtomic(p.path, b); err != nil {
		return err
	}
	p.mu.Lock()
	p.saved = gen
	p.mu.Unlock()
	return nil
}

// writeFileAtomic replaces path with b so that a crash at any point leaves
// either the old or the new file: temp file in the same directory, fsync,
// rename, fsync the directory.
func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write state: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write state: sync: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		// Make the rename itself durable; not all filesystems support it.
		_ = d.Sync()
		d.Close()
	}
	return nil
}
