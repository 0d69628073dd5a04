package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"image/png"

	"troubleshooter/bot"
)

// seedOutcomes saves a known mix of outcomes: 10 conversations of the
// WhatsApp guide ending in hand-countable ways, plus one too old to count.
func seedOutcomes(t *testing.T, store bot.Store, now time.Time) {
	t.Helper()
	recs := []struct {
		kind, step string
		n          int
	}{
		{bot.OutcomeResolved, "fix_storage", 4},
		{bot.OutcomeResolved, "fix_update", 2},
		{bot.OutcomeEscalated, "fix_delete_backup", 1},
		{bot.OutcomeStopped, "backup_size", 2},
		{bot.OutcomeExpired, "ios_version", 1},
	}
	i := 0
	for _, r := range recs {
		for range r.n {
			i++
			s := &bot.Session{Key: "seed" + string(rune('a'+i))}
			ended := now.Add(-time.Duration(i) * time.Hour)
			started := ended.Add(-20 * time.Minute)
			o := bot.Outcome{Key: s.Key, Guide: "whatsapp-icloud", Kind: r.kind, Step: r.step, Started: started, Ended: ended}
			recs := []bot.Outcome{o}
			if r.kind == bot.OutcomeExpired {
				// This conversation expired once before, at another step,
				// and was resumed: only its last ending counts.
				earlier := o
				earlier.Step, earlier.Ended = "backup_size", ended.Add(-10*time.Minute)
				recs = []bot.Outcome{earlier, o}
			}
			if err := store.Save(context.Background(), s, recs); err != nil {
				t.Fatal(err)
			}
		}
	}
	old := &bot.Session{Key: "old"}
	if err := store.Save(context.Background(), old, []bot.Outcome{{Key: "old", Guide: "whatsapp-icloud", Kind: bot.OutcomeResolved, Step: "fix_manual", Ended: now.AddDate(0, 0, -30)}}); err != nil {
		t.Fatal(err)
	}
}

func TestReportMatchesHandCounts(t *testing.T) {
	cfg := tempConfig(t, "")
	a, err := newApp(cfg, true, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	seedOutcomes(t, a.store, time.Now())
	a.close()

	code, stdout, stderr := runCLI(t, "", "report", "--since", "7d", "--format", "json", "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep struct {
		Guides []struct {
			Guide                                   string
			Started, Resolved, Escalated, Abandoned int
			Fixes                                   []struct {
				Step  string
				Count int
				Share float64
			} `json:"resolved_by"`
			DropOuts []struct {
				Step  string
				Count int
			} `json:"dropped_at"`
		}
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if len(rep.Guides) != 1 {
		t.Fatalf("%d guides in the report", len(rep.Guides))
	}
	g := rep.Guides[0]
	if g.Started != 10 || g.Resolved != 6 || g.Escalated != 1 || g.Abandoned != 3 {
		t.Errorf("started %d resolved %d escalated %d abandoned %d; want 10 6 1 3", g.Started, g.Resolved, g.Escalated, g.Abandoned)
	}
	// Steps come in guide order: fix_storage before fix_update.
	if len(g.Fixes) != 2 || g.Fixes[0].Step != "fix_storage" || g.Fixes[0].Count != 4 || g.Fixes[0].Share != 0.4 || g.Fixes[1].Step != "fix_update" {
		t.Errorf("resolved by %+v", g.Fixes)
	}
	if len(g.DropOuts) != 2 || g.DropOuts[0].Step != "backup_size" || g.DropOuts[0].Count != 2 || g.DropOuts[1].Step != "ios_version" {
		t.Errorf("dropped at %+v", g.DropOuts)
	}

	code, stdout, _ = runCLI(t, "", "report", "--since", "all", "--config", cfg)
	if code != 0 || !regexp.MustCompile(`started\s+11\s`).MatchString(stdout) || !regexp.MustCompile(`by Make room in iCloud\s+4\s+36%`).MatchString(stdout) {
		t.Errorf("text report (all time):\n%s", stdout)
	}
	code, stdout, _ = runCLI(t, "", "report", "--format", "csv", "--config", cfg)
	if code != 0 || !strings.Contains(stdout, "whatsapp-icloud,resolved_by,fix_storage,Make room in iCloud,4,0.4000") {
		t.Errorf("csv report:\n%s", stdout)
	}
	if code, _, stderr := runCLI(t, "", "report", "--since", "soon", "--config", cfg); code != 1 || !strings.Contains(stderr, "want a duration") {
		t.Errorf("bad --since: exit %d %s", code, stderr)
	}
}

// reportServer serves /report over a seeded memory store.
func reportServer(t *testing.T) *httptest.Server {
	t.Helper()
	runner, err := loadGuides(defaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	store := bot.NewMemoryStore()
	seedOutcomes(t, store, time.Now())
	srv := httptest.NewServer(reportHandler(store, runner))
	t.Cleanup(srv.Close)
	return srv
}

func TestReportPage(t *testing.T) {
	srv := reportServer(t)
	resp, err := http.Get(srv.URL + "/report?since=7d")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	page := string(body)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, page)
	}
	for _, want := range []string{"<b>10</b>started", "<b>6</b>resolved 60%", "Make room in iCloud", "4 · 40%", "Where people gave up", `fill="#2da44e"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, banned := range []string{"http://", "https://", "<script", "<link"} {
		if strings.Contains(page, banned) {
			t.Errorf("page references %q: it must render offline", banned)
		}
	}
	if resp, err := http.Get(srv.URL + "/report?since=bogus"); err != nil || resp.StatusCode != 400 {
		t.Errorf("bad since: %v %v", resp.StatusCode, err)
	}
}

// TestReportPageInChromium renders /report in headless Chromium and checks
// the screenshot: the right size, and the green and red bars drawn. It skips
// when Chromium is absent locally; CI installs it and sets
// TROUBLESHOOTER_REQUIRE_CHROMIUM so that it runs there.
func TestReportPageInChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("TROUBLESHOOTER_REQUIRE_CHROMIUM") != "" {
			t.Fatal("chromium is not installed but TROUBLESHOOTER_REQUIRE_CHROMIUM is set")
		}
		t.Skip("chromium is not installed (apt-get install chromium)")
	}
	srv := reportServer(t)
	dir := t.TempDir()
	shot := filepath.Join(dir, "report.png")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--hide-scrollbars", "--window-size=1000,900",
		"--screenshot="+shot, srv.URL+"/report?since=7d")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1000 || b.Dy() != 900 {
		t.Errorf("screenshot is %v", b)
	}
	green, red := 0, 0
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y += 2 {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x += 2 {
			r, g, b, _ := img.At(x, y).RGBA()
			r, g, b = r>>8, g>>8, b>>8
			switch {
			case r < 0x40 && g > 0x90 && g < 0xc0 && b > 0x30 && b < 0x60:
				green++
			case r > 0xb0 && g < 0x50 && b < 0x50:
				red++
			}
		}
	}
	if green < 200 || red < 100 {
		t.Errorf("the bars are not drawn: %d green and %d red sample pixels", green, red)
	}
	if dst := os.Getenv("TROUBLESHOOTER_SCREENSHOT"); dst != "" {
		data, _ := os.ReadFile(shot)
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
