package report

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"troubleshooter/adapters/boltstore"
	"troubleshooter/bot"
)

// benchRecords is how many outcome records the benchmark store holds: the
// issue's 500k (half starts, half endings).
const benchRecords = 500_000

var (
	benchOnce  sync.Once
	benchStore *bot.MemoryStore
	benchNow   = time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC)
)

// bigStore is a memory store holding benchRecords records of both built-in
// guides over the 30 days before benchNow: each conversation a start and
// an ending of a kind and path drawn at random (fixed seed), saved in time
// order in batches as an engine under load would.
func bigStore(tb testing.TB) *bot.MemoryStore {
	tb.Helper()
	benchOnce.Do(func() {
		rng := rand.New(rand.NewPCG(14, 15))
		paths := map[string][][]string{
			"whatsapp-icloud": {
				{"icloud_access", "symptom", "backup_size", "free_space", "fix_storage", "resolved"},
				{"icloud_access", "symptom", "backup_size", "free_space", "phone_space", "ios_version", "whatsapp_version", "fix_update", "resolved"},
				{"icloud_access", "symptom", "backup_size"},
				{"icloud_access", "symptom", "backup_size", "free_space", "phone_space", "ios_version", "whatsapp_version", "fix_update", "apple_status", "fix_manual", "escalate"},
			},
			"discord-notifications": {
				{"scope", "fix_server_settings", "resolved"},
				{"scope", "desktop_active", "phone", "os_permission", "fix_os_permission", "phone_focus", "fix_phone_focus", "resolved"},
				{"scope", "phone", "app_version", "fix_update", "fix_discord_app_settings", "fix_relogin", "fix_reinstall", "escalate"},
				{"scope", "phone"},
			},
		}
		kinds := []string{bot.OutcomeResolved, bot.OutcomeResolved, bot.OutcomeStopped, bot.OutcomeEscalated, bot.OutcomeExpired}
		recs := make([]bot.Outcome, 0, benchRecords)
		span := 30 * 24 * time.Hour
		for i := 0; len(recs) < benchRecords; i++ {
			guide := "whatsapp-icloud"
			if i%3 == 0 {
				guide = "discord-notifications"
			}
			ps := paths[guide]
			path := ps[rng.IntN(len(ps))]
			kind := kinds[rng.IntN(len(kinds))]
			start := benchNow.Add(-span + time.Duration(rng.Int64N(int64(span))))
			end := start.Add(time.Duration(rng.Int64N(int64(3 * time.Hour))))
			key := fmt.Sprintf("c%d", i)
			recs = append(recs,
				bot.Outcome{Key: key, Platform: "slack", Guide: guide, Kind: bot.OutcomeStarted, Step: path[0], Started: start, Ended: start},
				bot.Outcome{Key: key, Platform: "slack", Guide: guide, Kind: kind, Step: path[len(path)-1], Path: path, Started: start, Ended: end})
		}
		slices.SortFunc(recs, func(a, b bot.Outcome) int { return a.Ended.Compare(b.Ended) })
		st := bot.NewMemoryStore()
		s := &bot.Session{Key: "bench"}
		for i := 0; i < len(recs); i += 1000 {
			if err := st.Save(context.Background(), s, recs[i:min(i+1000, len(recs))]); err != nil {
				panic(err)
			}
		}
		benchStore = st
	})
	return benchStore
}

// BenchmarkReport is one /report request (the page, or the text the
// report command prints) over benchRecords records: from the running
// counts, with 8 requests at once, and from the records (a store without
// running counts) for comparison.
func BenchmarkReport(b *testing.B) {
	st := bigStore(b)
	runner := testRunner(b)
	// One handler per store, as a server has: requests that arrive
	// together share its work.
	handlers := map[bot.Store]http.Handler{st: Handler(st, runner), scanOnly{st}: Handler(scanOnly{st}, runner)}
	request := func(b *testing.B, store bot.Store, query string) {
		h := handlers[store]
		req := httptest.NewRequest(http.MethodGet, "/report?"+query, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
	for _, query := range []string{"since=all", "since=7d", "since=all&format=text"} {
		b.Run("tallies/"+query, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				request(b, st, query)
			}
		})
	}
	b.Run("tallies/8-at-once/since=all", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0))) // 8 requests at once (on up to 8 cores)
		var (
			mu    sync.Mutex
			worst time.Duration
		)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				start := time.Now()
				request(b, st, "since=all")
				d := time.Since(start)
				mu.Lock()
				worst = max(worst, d)
				mu.Unlock()
			}
		})
		// What one person waits for a page while the others load theirs.
		b.ReportMetric(float64(worst)/float64(time.Millisecond), "worst-ms/request")
	})
	b.Run("records/since=all", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			request(b, scanOnly{st}, "since=all")
		}
	})
	b.Run("cli-text/since=all", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rep, err := Build(context.Background(), st, runner, time.Time{}, "")
			if err != nil {
				b.Fatal(err)
			}
			if err := Write(io.Discard, rep, "text"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBoltFunnel is the report command's work (Build and the text)
// over a bolt file holding benchRecords records: the store the command
// reads in a default install. Filling the file takes about half a minute.
func BenchmarkBoltFunnel(b *testing.B) {
	mem := bigStore(b)
	st, err := boltstore.Open(filepath.Join(b.TempDir(), "report.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var recs []bot.Outcome
	if err := mem.Outcomes(context.Background(), time.Time{}, func(o bot.Outcome) error { recs = append(recs, o); return nil }); err != nil {
		b.Fatal(err)
	}
	s := &bot.Session{Key: "bench"}
	for i := 0; i < len(recs); i += 1000 {
		if err := st.Save(context.Background(), s, recs[i:min(i+1000, len(recs))]); err != nil {
			b.Fatal(err)
		}
	}
	runner := testRunner(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rep, err := Build(context.Background(), st, runner, time.Time{}, "")
		if err != nil {
			b.Fatal(err)
		}
		if err := Write(io.Discard, rep, "text"); err != nil {
			b.Fatal(err)
		}
	}
}
