package main

import (
	"context"
	"io"
	"time"

	"troubleshooter/report"
)

func cmdReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("report", "report [--since 7d] [--guide ID] [--format text|json|csv] [--config PATH]", stderr)
	sinceFlag := fs.String("since", "7d", "report window: a duration (7d, 36h), a date (2026-01-31) or all; it begins on the hour")
	guide := fs.String("guide", "", "only this guide")
	format := fs.String("format", "text", "text, json or csv")
	config := configFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	since, err := report.ParseSince(*sinceFlag, time.Now())
	if err != nil {
		return err
	}
	if err := report.CheckFormat(*format); err != nil {
		return err
	}
	a, err := openApp(config, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	rep, err := report.Build(ctx, a.store, a.runner, since, *guide)
	if err != nil {
		return err
	}
	return report.Write(stdout, rep, *format)
}
