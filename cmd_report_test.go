package main

import (
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"troubleshooter/report"
	"troubleshooter/report/reporttest"
)

// TestReportMatchesHandCounts runs the report command over the configured
// (bolt) store seeded with reporttest's hand-counted conversations.
func TestReportMatchesHandCounts(t *testing.T) {
	cfg := tempConfig(t, "")
	a, err := newApp(cfg, true, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	reporttest.SeedOutcomes(t, a.store, time.Now())
	a.close()

	code, stdout, stderr := runCLI(t, "", "report", "--since", "7d", "--format", "json", "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if len(rep.Guides) != 1 {
		t.Fatalf("%d guides in the report", len(rep.Guides))
	}
	g := rep.Guides[0]
	if want := (report.Totals{Started: 10, Resolved: 6, Escalated: 1, Stopped: 2, Expired: 1, Restarted: 1}); g.Totals != want || g.TTR.Median != "≤ 5m" {
		t.Errorf("totals %+v, median %s; want %+v, ≤ 5m", g.Totals, g.TTR.Median, want)
	}

	code, stdout, _ = runCLI(t, "", "report", "--since", "all", "--config", cfg)
	if code != 0 || !regexp.MustCompile(`(?m)^  started\s+11$`).MatchString(stdout) ||
		!regexp.MustCompile(`(?m)^  Make room in iCloud\s+4\s+36%\s+0\s+0%\s+4\s+100%\s+0$`).MatchString(stdout) {
		t.Errorf("text report (all time):\n%s", stdout)
	}
	code, stdout, _ = runCLI(t, "", "report", "--format", "csv", "--config", cfg)
	if code != 0 || !strings.Contains(stdout, "whatsapp-icloud,step,fix_storage,Make room in iCloud,resolved,4,1.0000\n") {
		t.Errorf("csv report:\n%s", stdout)
	}
	if code, _, stderr := runCLI(t, "", "report", "--since", "soon", "--config", cfg); code != 1 || !strings.Contains(stderr, "want a duration") {
		t.Errorf("bad --since: exit %d %s", code, stderr)
	}
	if code, stdout, stderr := runCLI(t, "", "report", "--guide", "nope", "--config", cfg); code != 1 || stdout != "" ||
		!regexp.MustCompile(`no guide called nope \(have: [a-z-]+(, [a-z-]+)+\)`).MatchString(stderr) {
		t.Errorf("--guide nope: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
