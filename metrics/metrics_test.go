package metrics

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var (
	t0 = time.Date(2026, 12, 3, 17, 0, 0, 0, time.UTC)
	t1 = t0.Add(90 * time.Second)
)

func sampleRun(success bool) Run {
	return Run{
		Provider: "csp", Org: "org-a", Mode: "apply",
		Started: t0, Finished: t1, Success: success,
		Actions: map[[2]string]int{
			{"create", "done"}:   5,
			{"create", "failed"}: 1,
			{"revoke", "done"}:   2,
		},
		Requests: 40, RateLimited: 3,
	}
}

// value finds the gauge of family name whose labels include want.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, lp := range m.GetLabel() {
			got[lp.GetName()] = lp.GetValue()
		}
		match := true
		for k, v := range want {
			if got[k] != v {
				match = false
			}
		}
		if match {
			if f.GetType() != dto.MetricType_GAUGE {
				t.Errorf("%s is %v, want a gauge", name, f.GetType())
			}
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

func parseTextfile(t *testing.T, path string) map[string]*dto.MetricFamily {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("%s is not Prometheus text format: %v", path, err)
	}
	return fams
}

func TestWriteTextfile(t *testing.T) {
	target := map[string]string{"provider": "csp", "org": "org-a", "mode": "apply"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range target {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name   string
		runs   []Run // written in order to the same file
		want   map[string]float64
		labels map[string]map[string]string // per metric, labels beyond target
		absent []string
	}{
		{
			name: "successful apply",
			runs: []Run{sampleRun(true)},
			want: map[string]float64{
				nameLastRun: 1796317290, nameLastSuccess: 1796317290, nameSuccess: 1,
				nameDuration: 90, nameRequests: 40, nameRateLimited: 3, nameActions: 1,
			},
			labels: map[string]map[string]string{nameActions: {"kind": "create", "status": "failed"}},
		},
		{
			name:   "first run fails: no success time to report",
			runs:   []Run{sampleRun(false)},
			want:   map[string]float64{nameSuccess: 0, nameLastRun: 1796317290},
			absent: []string{nameLastSuccess},
		},
		{
			name: "a failed run keeps the previous success time",
			runs: []Run{sampleRun(true), func() Run {
				r := sampleRun(false)
				r.Started, r.Finished = t1.Add(time.Hour), t1.Add(time.Hour+10*time.Second)
				return r
			}()},
			want: map[string]float64{nameSuccess: 0, nameLastSuccess: 1796317290, nameLastRun: 1796320900, nameDuration: 10},
		},
		{
			name: "another org's success time is not carried over",
			runs: []Run{func() Run { r := sampleRun(true); r.Org = "org-b"; return r }(), sampleRun(false)},
			want: map[string]float64{nameSuccess: 0}, absent: []string{nameLastSuccess},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "invitesync.prom")
			for _, r := range tt.runs {
				if err := WriteTextfile(path, r); err != nil {
					t.Fatalf("WriteTextfile: %v", err)
				}
			}
			fams := parseTextfile(t, path)
			for name, want := range tt.want {
				got, ok := value(t, fams, name, with(tt.labels[name]))
				if !ok {
					t.Errorf("%s%v missing", name, with(tt.labels[name]))
					continue
				}
				if got != want {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
			}
			for _, name := range tt.absent {
				if _, ok := fams[name]; ok {
					t.Errorf("%s present, want absent", name)
				}
			}
			// Only the .prom file is left: no temporary file for the collector to trip on.
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("directory holds %v, want only invitesync.prom", names)
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
				t.Errorf("textfile mode = %v, %v; want 0644 so node_exporter can read it", fi.Mode().Perm(), err)
			}
		})
	}
}

func TestWriteTextfileErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, path string
		run        Run
		want       string
	}{
		{"not a .prom file", filepath.Join(dir, "m.txt"), sampleRun(true), "*.prom"},
		{"no such directory", filepath.Join(dir, "missing", "m.prom"), sampleRun(true), "missing"},
		{"no org", filepath.Join(dir, "m.prom"), Run{Provider: "csp", Mode: "plan", Finished: t1}, "org"},
		{"no finish time", filepath.Join(dir, "m.prom"), Run{Provider: "csp", Org: "o", Mode: "plan"}, "finish"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteTextfile(tt.path, tt.run)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// pushgateway is a Pushgateway-compatible receiver on loopback: it routes
// /metrics/job/JOB{/LABEL/VALUE} (with the @base64 encoding), decodes the body
// in whatever format the client declared, and applies Pushgateway's
// semantics: PUT replaces the group, POST replaces only the pushed names.
type pushgateway struct {
	mu     sync.Mutex
	groups map[string]map[string]*dto.MetricFamily // grouping key -> name -> family
	auth   []string
	status int // answer this instead of 200 when set
}

func newPushgateway(t *testing.T) (*pushgateway, *httptest.Server) {
	pg := &pushgateway{groups: map[string]map[string]*dto.MetricFamily{}}
	srv := httptest.NewServer(pg)
	t.Cleanup(srv.Close)
	return pg, srv
}

func (pg *pushgateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key, err := groupingKey(r.URL.EscapedPath())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	pg.mu.Lock()
	defer pg.mu.Unlock()
	pg.auth = append(pg.auth, r.Header.Get("Authorization"))
	if pg.status != 0 {
		http.Error(w, "gateway says no", pg.status)
		return
	}
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	dec := expfmt.NewDecoder(r.Body, expfmt.ResponseFormat(r.Header))
	pushed := map[string]*dto.MetricFamily{}
	for {
		var f dto.MetricFamily
		if err := dec.Decode(&f); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			http.Error(w, "decode: "+err.Error(), http.StatusBadRequest)
			return
		}
		pushed[f.GetName()] = &f
	}
	if r.Method == http.MethodPut || pg.groups[key] == nil {
		pg.groups[key] = map[string]*dto.MetricFamily{}
	}
	for n, f := range pushed {
		pg.groups[key][n] = f
	}
	w.WriteHeader(http.StatusOK)
}

func groupingKey(path string) (string, error) {
	parts := strings.Split(strings.TrimPrefix(path, "/metrics/"), "/")
	if len(parts)%2 != 0 || parts[0] != "job" {
		return "", errors.New("bad path " + path)
	}
	var kv []string
	for i := 0; i < len(parts); i += 2 {
		name, val := parts[i], parts[i+1]
		if strings.HasSuffix(name, "@base64") {
			b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(val, "="))
			if err != nil {
				return "", err
			}
			name, val = strings.TrimSuffix(name, "@base64"), string(b)
		}
		kv = append(kv, name+"="+val)
	}
	sort.Strings(kv)
	return strings.Join(kv, ","), nil
}

func (pg *pushgateway) group(key string) map[string]*dto.MetricFamily {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	return pg.groups[key]
}

func TestPush(t *testing.T) {
	pg, srv := newPushgateway(t)
	ctx := context.Background()
	ok := sampleRun(true)
	ok.Org = "sub/rg/org-demo" // an Azure org id: slashes must survive the URL path
	if err := Push(ctx, srv.URL, "invitesync", ok); err != nil {
		t.Fatalf("Push: %v", err)
	}
	key := "job=invitesync,mode=apply,org=sub/rg/org-demo,provider=csp"
	fams := pg.group(key)
	if fams == nil {
		t.Fatalf("no group %q; have %v", key, pg.groups)
	}
	for name, want := range map[string]float64{nameSuccess: 1, nameLastSuccess: 1796317290, nameRequests: 40, nameRateLimited: 3, nameDuration: 90} {
		if got, found := value(t, fams, name, nil); !found || got != want {
			t.Errorf("%s = %v (found %v), want %v", name, got, found, want)
		}
	}
	if got, _ := value(t, fams, nameActions, map[string]string{"kind": "revoke", "status": "done"}); got != 2 {
		t.Errorf("revoke/done actions = %v, want 2", got)
	}

	// A failed run later: the group keeps the success time of the run before.
	bad := ok
	bad.Success = false
	bad.Started, bad.Finished = t1.Add(time.Hour), t1.Add(time.Hour+5*time.Second)
	bad.Actions = map[[2]string]int{{"create", "failed"}: 4}
	if err := Push(ctx, srv.URL, "invitesync", bad); err != nil {
		t.Fatalf("Push failed run: %v", err)
	}
	fams = pg.group(key)
	if got, _ := value(t, fams, nameSuccess, nil); got != 0 {
		t.Errorf("success after a failed run = %v, want 0", got)
	}
	if got, _ := value(t, fams, nameLastSuccess, nil); got != 1796317290 {
		t.Errorf("last success after a failed run = %v, want the earlier run's 1796317290", got)
	}
	if _, found := value(t, fams, nameActions, map[string]string{"kind": "revoke", "status": "done"}); found {
		t.Error("the failed run's push kept the earlier run's revoke/done actions")
	}
}

func TestPushCredentialsAndErrors(t *testing.T) {
	pg, srv := newPushgateway(t)
	authURL := strings.Replace(srv.URL, "http://", "http://pusher:s3cret-pw@", 1)
	if err := Push(context.Background(), authURL, "", sampleRun(true)); err != nil {
		t.Fatalf("Push: %v", err)
	}
	if len(pg.auth) != 1 || !strings.HasPrefix(pg.auth[0], "Basic ") {
		t.Fatalf("Authorization = %v, want basic auth from the URL", pg.auth)
	}
	if b, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(pg.auth[0], "Basic ")); string(b) != "pusher:s3cret-pw" {
		t.Errorf("basic auth = %q", b)
	}
	if pg.group("job=invitesync,mode=apply,org=org-a,provider=csp") == nil {
		t.Error("an empty job name did not default to invitesync")
	}

	pg.mu.Lock()
	pg.status = http.StatusInternalServerError
	pg.mu.Unlock()
	err := Push(context.Background(), authURL, "invitesync", sampleRun(true))
	if err == nil {
		t.Fatal("a 500 from the gateway was not an error")
	}
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("the error shows the password: %v", err)
	}
	if !strings.Contains(err.Error(), "500") {
		t.Errorf("the error does not say what the gateway answered: %v", err)
	}

	for _, bad := range []string{"ftp://x", "not a url", "http://u:s3cret-pw@"} {
		err := Push(context.Background(), bad, "invitesync", sampleRun(true))
		if err == nil {
			t.Errorf("Push(%q) = nil, want an error", bad)
		} else if strings.Contains(err.Error(), "s3cret-pw") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}
