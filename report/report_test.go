package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"troubleshooter/bot"
	"troubleshooter/flows"
	"troubleshooter/report/reporttest"
)

func testRunner(t testing.TB) *flows.Runner {
	t.Helper()
	set, err := flows.LoadSet(nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	runner, err := flows.NewRunner(set.Guides, "")
	if err != nil {
		t.Fatal(err)
	}
	return runner
}

// seeded is a memory store holding reporttest's hand-counted records.
func seeded(t testing.TB) *bot.MemoryStore {
	t.Helper()
	store := bot.NewMemoryStore()
	reporttest.SeedOutcomes(t, store, time.Now())
	return store
}

// scanOnly hides the store's running counts, so that the report falls back
// to reading every record.
type scanOnly struct{ bot.Store }

// stores are the two ways the report reads: running counts, and records.
func stores(t *testing.T) map[string]bot.Store {
	st := seeded(t)
	if _, ok := bot.Store(st).(bot.Tallier); !ok {
		t.Fatal("the memory store keeps no running counts")
	}
	return map[string]bot.Store{"tallies": st, "records": scanOnly{st}}
}

func TestHandCounts(t *testing.T) {
	runner := testRunner(t)
	for name, store := range stores(t) {
		t.Run(name, func(t *testing.T) {
			rep, err := Build(context.Background(), store, runner, time.Now().AddDate(0, 0, -7), "")
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Guides) != 1 {
				t.Fatalf("%d guides", len(rep.Guides))
			}
			g := rep.Guides[0]
			want := Totals{Started: 10, Resolved: 6, Escalated: 1, Stopped: 2, Expired: 1, Restarted: 1}
			if g.Totals != want || g.Ended != 10 || g.Resumed != 1 || g.Shares.Resolved != 0.6 {
				t.Errorf("totals %+v ended %d resumed %d shares %+v; want %+v, 10 ended, 1 resumed", g.Totals, g.Ended, g.Resumed, g.Shares, want)
			}
			steps := map[string]Step{}
			var order []string
			for _, s := range g.Steps {
				steps[s.Step] = s
				order = append(order, s.Step)
			}
			for step, w := range map[string][3]int64{ // reached, left, fixed
				"icloud_access": {10, 0, 0}, "symptom": {10, 0, 0}, "backup_size": {10, 2, 0}, "free_space": {8, 0, 0},
				"phone_space": {4, 0, 0}, "ios_version": {4, 1, 0}, "whatsapp_version": {3, 0, 0}, "fix_update": {3, 0, 2},
				"fix_storage": {4, 0, 4}, "apple_status": {1, 0, 0}, "fix_manual": {1, 0, 0}, "resolved": {6, 0, 0}, "escalate": {1, 0, 0},
			} {
				s := steps[step]
				if [3]int64{s.Reached, s.Left, s.Fixed} != w {
					t.Errorf("step %s: reached %d left %d resolved %d; want %v", step, s.Reached, s.Left, s.Fixed, w)
				}
			}
			if s := steps["fix_storage"]; s.Title != "Make room in iCloud" || s.Kind != "fix" || s.FixedShare != 1 || s.ReachedShare != 0.4 {
				t.Errorf("fix_storage %+v", s)
			}
			if s := steps["symptom"]; s.Restarted != 1 {
				t.Errorf("symptom restarts %d, want 1", s.Restarted)
			}
			if len(order) != 13 || order[0] != "icloud_access" || order[len(order)-1] != "escalate" {
				t.Errorf("steps not in the guide's order: %v", order)
			}
			if g.TTR.Resolved != 6 || g.TTR.Median != "≤ 5m" || g.TTR.P90 != "≤ 1h" || !g.TTR.Bucketed {
				t.Errorf("time to resolution %+v", g.TTR)
			}
			var sum Totals
			for _, d := range g.Days {
				sum.Started += d.Started
				sum.Resolved += d.Resolved
				sum.Escalated += d.Escalated
				sum.Stopped += d.Stopped
				sum.Expired += d.Expired
				sum.Restarted += d.Restarted
			}
			if sum != g.Totals || len(g.Days) < 1 || len(g.Days) > 2 {
				t.Errorf("days %+v add up to %+v, want %+v", g.Days, sum, g.Totals)
			}

			all, err := Build(context.Background(), store, runner, time.Time{}, "")
			if err != nil {
				t.Fatal(err)
			}
			if g := all.Guides[0]; g.Started != 11 || g.Resolved != 7 || len(g.Days) != 31 {
				t.Errorf("all time: started %d resolved %d over %d days; want 11, 7 over 31 days (gaps listed)", g.Started, g.Resolved, len(g.Days))
			}
		})
	}
}

// TestTalliesAndRecordsAgree: the report reads the same numbers from the
// running counts as from the records, over windows that cut through hours
// and conversations.
func TestTalliesAndRecordsAgree(t *testing.T) {
	runner := testRunner(t)
	st := stores(t)
	now := time.Now()
	for _, since := range []time.Time{{}, now.AddDate(0, 0, -7), now.Add(-5*time.Hour - 30*time.Minute), now.Add(-9 * time.Hour), now, now.AddDate(0, 0, -30)} {
		for _, only := range []string{"", reporttest.Guide, "discord-notifications"} {
			a, err1 := Build(context.Background(), st["tallies"], runner, since, only)
			b, err2 := Build(context.Background(), st["records"], runner, since, only)
			if err := errors.Join(err1, err2); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, b) {
				t.Errorf("since %v, guide %q: from tallies\n%+v\nfrom records\n%+v", since, only, a, b)
			}
		}
	}
}

// TestFormatsAgree: text, JSON, CSV and the page show the same numbers. The
// JSON is the reference; every number in it is found in the other three.
func TestFormatsAgree(t *testing.T) {
	runner := testRunner(t)
	rep, err := Build(context.Background(), seeded(t), runner, time.Time{}, "")
	if err != nil {
		t.Fatal(err)
	}
	render := func(format string) string {
		var b bytes.Buffer
		if format == "html" {
			err = reportPage.Execute(&b, rep)
		} else {
			err = Write(&b, rep, format)
		}
		if err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	var fromJSON Report
	if err := json.Unmarshal([]byte(render("json")), &fromJSON); err != nil {
		t.Fatal(err)
	}
	if len(fromJSON.Guides) != 1 || len(fromJSON.Guides[0].Steps) == 0 || len(fromJSON.Guides[0].Days) == 0 {
		t.Fatalf("the JSON report has too little to compare: %+v", fromJSON)
	}
	records, err := csv.NewReader(strings.NewReader(render("csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	csvValue := map[string]string{} // "section item measure" → "value share"
	for _, r := range records[1:] {
		csvValue[r[1]+" "+r[2]+" "+r[4]] = r[5] + " " + r[6]
	}
	text, page := render("text"), render("html")
	htmlValue := map[string]string{}
	for _, m := range regexp.MustCompile(`data-m="([^"]+)">([^<]*)<`).FindAllStringSubmatch(page, -1) {
		htmlValue[m[1]] = m[2]
	}
	frac := func(f float64) string { return strconv.FormatFloat(f, 'f', 4, 64) }
	check := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %q, want %q", what, got, want)
		}
	}
	textLine := func(re string) {
		t.Helper()
		if !regexp.MustCompile(`(?m)` + re).MatchString(text) {
			t.Errorf("text lacks a line matching %s:\n%s", re, text)
		}
	}
	pc := func(n, of int64) string { return regexp.QuoteMeta(pct(n, of)) }
	for _, g := range fromJSON.Guides {
		for _, tot := range []struct {
			measure string
			n       int64
			share   *float64
		}{
			{"started", g.Started, nil}, {"ended", g.Ended, nil}, {"resolved", g.Resolved, &g.Shares.Resolved},
			{"escalated", g.Escalated, &g.Shares.Escalated}, {"stopped", g.Stopped, &g.Shares.Stopped},
			{"expired", g.Expired, &g.Shares.Expired}, {"restarted", g.Restarted, nil}, {"resumed", g.Resumed, nil},
		} {
			n := strconv.FormatInt(tot.n, 10)
			share, textPct := "", ""
			if tot.share != nil {
				share, textPct = frac(*tot.share), `\s+`+pc(tot.n, g.Ended)
			}
			check("csv total "+tot.measure, csvValue["total  "+tot.measure], n+" "+share)
			check("html total "+tot.measure, htmlValue[tot.measure], n)
			textLine(`^\s+` + tot.measure + `\s+` + n + textPct + `(\s|$)`)
		}
		for _, s := range g.Steps {
			for _, m := range []struct {
				measure string
				n       int64
				share   string
			}{{"reached", s.Reached, frac(s.ReachedShare)}, {"left", s.Left, frac(s.LeftShare)}, {"resolved", s.Fixed, frac(s.FixedShare)}, {"restarted", s.Restarted, ""}} {
				check("csv step "+s.Step+" "+m.measure, csvValue["step "+s.Step+" "+m.measure], strconv.FormatInt(m.n, 10)+" "+m.share)
				check("html step "+s.Step+" "+m.measure, htmlValue[m.measure+" "+s.Step], strconv.FormatInt(m.n, 10))
			}
			textLine(fmt.Sprintf(`^  %s\s+%d\s+%s\s+%d\s+%s\s+%d\s+%s\s+%d$`, regexp.QuoteMeta(s.Title),
				s.Reached, pc(s.Reached, g.Ended), s.Left, pc(s.Left, s.Reached), s.Fixed, pc(s.Fixed, s.Reached), s.Restarted))
		}
		for _, d := range g.Days {
			ns := []int64{d.Started, d.Resolved, d.Escalated, d.Stopped, d.Expired, d.Restarted}
			for i, measure := range []string{"started", "resolved", "escalated", "stopped", "expired", "restarted"} {
				n := strconv.FormatInt(ns[i], 10)
				check("csv day "+d.Day+" "+measure, csvValue["day "+d.Day+" "+measure], n+" ")
				check("html day "+d.Day+" "+measure, htmlValue["day "+d.Day+" "+measure], n)
			}
			textLine(fmt.Sprintf(`^  %s\s+%d\s+%d\s+%d\s+%d\s+%d\s+%d$`, d.Day, ns[0], ns[1], ns[2], ns[3], ns[4], ns[5]))
		}
		tt := g.TTR
		check("csv median", csvValue["ttr  median"], tt.Median+" ")
		check("csv p90", csvValue["ttr  p90"], tt.P90+" ")
		check("html median", htmlValue["median"], tt.Median)
		check("html p90", htmlValue["p90"], tt.P90)
		check("html ttr resolved", htmlValue["ttr-resolved"], strconv.FormatInt(tt.Resolved, 10))
		textLine(fmt.Sprintf(`^  time to resolution \(bucketed\): median %s, p90 %s, of %d resolved$`, tt.Median, tt.P90, tt.Resolved))
		for _, b := range tt.Buckets {
			check("csv ttr "+b.Label, csvValue["ttr_bucket "+b.Label+" resolved"], strconv.FormatInt(b.Count, 10)+" "+frac(share(b.Count, tt.Resolved)))
			check("html ttr "+b.Label, htmlValue["ttr "+b.Label], strconv.FormatInt(b.Count, 10))
			textLine(fmt.Sprintf(`^    %s\s+%d\s+%s$`, b.Label, b.Count, pc(b.Count, tt.Resolved)))
		}
	}
	if want := 8 + 4*len(fromJSON.Guides[0].Steps) + 6*len(fromJSON.Guides[0].Days) + 3 + len(fromJSON.Guides[0].TTR.Buckets); len(records)-1 != want {
		t.Errorf("csv has %d rows, want %d: one per number", len(records)-1, want)
	}
}

func TestNoSuchGuide(t *testing.T) {
	runner := testRunner(t)
	store := seeded(t)
	_, err := Build(context.Background(), store, runner, time.Time{}, "nope")
	var none *NoGuideError
	if !errors.As(err, &none) || err.Error() != "no guide called nope (have: "+strings.Join(runner.IDs(), ", ")+")" {
		t.Errorf("guide nope: %v", err)
	}
	// A loaded guide without conversations is an empty report, not an error.
	rep, err := Build(context.Background(), store, runner, time.Time{}, "discord-notifications")
	if err != nil || len(rep.Guides) != 0 {
		t.Errorf("a quiet guide: %+v, %v", rep, err)
	}
	// A guide no longer loaded whose conversations are recorded still counts.
	if err := store.Save(context.Background(), &bot.Session{Key: "gone"}, []bot.Outcome{{Key: "gone", Guide: "retired", Kind: bot.OutcomeStopped, Step: "q", Path: []string{"q"}, Ended: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	rep, err = Build(context.Background(), store, runner, time.Time{}, "retired")
	if err != nil || len(rep.Guides) != 1 || rep.Guides[0].Stopped != 1 || rep.Guides[0].Steps[0].Title != "q" {
		t.Errorf("a retired guide: %+v, %v", rep, err)
	}
}

// failing is a store whose reads fail.
type failing struct{ bot.Store }

var errBroken = errors.New("broken")

func (failing) Outcomes(context.Context, time.Time, func(bot.Outcome) error) error { return errBroken }
func (failing) Tallies(context.Context, time.Time, func(bot.TallyKey, map[string]int64) error) error {
	return errBroken
}

func TestStoreErrors(t *testing.T) {
	runner := testRunner(t)
	for name, store := range map[string]bot.Store{"tallies": failing{bot.NewMemoryStore()}, "records": scanOnly{failing{bot.NewMemoryStore()}}} {
		if _, err := Build(context.Background(), store, runner, time.Time{}, ""); !errors.Is(err, errBroken) {
			t.Errorf("%s: %v, want the store's error", name, err)
		}
	}
	srv := httptest.NewServer(Handler(failing{bot.NewMemoryStore()}, runner))
	defer srv.Close()
	if code, _ := get(t, srv.URL+"/report"); code != http.StatusServiceUnavailable {
		t.Errorf("a broken store: %d", code)
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 12, 4, 20, 40, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"", time.Time{}, false},
		{"all", time.Time{}, false},
		{"7d", now.AddDate(0, 0, -7), false},
		{"0d", now, false},
		{"36500d", now.AddDate(0, 0, -36500), false},
		{"36501d", time.Time{}, true},
		{"-1d", time.Time{}, true},
		{"36h", now.Add(-36 * time.Hour), false},
		{"1d12h", now.Add(-36 * time.Hour), false},
		{"1.5d", now.Add(-36 * time.Hour), false},
		{" 2d ", now.AddDate(0, 0, -2), false},
		{"30", time.Time{}, true},
		{"90m", now.Add(-90 * time.Minute), false},
		{"-5h", time.Time{}, true},
		{"2026-01-31", time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC), false},
		{"2026-02-30", time.Time{}, true},
		{"2026-12-04", time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC), false},
		{"2026-12-05", time.Time{}, true},
		{"d", time.Time{}, true},
		{"7 days", time.Time{}, true},
		{"bogus", time.Time{}, true},
	} {
		got, err := ParseSince(tc.in, now)
		if (err != nil) != tc.err || !got.Equal(tc.want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func FuzzParseSince(f *testing.F) {
	for _, s := range []string{"7d", "36h", "2026-01-31", "all", "", "-1d", "1e9h", "99999999999d"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 4, 20, 40, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		since, err := ParseSince(s, now)
		if err != nil {
			if !strings.Contains(err.Error(), "--since") {
				t.Fatalf("error %q does not name the flag", err)
			}
			return
		}
		if since.After(now) {
			t.Fatalf("%q: window begins %v, after now", s, since)
		}
	})
}

func get(t testing.TB, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// reportServer serves /report over the seeded memory store.
func reportServer(t testing.TB) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(Handler(seeded(t), testRunner(t)))
	t.Cleanup(srv.Close)
	return srv
}

func TestReportPage(t *testing.T) {
	srv := reportServer(t)
	code, page := get(t, srv.URL+"/report?since=7d")
	if code != 200 {
		t.Fatalf("%d %s", code, page)
	}
	for _, want := range []string{`data-m="started">10<`, `data-m="resolved">6<`, "resolved 60%", "Make room in iCloud", `data-m="median">≤ 5m<`, "Per step", "Per day", `class="fix" style="width:100.0%"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, banned := range []string{"http://", "https://", "<script", "<link", "<img", `width="500"`} {
		if strings.Contains(page, banned) {
			t.Errorf("page holds %q: it must be one self-contained file whose bars scale", banned)
		}
	}
	for query, want := range map[string]string{"": "text/html; charset=utf-8", "format=json": "application/json", "format=csv": "text/csv; charset=utf-8", "format=text": "text/plain; charset=utf-8"} {
		resp, err := http.Get(srv.URL + "/report?" + query)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		if got := resp.Header.Get("Content-Type"); got != want || (query == "") != strings.HasPrefix(csp, "default-src 'none'") {
			t.Errorf("?%s: Content-Type %q, policy %q; want %q, and a strict policy on the page", query, got, csp, want)
		}
	}
	for _, tc := range []struct {
		query string
		code  int
		body  string
	}{
		{"since=bogus", 400, "--since"},
		{"format=xml", 400, "want html, text, json or csv"},
		{"guide=nope", 404, "no guide called nope (have: "},
		{"since=all&format=text", 200, "of 7 resolved"},
		{"format=csv", 200, "guide,section,item,title,measure,value,share\n"},
		{"format=json&guide=whatsapp-icloud", 200, `"started": 10`},
	} {
		if code, body := get(t, srv.URL+"/report?"+tc.query); code != tc.code || !strings.Contains(body, tc.body) {
			t.Errorf("?%s: %d %q; want %d with %q", tc.query, code, body, tc.code, tc.body)
		}
	}
}

// FuzzHandler: no query makes the page fail: every answer is the report or
// a 400 or 404 that says what was wrong.
func FuzzHandler(f *testing.F) {
	for _, q := range []string{"since=7d", "guide=nope", "format=csv&since=all", "since=2026-01-31&guide=whatsapp-icloud", "since=%ff"} {
		f.Add(q)
	}
	h := Handler(seeded(f), testRunner(f))
	f.Fuzz(func(t *testing.T, query string) {
		if _, err := url.ParseQuery(query); err != nil {
			return
		}
		req := httptest.NewRequest(http.MethodGet, "/report", nil)
		req.URL.RawQuery = query // any bytes, as a client could send them
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200:
		case 400, 404:
			if rec.Body.Len() == 0 {
				t.Fatalf("?%s: %d without a reason", query, rec.Code)
			}
		default:
			t.Fatalf("?%s: %d %s", query, rec.Code, rec.Body)
		}
	})
}

// TestParallelRequests: eight requests at once all get the whole report.
func TestParallelRequests(t *testing.T) {
	srv := reportServer(t)
	_, want := get(t, srv.URL+"/report?since=all&format=json")
	type answer struct {
		code int
		body string
		err  error
	}
	answers := make(chan answer, 8)
	for range 8 {
		go func() {
			resp, err := http.Get(srv.URL + "/report?since=all&format=json")
			if err != nil {
				answers <- answer{err: err}
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			answers <- answer{resp.StatusCode, string(body), err}
		}()
	}
	for range 8 {
		a := <-answers
		if a.err != nil || a.code != 200 || a.body != want {
			t.Errorf("a parallel request: %d, %v, %d bytes (want %d)", a.code, a.err, len(a.body), len(want))
		}
	}
}

// gated is a store whose Tallies waits for the test's go-ahead and counts
// its calls.
type gated struct {
	*bot.MemoryStore
	entered chan struct{}
	release chan struct{}
	mu      sync.Mutex
	calls   int
}

func (g *gated) Tallies(ctx context.Context, since time.Time, fn func(bot.TallyKey, map[string]int64) error) error {
	g.mu.Lock()
	g.calls++
	g.mu.Unlock()
	g.entered <- struct{}{}
	<-g.release
	return g.MemoryStore.Tallies(ctx, since, fn)
}

// TestRequestsTogetherShareOneRead: eight requests for the same report
// that arrive while it is being read get that one read, whole; a request
// for another guide reads for itself.
func TestRequestsTogetherShareOneRead(t *testing.T) {
	store := &gated{MemoryStore: seeded(t), entered: make(chan struct{}, 16), release: make(chan struct{})}
	shared := &coalescer{}
	srv := httptest.NewServer(handler(store, testRunner(t), shared))
	defer srv.Close()
	type answer struct {
		code int
		body string
	}
	answers := make(chan answer, 9)
	fetch := func(query string) {
		code, body := get(t, srv.URL+"/report?"+query)
		answers <- answer{code, body}
	}
	go fetch("since=all&format=json")
	<-store.entered // the first is reading
	for range 7 {
		go fetch("since=all&format=json")
	}
	for shared.waiters() < 7 {
		if len(store.entered) > 0 {
			close(store.release)
			t.Fatal("a request that came while the report was read read the counts again")
		}
		runtime.Gosched() // until all seven wait on the first read
	}
	go fetch("since=all&format=json&guide=whatsapp-icloud")
	<-store.entered // another guide: its own read
	close(store.release)
	for range 9 {
		// Every guide in the seed is whatsapp-icloud: one report for all.
		if a := <-answers; a.code != 200 || !strings.Contains(a.body, `"started": 11`) {
			t.Errorf("an answer: %d %s", a.code, a.body)
		}
	}
	if store.calls != 2 {
		t.Errorf("%d reads of the running counts for 8 requests together and 1 apart, want 2", store.calls)
	}
}

func TestTTRQuantiles(t *testing.T) {
	for _, tc := range []struct {
		name        string
		buckets     map[int]int64 // bucket index → resolutions
		median, p90 string
	}{
		{"none", nil, "", ""},
		{"one", map[int]int64{4: 1}, "≤ 5m", "≤ 5m"},
		{"half at the first bound", map[int]int64{0: 5, 9: 5}, "≤ 30s", "≤ 30m"},
		{"just past half", map[int]int64{0: 4, 9: 5, 11: 1}, "≤ 30m", "≤ 30m"},
		{"the open bucket", map[int]int64{2: 1, bot.TTRBucket(48 * time.Hour): 9}, "> 24h", "> 24h"},
	} {
		f := map[string]int64{}
		var total int64
		for i, n := range tc.buckets {
			f[bot.TallyTTR+strconv.Itoa(i)] = n
			total += n
		}
		got := ttr(f)
		if got.Median != tc.median || got.P90 != tc.p90 || got.Resolved != total || len(got.Buckets) != len(tc.buckets) {
			t.Errorf("%s: %+v; want median %q, p90 %q of %d", tc.name, got, tc.median, tc.p90, total)
		}
	}
}
