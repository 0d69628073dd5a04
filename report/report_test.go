package report

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"image/png"

	"troubleshooter/bot"
	"troubleshooter/flows"
	"troubleshooter/report/reporttest"
)

// reportServer serves /report over a seeded memory store.
func reportServer(t *testing.T) *httptest.Server {
	t.Helper()
	set, err := flows.LoadSet(nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	runner, err := flows.NewRunner(set.Guides, "")
	if err != nil {
		t.Fatal(err)
	}
	store := bot.NewMemoryStore()
	reporttest.SeedOutcomes(t, store, time.Now())
	srv := httptest.NewServer(Handler(store, runner))
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
