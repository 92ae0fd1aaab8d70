package main

import (
	"context"
	"os"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/invitesync/invitesync/metrics"
	"github.com/invitesync/invitesync/notify"
	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/reconcile"
)

// telemetryFlags tell people what a scheduled run did.
type telemetryFlags struct {
	textfile, pushgateway, webhook string
	emails                         bool
}

func (rf *runFlags) addTelemetryFlags() {
	fs := rf.fs
	fs.StringVar(&rf.tel.textfile, "metrics-textfile", "", "write the run's metrics to this file (node_exporter textfile collector format)")
	fs.StringVar(&rf.tel.pushgateway, "pushgateway", "", "push the run's metrics to this Prometheus Pushgateway URL")
	fs.StringVar(&rf.tel.webhook, "notify-webhook", os.Getenv("INVITESYNC_NOTIFY_WEBHOOK"), "post a short Slack-compatible summary here when the run changed something or failed (default $INVITESYNC_NOTIFY_WEBHOOK: a URL with a secret path stays out of ps)")
	fs.BoolVar(&rf.tel.emails, "notify-emails", false, "name the people in the webhook summary (off: counts only)")
	for _, n := range []string{"metrics-textfile", "pushgateway", "notify-webhook", "notify-emails"} {
		annotate(fs, n, annGroup, groupOutput)
	}
}

// requestCounter counts the upstream requests of a run and its 429s.
type requestCounter struct{ requests, limited atomic.Int64 }

func (c *requestCounter) record(a providers.Attempt) {
	c.requests.Add(1)
	if a.Status == 429 {
		c.limited.Add(1)
	}
}

// publish writes the metrics and sends the webhook of a finished run. A
// failure here is logged, never the run's outcome.
func (tf telemetryFlags) publish(ctx context.Context, log zerolog.Logger, mode, provider string, res *reconcile.Result,
	started time.Time, code int, runErr error, reqs *requestCounter, reportDir string) {
	if tf.textfile == "" && tf.pushgateway == "" && tf.webhook == "" {
		return
	}
	finished := time.Now().UTC()
	org := ""
	actions := map[[2]string]int{}
	emails := map[[2]string][]string{}
	if res != nil && res.Plan != nil {
		org = res.Plan.Organization
		for _, a := range res.Actions {
			k := [2]string{string(a.Op), string(a.Status)}
			actions[k]++
			if a.Op != reconcile.OpLeave {
				emails[k] = append(emails[k], a.Email)
			}
		}
	}
	if org == "" {
		org = "unknown"
	}
	failed := code == exitFailed || code == exitInvalid || code == exitRefused
	if tf.textfile != "" || tf.pushgateway != "" {
		m := metrics.Run{Provider: provider, Org: org, Mode: mode, Started: started, Finished: finished,
			Success: !failed, Actions: actions, Requests: int(reqs.requests.Load()), RateLimited: int(reqs.limited.Load())}
		if tf.textfile != "" {
			if err := metrics.WriteTextfile(tf.textfile, m); err != nil {
				log.Error().Err(err).Msg("write metrics textfile")
			}
		}
		if tf.pushgateway != "" {
			if err := metrics.Push(ctx, tf.pushgateway, "invitesync", m); err != nil {
				log.Error().Err(err).Msg("push metrics")
			}
		}
	}
	if tf.webhook != "" {
		n := notify.Run{Provider: provider, Org: org, Mode: mode, Started: started, Finished: finished, ExitCode: code,
			Failed: failed, Actions: actions, Report: reportDir}
		if runErr != nil {
			n.Reason = runErr.Error()
		}
		if tf.emails {
			n.Emails = emails
		}
		if _, err := notify.Notify(ctx, notify.Options{URL: tf.webhook, IncludeEmails: tf.emails}, n); err != nil {
			log.Error().Err(err).Msg("notify webhook")
		}
	}
}
