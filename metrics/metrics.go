// Package metrics exports what one scheduled plan or apply did as Prometheus
// metrics: to a node_exporter textfile-collector file, or to a Pushgateway.
//
// Metrics (all gauges, describing the last run):
//
//	invitesync_last_run_timestamp_seconds        when the last run finished
//	invitesync_last_success_timestamp_seconds    when the last successful run finished (kept across failed runs)
//	invitesync_last_run_success                  1 if the last run succeeded, else 0
//	invitesync_last_run_duration_seconds         how long the last run took
//	invitesync_last_run_actions{kind,status}     actions of the last run by kind (create, revoke...) and status (done, failed...)
//	invitesync_last_run_requests                 upstream HTTP requests sent, retries included
//	invitesync_last_run_rate_limited_requests    of those, how many the upstream answered 429
//
// Each carries provider, org and mode labels (in the textfile as labels, on
// the Pushgateway as the grouping key), so one alert rule covers every org:
// time() - invitesync_last_success_timestamp_seconds > 2 * 3600.
package metrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Run is what one plan or apply did.
type Run struct {
	Provider string // confluent, csp, azure
	Org      string // the organization's identity as the reports name it
	Mode     string // plan or apply

	Started, Finished time.Time
	// Success: the run did what it was asked (plan: exit 0 or 2; apply: exit 0).
	Success bool
	// Actions counts actions by {kind, status}, e.g. {"create", "done"}.
	Actions map[[2]string]int
	// Requests is every upstream HTTP attempt; RateLimited those answered 429.
	Requests, RateLimited int
}

const (
	nameLastRun     = "invitesync_last_run_timestamp_seconds"
	nameLastSuccess = "invitesync_last_success_timestamp_seconds"
	nameSuccess     = "invitesync_last_run_success"
	nameDuration    = "invitesync_last_run_duration_seconds"
	nameActions     = "invitesync_last_run_actions"
	nameRequests    = "invitesync_last_run_requests"
	nameRateLimited = "invitesync_last_run_rate_limited_requests"
)

// pushTimeout bounds one push when the caller's context has no deadline: a
// slow Pushgateway must not hold a scheduled run open.
const pushTimeout = 15 * time.Second

func (r Run) validate() error {
	if r.Provider == "" || r.Org == "" || r.Mode == "" {
		return errors.New("metrics: a run needs a provider, an org and a mode")
	}
	if r.Finished.IsZero() {
		return errors.New("metrics: a run needs its finish time")
	}
	return nil
}

// registry holds r's metrics. constLabels are set on every series (the
// textfile); on the Pushgateway the same labels are the grouping key instead.
// lastSuccess is written only when it is known (> 0).
func registry(r Run, constLabels prometheus.Labels, lastSuccess float64) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	gauge := func(name, help string, v float64) error {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: constLabels})
		g.Set(v)
		return reg.Register(g)
	}
	success := 0.0
	if r.Success {
		success = 1
	}
	duration := r.Finished.Sub(r.Started).Seconds()
	if r.Started.IsZero() || duration < 0 {
		duration = 0
	}
	errs := []error{
		gauge(nameLastRun, "Unix time the last invitesync run finished.", unixSeconds(r.Finished)),
		gauge(nameSuccess, "1 if the last invitesync run succeeded, else 0.", success),
		gauge(nameDuration, "Duration of the last invitesync run in seconds.", duration),
		gauge(nameRequests, "Upstream HTTP requests the last run sent, retries included.", float64(r.Requests)),
		gauge(nameRateLimited, "Upstream HTTP requests of the last run answered 429 Too Many Requests.", float64(r.RateLimited)),
	}
	if lastSuccess > 0 {
		errs = append(errs, gauge(nameLastSuccess, "Unix time the last successful invitesync run finished.", lastSuccess))
	}
	actions := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: nameActions, Help: "Actions of the last invitesync run by kind and status.", ConstLabels: constLabels,
	}, []string{"kind", "status"})
	for k, n := range r.Actions {
		actions.WithLabelValues(k[0], k[1]).Set(float64(n))
	}
	errs = append(errs, reg.Register(actions))
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("metrics: register: %w", err)
	}
	return reg, nil
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func (r Run) labels() prometheus.Labels {
	return prometheus.Labels{"provider": r.Provider, "org": r.Org, "mode": r.Mode}
}

// WriteTextfile writes r to path for node_exporter's textfile collector
// (--collector.textfile.directory): Prometheus text format, written to a
// temporary file in the same directory and renamed over path, so the collector
// never reads half a file. After a failed run the previous file's last-success
// time is kept, so an alert on its age keeps working.
func WriteTextfile(path string, r Run) error {
	if err := r.validate(); err != nil {
		return err
	}
	// The collector reads only *.prom files: any other name would be silently ignored.
	if !strings.HasSuffix(path, ".prom") {
		return fmt.Errorf("metrics textfile %s: node_exporter's textfile collector reads only files named *.prom", path)
	}
	lastSuccess := 0.0
	if r.Success {
		lastSuccess = unixSeconds(r.Finished)
	} else {
		lastSuccess = previousSuccess(path, r.labels())
	}
	reg, err := registry(r, r.labels(), lastSuccess)
	if err != nil {
		return err
	}
	fams, err := reg.Gather()
	if err != nil {
		return fmt.Errorf("metrics textfile %s: gather: %w", path, err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range fams {
		if err := enc.Encode(f); err != nil {
			return fmt.Errorf("metrics textfile %s: encode %s: %w", path, f.GetName(), err)
		}
	}
	if err := writeAtomic(path, buf.Bytes()); err != nil {
		return fmt.Errorf("metrics textfile %s: %w", path, err)
	}
	return nil
}

// previousSuccess reads the last-success time for the same labels from the
// file a previous run left; 0 when there is none or it cannot be read (the
// file is only ours, and rewriting it is the fix).
func previousSuccess(path string, want prometheus.Labels) float64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(f)
	if err != nil {
		return 0
	}
	fam, ok := fams[nameLastSuccess]
	if !ok {
		return 0
	}
	for _, m := range fam.GetMetric() {
		if labelsMatch(m, want) && m.GetGauge() != nil {
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

func labelsMatch(m *dto.Metric, want prometheus.Labels) bool {
	n := 0
	for _, lp := range m.GetLabel() {
		v, ok := want[lp.GetName()]
		if !ok || v != lp.GetValue() {
			return false
		}
		n++
	}
	return n == len(want)
}

// writeAtomic writes data to a hidden temporary file beside path (not *.prom,
// so the collector skips it), syncs it and renames it over path.
func writeAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	// node_exporter usually runs as another user: the file must be readable by it.
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename into place: %w", err)
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // best effort: the rename survives a crash on most filesystems anyway
		d.Close()
	}
	return nil
}

// Push sends r to the Pushgateway at gatewayURL under job, grouped by
// provider, org and mode (one group per org and mode, so a fleet of orgs never
// overwrites each other). A successful run replaces its group (PUT); a failed
// run updates only the metrics it has (POST), so the group keeps the
// last-success time of the run before. Credentials in the URL
// (https://user:pass@host) are sent as basic auth and never appear in an error.
func Push(ctx context.Context, gatewayURL, job string, r Run) error {
	if err := r.validate(); err != nil {
		return err
	}
	if job == "" {
		job = "invitesync"
	}
	u, err := url.Parse(gatewayURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("pushgateway URL %q: want http(s)://host[:port][/path]", redactURL(gatewayURL))
	}
	var user *url.Userinfo
	user, u.User = u.User, nil
	lastSuccess := 0.0
	if r.Success {
		lastSuccess = unixSeconds(r.Finished)
	}
	reg, err := registry(r, nil, lastSuccess)
	if err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, pushTimeout)
		defer cancel()
	}
	p := push.New(u.String(), job).
		Gatherer(reg).
		Grouping("provider", r.Provider).
		Grouping("org", r.Org).
		Grouping("mode", r.Mode).
		Client(&http.Client{Timeout: pushTimeout})
	if user != nil {
		pass, _ := user.Password()
		p = p.BasicAuth(user.Username(), pass)
	}
	if r.Success {
		err = p.PushContext(ctx)
	} else {
		err = p.AddContext(ctx)
	}
	if err != nil {
		// The URL given to the library has no userinfo, so its errors carry no password.
		return fmt.Errorf("push metrics to %s: %w", u.Redacted(), err)
	}
	return nil
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
