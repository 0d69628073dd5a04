package report

import (
	"context"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chromium returns the headless Chromium binary, or skips the test when it
// is absent locally; CI installs it and sets TROUBLESHOOTER_REQUIRE_CHROMIUM
// so that it runs there.
func chromium(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("TROUBLESHOOTER_REQUIRE_CHROMIUM") != "" {
			t.Fatal("chromium is not installed but TROUBLESHOOTER_REQUIRE_CHROMIUM is set")
		}
		t.Skip("chromium is not installed (apt-get install chromium)")
	}
	return bin
}

// runChromium loads u in headless Chromium with a window of w×h CSS pixels
// and returns its output; args add the action (--dump-dom, --screenshot).
func runChromium(t *testing.T, bin string, w, h int, u string, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--force-device-scale-factor=1",
		"--user-data-dir=" + filepath.Join(dir, "profile"), "--hide-scrollbars",
		"--window-size=" + strconv.Itoa(w) + "," + strconv.Itoa(h)}, args...)
	out, err := exec.CommandContext(ctx, bin, append(all, u)...).Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	return string(out)
}

// framePage shows /report in an iframe w CSS pixels wide: headless
// Chromium's window is at least 500 px wide, so a phone's 390 px is the
// frame's, and the page inside lays out as on a phone. Its script (the
// report itself runs none) writes what the layout came to into the DOM,
// for --dump-dom.
const framePage = `<!doctype html><html><head><meta charset="utf-8"><script>
function measure(f){
  var win = f.contentWindow, doc = f.contentDocument, worst = 0, full = 0;
  doc.querySelectorAll('.track, table, .cards, h2, p').forEach(function(e){
    var r = e.getBoundingClientRect(); if (r.right > worst) worst = r.right;
  });
  doc.querySelectorAll('.reach').forEach(function(e){
    var w = e.getBoundingClientRect().width; if (w > full) full = w;
  });
  document.getElementById('probe').textContent = 'viewport=' + win.innerWidth +
    ' scroll=' + doc.documentElement.scrollWidth + ' right=' + Math.ceil(worst) + ' bar=' + Math.round(full) +
    ' height=' + doc.documentElement.scrollHeight;
}
</script></head><body style="margin:0;background:#fff">
<iframe src="/report?since=7d" onload="measure(this)" style="border:0;display:block;width:WIDTHpx;height:HEIGHTpx"></iframe>
<pre id="probe"></pre></body></html>`

// TestReportPageInChromium renders /report in headless Chromium as a phone
// (390 px) and a desktop (1280 px) would: nothing wider than the screen, the
// widest bar scaled to it, and screenshots of the right size with the green
// and red bars drawn. With TROUBLESHOOTER_SCREENSHOTS=DIR the screenshots
// are kept as DIR/report-390.png and DIR/report-1280.png (docs/).
func TestReportPageInChromium(t *testing.T) {
	bin := chromium(t)
	mux := http.NewServeMux()
	mux.Handle("/report", Handler(seeded(t), testRunner(t)))
	mux.HandleFunc("/frame", func(w http.ResponseWriter, r *http.Request) {
		page := strings.NewReplacer("WIDTH", r.URL.Query().Get("w"), "HEIGHT", r.URL.Query().Get("h")).Replace(framePage)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(page)) // a failed write shows as a failed probe
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	layout := regexp.MustCompile(`viewport=(\d+) scroll=(\d+) right=(\d+) bar=(\d+) height=(\d+)`)
	for _, size := range []struct{ w, h int }{{390, 2120}, {1280, 1660}} {
		t.Run(strconv.Itoa(size.w), func(t *testing.T) {
			frame := srv.URL + "/frame?w=" + strconv.Itoa(size.w) + "&h=" + strconv.Itoa(size.h)
			window := max(size.w, 500)
			dom := runChromium(t, bin, window, size.h+100, frame, "--dump-dom", "--virtual-time-budget=5000")
			m := layout.FindStringSubmatch(dom)
			if m == nil {
				t.Fatalf("no layout probe in the DOM:\n%s", dom)
			}
			n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
			viewport, scroll, right, bar, height := n(1), n(2), n(3), n(4), n(5)
			t.Logf("%d px wide: page %d px tall, widest bar %d px", viewport, height, bar)
			if viewport != size.w {
				t.Errorf("viewport %d px, want %d", viewport, size.w)
			}
			if scroll > viewport || right > viewport {
				t.Errorf("the page is wider than the screen: scroll width %d, rightmost element %d, viewport %d", scroll, right, viewport)
			}
			// The widest bar is a full one (everyone reached the first
			// question): it spans the column, whatever the screen (60rem
			// at most, less 1rem of padding each side).
			column := min(viewport, 960) - 32
			if bar < column*9/10 || bar > column {
				t.Errorf("the widest bar is %d px in a column of about %d px: bars do not scale to the width", bar, column)
			}

			shot := filepath.Join(t.TempDir(), "report.png")
			runChromium(t, bin, window, size.h, frame, "--screenshot="+shot)
			img := crop(t, decodePNG(t, shot), size.w, size.h)
			if green, red := barPixels(img); green < 100 || red < 20 {
				t.Errorf("the bars are not drawn: %d green and %d red sample pixels", green, red)
			}
			if dir := os.Getenv("TROUBLESHOOTER_SCREENSHOTS"); dir != "" {
				f, err := os.Create(filepath.Join(dir, "report-"+strconv.Itoa(size.w)+".png"))
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if err := png.Encode(f, img); err != nil {
					t.Fatal(err)
				}
				if err := f.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// crop is the top left w×h of img: the frame. It fails the test when the
// screenshot is smaller.
func crop(t *testing.T, img image.Image, w, h int) image.Image {
	t.Helper()
	b := img.Bounds()
	if b.Dx() < w || b.Dy() < h {
		t.Fatalf("screenshot is %v, want at least %dx%d", b, w, h)
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			out.Set(x, y, img.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return out
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// barPixels counts sample pixels of the resolved (green) and left (red)
// bar colours.
func barPixels(img image.Image) (green, red int) {
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
	return green, red
}
