package redisstore

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"troubleshooter/adapters/redisstore/redistest"
	"troubleshooter/bot"
)

func talliesOf(t testing.TB, st *Store) map[bot.TallyKey]map[string]int64 {
	t.Helper()
	got := map[bot.TallyKey]map[string]int64{}
	err := st.Tallies(context.Background(), time.Time{}, func(k bot.TallyKey, m map[string]int64) error {
		got[k] = maps.Clone(m)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func sumAdds(records []bot.Outcome) map[bot.TallyKey]map[string]int64 {
	want := map[bot.TallyKey]map[string]int64{}
	for _, o := range records {
		for _, a := range bot.TallyAdds(o) {
			if want[a.Bucket] == nil {
				want[a.Bucket] = map[string]int64{}
			}
			want[a.Bucket][a.Field] += a.N
		}
	}
	return want
}

func sameTallies(t testing.TB, got, want map[bot.TallyKey]map[string]int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d buckets, want %d:\ngot  %v\nwant %v", len(got), len(want), got, want)
	}
	for k, w := range want {
		if !maps.Equal(got[k], w) {
			t.Fatalf("bucket %s = %v, want %v", k, got[k], w)
		}
	}
}

// record is the i-th of a varied set of records: two guides, every kind.
func record(i int, at time.Time) bot.Outcome {
	kinds := []string{bot.OutcomeStarted, bot.OutcomeResolved, bot.OutcomeEscalated, bot.OutcomeStopped, bot.OutcomeExpired, bot.OutcomeRestarted}
	o := bot.Outcome{
		Key: fmt.Sprintf("k%d", i), Platform: "slack", Guide: []string{"whatsapp-icloud", "discord-notifications"}[i%2],
		GuideVersion: "2", Kind: kinds[i%len(kinds)], Step: fmt.Sprintf("step%d", i%7),
		Path:    []string{"intro", "ask_model", fmt.Sprintf("step%d", i%7), fmt.Sprintf("fix%d", i%5)},
		Started: at.Add(-time.Duration(i%40) * time.Minute), Ended: at,
	}
	if o.Kind == bot.OutcomeStarted {
		o.Path, o.Started = nil, at
	}
	return o
}

// forgetTallies makes st's keyspace look as an older store left it:
// records, but no counts and no migration marks.
func forgetTallies(t *testing.T, st *Store) {
	t.Helper()
	ctx := context.Background()
	keys, err := st.rdb.Keys(ctx, st.cfg.Prefix+"t:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	keys = append(keys, st.tallyIndex, st.cfg.Prefix+"tallies:built", st.cfg.Prefix+"tallies:from", st.cfg.Prefix+"tallies:lock")
	if err := st.rdb.Del(ctx, keys...).Err(); err != nil {
		t.Fatal(err)
	}
}

func saveRecords(t *testing.T, st *Store, name string, records ...bot.Outcome) {
	t.Helper()
	if err := st.Save(context.Background(), &bot.Session{Key: name}, records); err != nil {
		t.Fatal(err)
	}
}

// TestTalliesMigratedOnOpen: a keyspace with records and no counts gets
// them on the next Open, once; records saved by new stores while another
// replica holds the rebuild are counted once, not twice.
func TestTalliesMigratedOnOpen(t *testing.T) {
	st := openFresh(t, redistest.URL(t))
	var records []bot.Outcome
	for i := range 30 {
		records = append(records, record(i, when.Add(time.Duration(i)*23*time.Minute)))
	}
	saveRecords(t, st, "old", records...)
	forgetTallies(t, st)
	if got := talliesOf(t, st); len(got) != 0 {
		t.Fatalf("after forgetting, %d buckets", len(got))
	}

	// Another replica "holds" the rebuild: this Open notes where counting
	// begins and leaves the old records to it.
	ctx := context.Background()
	if err := st.rdb.Set(ctx, st.cfg.Prefix+"tallies:lock", "someone", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	a, err := Open(ctx, st.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	fresh := record(31, when.Add(50*time.Hour))
	saveRecords(t, a, "new", fresh)
	sameTallies(t, talliesOf(t, a), sumAdds([]bot.Outcome{fresh}))

	// The other replica died; its lock expires; the next Open counts the
	// old records, and only them.
	if err := st.rdb.Del(ctx, st.cfg.Prefix+"tallies:lock").Err(); err != nil {
		t.Fatal(err)
	}
	b, err := Open(ctx, st.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	all := append(records, fresh)
	sameTallies(t, talliesOf(t, b), sumAdds(all))
	// Later Opens change nothing.
	c, err := Open(ctx, st.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sameTallies(t, talliesOf(t, c), sumAdds(all))
}

// BenchmarkRedisTallies500k reads every running count of a keyspace that
// holds 500k outcome records (two guides over 30 days), as the report does
// per request. Target: ≤ 100 ms and ≤ 50 MB per read.
func BenchmarkRedisTallies500k(b *testing.B) {
	const n = 500_000
	st := openFresh(b, redistest.URL(b))
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	step := 30 * 24 * time.Hour / n
	const perSave = 1000
	for i := 0; i < n; i += perSave {
		outs := make([]bot.Outcome, 0, perSave)
		for j := i; j < i+perSave; j++ {
			outs = append(outs, record(j, start.Add(time.Duration(j)*step)))
		}
		if err := st.Save(context.Background(), &bot.Session{Key: fmt.Sprintf("s%d", i)}, outs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	b.ResetTimer()
	before := st.RoundTrips()
	for b.Loop() {
		buckets := 0
		err := st.Tallies(context.Background(), time.Time{}, func(bot.TallyKey, map[string]int64) error {
			buckets++
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if buckets != 30*24*2 {
			b.Fatalf("%d buckets, want %d", buckets, 30*24*2)
		}
	}
	b.ReportMetric(float64(st.RoundTrips()-before)/float64(b.N), "roundtrips/op")
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
}
