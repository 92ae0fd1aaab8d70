package emulator

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// helperStateEnv makes the test binary run an emulator instead of the tests
// (the SIGKILL test's child process).
const helperStateEnv = "EMULATOR_TEST_HELPER_STATE"

func TestMain(m *testing.M) {
	if path := os.Getenv(helperStateEnv); path != "" {
		s, err := New(Config{StatePath: path})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		base, err := s.Start("127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Println(base)
		select {} // serve until killed
	}
	os.Exit(m.Run())
}

// An emulator killed with SIGKILL in the middle of a stream of changes
// leaves a state file that loads and holds every change it acknowledged.
func TestStateSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "state.json")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperStateEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	lines := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(out).ReadString('\n')
		lines <- strings.TrimSpace(l)
	}()
	var base string
	select {
	case base = <-lines:
	case <-time.After(30 * time.Second):
		t.Fatal("the child emulator did not start within 30 s")
	}
	c := newClient(t, base)
	c.hc.Timeout = 10 * time.Second

	var (
		mu    sync.Mutex
		acked []string
		n     atomic.Int64
		wg    sync.WaitGroup
		stop  = make(chan struct{})
	)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				email := fmt.Sprintf("w%d-%d@example.com", w, i)
				r, err := c.try("POST", "/iam/v2/invitations", confluentAuth, map[string]string{"email": email})
				if err != nil {
					return // the child is gone
				}
				if r.status == 201 {
					mu.Lock()
					acked = append(acked, email)
					mu.Unlock()
					n.Add(1)
				}
			}
		}()
	}
	// Kill once a good number of changes were acknowledged (or after 20 s).
	deadline := time.Now().Add(20 * time.Second)
	for n.Load() < 300 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed = true
	_ = cmd.Wait()
	close(stop)
	wg.Wait()

	st, err := loadState(path)
	if err != nil {
		t.Fatalf("state after SIGKILL does not load: %v", err)
	}
	if st == nil {
		t.Fatal("no state file after SIGKILL")
	}
	onDisk := map[string]bool{}
	for _, inv := range st.Confluent.Invs {
		onDisk[inv.Email] = true
	}
	mu.Lock()
	defer mu.Unlock()
	if len(acked) == 0 {
		t.Fatal("nothing was acknowledged before the kill")
	}
	for _, e := range acked {
		if !onDisk[e] {
			t.Errorf("%s was acknowledged but is not in the state file", e)
		}
	}
	t.Logf("%d changes acknowledged before SIGKILL, %d on disk", len(acked), len(onDisk))
}
