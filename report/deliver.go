package report

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/history"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/notify"
)

// Mailer sends a rich mail (notify.Email).
type Mailer interface {
	Name() string
	SendRich(ctx context.Context, m notify.RichMessage) error
}

var _ Mailer = (*notify.Email)(nil)

// DeliverOptions say where and how persistently Deliver sends.
type DeliverOptions struct {
	Mailers []Mailer
	// Alerts are told when a mailer gives up (the policy's other notify
	// blocks: webhooks, other mail).
	Alerts []notify.Sender
	// Retries after the first try, Wait before the first retry, doubling.
	// Defaults 3 and 30 seconds.
	Retries int
	Wait    time.Duration
	Logger  hclog.Logger
	// Event is the alert's type (config.EventMonthlyReport or
	// config.EventWeeklySummary).
	Event string
}

// Message is x as a notify.RichMessage.
func (x *Rendered) Message(kind, label string) notify.RichMessage {
	m := notify.RichMessage{Subject: x.Subject, Text: x.Text, HTML: x.HTML,
		Headers: map[string]string{"X-Dbopsd-Report": kind + " " + label}}
	for _, im := range x.Images {
		m.Inline = append(m.Inline, notify.Part{Name: im.Name, ContentType: "image/png", ContentID: im.CID, Data: im.PNG})
	}
	for _, a := range x.Attachments {
		m.Attachments = append(m.Attachments, notify.Part{Name: a.Name, ContentType: a.ContentType, Data: a.Data})
	}
	return m
}

// Deliver sends x through every mailer, each retried with back-off; a
// mailer that gives up is alerted through Alerts. It returns the errors of
// the mailers that gave up, joined (and does not log them: the caller
// does, once).
func Deliver(ctx context.Context, x *Rendered, kind, label string, o DeliverOptions) error {
	if o.Retries == 0 {
		o.Retries = 3
	}
	if o.Wait == 0 {
		o.Wait = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	msg := x.Message(kind, label)
	var errs []error
	for _, m := range o.Mailers {
		err := sendWithRetry(ctx, m, msg, o)
		if err == nil {
			o.Logger.Info("report sent", "report", kind, "period", label, "notify", m.Name())
			continue
		}
		errs = append(errs, err)
		// Alerts are read by the bureau and the DBAs on call: both languages.
		p := i18n.Params{"kind": kind, "label": label, "notify": m.Name()}
		ev := notify.Event{Type: o.Event, State: notify.StateFiring, Summary: i18n.T(i18n.ZH, "report.mail.failed", p) + " " + i18n.T(i18n.EN, "report.mail.failed", p),
			Error: err.Error(), Time: time.Now()}
		for _, a := range o.Alerts {
			if a.Name() == m.Name() {
				continue
			}
			if aerr := a.Send(ctx, ev); aerr != nil {
				o.Logger.Error("alerting a failed report failed", "notify", a.Name(), "error", aerr)
			}
		}
	}
	return errors.Join(errs...)
}

func sendWithRetry(ctx context.Context, m Mailer, msg notify.RichMessage, o DeliverOptions) error {
	wait := o.Wait
	var err error
	for attempt := 0; attempt <= o.Retries; attempt++ {
		if attempt > 0 {
			o.Logger.Warn("retrying the report mail", "notify", m.Name(), "attempt", attempt+1, "in", wait, "error", err)
			select {
			case <-ctx.Done():
				return errors.Join(err, ctx.Err())
			case <-time.After(wait):
			}
			wait *= 2
		}
		if err = m.SendRich(ctx, msg); err == nil {
			return nil
		}
	}
	return fmt.Errorf("after %d tries: %w", o.Retries+1, err)
}

// Keep writes x under stateDir/reports/<kind>/<label>[-<database>] and stores
// the model r in the repository and catalog (history.KindReport) under
// scope (a database, or "_site" for a site-wide report). It returns the
// directory and the document's id.
func Keep(ctx context.Context, store history.Store, stateDir, scope string, r *Report, x *Rendered) (dir, id string, err error) {
	name := r.Label
	if scope != SiteScope {
		name += "-" + scope
	}
	dir = filepath.Join(stateDir, "reports", r.Kind, name)
	if err := x.WriteDir(dir); err != nil {
		return "", "", err
	}
	if store.Repo == nil {
		return dir, "", nil
	}
	id, err = store.Save(ctx, history.KindReport, scope, r.GeneratedAt, r)
	if err != nil {
		return dir, "", fmt.Errorf("keeping the %s report %s in the repository: %w", r.Kind, r.Label, err)
	}
	return dir, id, nil
}

// SiteScope is the history scope of a report over the whole site.
const SiteScope = "_site"
