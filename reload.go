package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"troubleshooter/flows"
)

// guidePoll is how often serve looks for changed guide files.
const guidePoll = 5 * time.Second

// reloadGuides loads and lints the guides again and, if they are all
// good, swaps them in; conversations in progress stay on the versions they
// started with. A broken guide is rejected with its problems and the old
// guides keep serving.
func (a *app) reloadGuides() error {
	set, err := flows.LoadSet(a.cfg.Guides.Files, a.cfg.Guides.Values, a.cfg.Guides.SkipBuiltin)
	if err != nil {
		return fmt.Errorf("guides not reloaded, the old ones keep serving:\n%w", err)
	}
	if err := a.runner.Reload(set.Guides, a.cfg.Guides.Default); err != nil {
		return fmt.Errorf("guides not reloaded, the old ones keep serving: %w", err)
	}
	for _, g := range set.Guides {
		a.log.Info("guide loaded", "guide", g.Guide.ID, "version", g.Guide.Version, "file", g.Guide.File)
	}
	return nil
}

// watchGuides reloads the guides on SIGHUP and when a configured guide file
// changes, until ctx ends.
func (a *app) watchGuides(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	ticker := time.NewTicker(guidePoll)
	defer ticker.Stop()
	seen := a.guideFileStamps()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			a.log.Info("SIGHUP: reloading guides")
		case <-ticker.C:
			now := a.guideFileStamps()
			if now == seen {
				continue
			}
			seen = now
			a.log.Info("a guide file changed: reloading guides")
		}
		if err := a.reloadGuides(); err != nil {
			a.log.Error(err.Error())
		}
	}
}

// guideFileStamps summarises the configured guide files' sizes and times.
func (a *app) guideFileStamps() string {
	var out string
	for _, f := range a.cfg.Guides.Files {
		if fi, err := os.Stat(f); err == nil {
			out += fmt.Sprintf("%s:%d:%d;", f, fi.Size(), fi.ModTime().UnixNano())
		} else {
			out += f + ":missing;"
		}
	}
	return out
}
