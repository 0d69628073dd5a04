package slack

import (
	"context"
	"errors"
	"fmt"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"troubleshooter/bot"
)

// runSocket connects over Socket Mode and feeds events to h until ctx is
// done. slack-go reconnects on disconnect requests and dropped connections;
// runSocket returns an error only when it cannot connect at all (bad app
// token).
func (a *Adapter) runSocket(ctx context.Context, h bot.Handler) error {
	var opts []socketmode.Option
	if a.pingInterval > 0 {
		opts = append(opts, socketmode.OptionPingInterval(a.pingInterval))
	}
	smc := socketmode.New(a.api, opts...)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- smc.RunContext(ctx) }()
	for {
		select {
		case err := <-done:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("slack socket mode: %w", err)
		case evt := <-smc.Events:
			if err := a.onSocketEvent(ctx, h, smc, evt); err != nil {
				cancel()
				<-done
				return err
			}
		}
	}
}

// onSocketEvent handles one socket mode event: each request from Slack is
// run in its own goroutine and acknowledged once its turn is saved, so
// that a request whose turn failed, or that arrived while shutting down,
// is left unacknowledged and Slack delivers it again.
func (a *Adapter) onSocketEvent(ctx context.Context, h bot.Handler, smc *socketmode.Client, evt socketmode.Event) error {
	var d *delivery
	switch evt.Type {
	case socketmode.EventTypeEventsAPI:
		if ev, ok := evt.Data.(slackevents.EventsAPIEvent); ok {
			d = a.fromEvent(h, ev)
		}
	case socketmode.EventTypeSlashCommand:
		if cmd, ok := evt.Data.(slack.SlashCommand); ok {
			d = a.fromSlash(h, cmd)
		}
	case socketmode.EventTypeInteractive:
		if cb, ok := evt.Data.(slack.InteractionCallback); ok {
			d = a.fromInteraction(h, cb)
		}
	case socketmode.EventTypeInvalidAuth:
		return errors.New("slack socket mode: the app token was refused (invalid_auth); check SLACK_APP_TOKEN and that Socket Mode is on")
	case socketmode.EventTypeConnectionError:
		a.log.Warn("socket mode connection failed; retrying", "detail", evt.Data)
		return nil
	case socketmode.EventTypeConnected:
		a.log.Info("socket mode connected")
		return nil
	case socketmode.EventTypeErrorBadMessage:
		a.log.Warn("socket mode: unreadable message", "detail", evt.Data)
		return nil
	default:
		return nil
	}
	if evt.Request == nil || evt.Request.EnvelopeID == "" {
		return nil
	}
	if d != nil && (evt.Type != socketmode.EventTypeEventsAPI || evt.Request.RetryAttempt > 0) {
		d.final = true // Slack will not send it again
	}
	select {
	case a.sockets <- struct{}{}:
	default:
		a.refused.Add(1)
		a.log.Warn("too many Socket Mode deliveries in progress; leaving one unacknowledged, Slack will redeliver it")
		return nil
	}
	envelope := evt.Request.EnvelopeID
	go func() {
		defer func() { <-a.sockets }()
		if err := a.accept(ctx, d); err != nil {
			a.refused.Add(1)
			a.log.Warn("not acknowledging a socket mode request; Slack will redeliver it", "err", bot.RedactURL(err))
			return
		}
		if err := smc.AckCtx(ctx, envelope, nil); err != nil && ctx.Err() == nil {
			a.log.Warn("socket mode ack failed", "err", err)
		}
	}()
	return nil
}
