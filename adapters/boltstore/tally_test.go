package boltstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"troubleshooter/bot"
)

// talliesOf reads every bucket of st.
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

// sumAdds is what the tallies of records must be.
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

// record makes the i-th of a varied set of records: two guides, every
// kind, a path, ends spread over hours.
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

func TestTalliesRebuiltForAFileFromBeforeTallies(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var records []bot.Outcome
	for i := range 50 {
		o := record(i, when.Add(time.Duration(i)*17*time.Minute))
		records = append(records, o)
		if err := st.Save(ctx, &bot.Session{Key: fmt.Sprintf("s%d", i)}, []bot.Outcome{o}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	// An older store wrote the same records and no tallies bucket.
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error { return tx.DeleteBucket(talliesBucket) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	st, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	sameTallies(t, talliesOf(t, st), sumAdds(records))
	// New saves add to the rebuilt counts, and a second open rebuilds
	// nothing (it would double nothing either, but must keep new adds).
	o := record(3, when.Add(30*time.Hour))
	records = append(records, o)
	if err := st.Save(ctx, &bot.Session{Key: "new"}, []bot.Outcome{o}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sameTallies(t, talliesOf(t, st), sumAdds(records))
}

func TestRecoverRebuildsTallies(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := Open(filepath.Join(dir, "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	var records []bot.Outcome
	for i := range 20 {
		o := record(i, when.Add(time.Duration(i)*time.Hour))
		records = append(records, o)
		if err := st.Save(ctx, &bot.Session{Key: fmt.Sprintf("s%d", i)}, []bot.Outcome{o}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Recover(filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")); err != nil {
		t.Fatal(err)
	}
	rst, err := Open(filepath.Join(dir, "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer rst.Close()
	sameTallies(t, talliesOf(t, rst), sumAdds(records))
}

// TestTalliesUnderConcurrentConflictingSaves: many goroutines save records
// on a few sessions with stale versions mixed in; only accepted saves count.
func TestTalliesUnderConcurrentConflictingSaves(t *testing.T) {
	st := openTemp(t)
	defer st.Close()
	ctx := context.Background()
	var mu sync.Mutex
	var accepted []bot.Outcome
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				key := fmt.Sprintf("s%d", (g+i)%4)
				s, err := st.Load(ctx, key)
				if errors.Is(err, bot.ErrNotFound) {
					s = &bot.Session{Key: key}
				} else if err != nil {
					t.Error(err)
					return
				}
				stale := *s
				o := record(g*100+i, when.Add(time.Duration(i)*time.Hour))
				err = st.Save(ctx, s, []bot.Outcome{o})
				mu.Lock()
				switch err {
				case nil:
					accepted = append(accepted, o)
				case bot.ErrConflict:
				default:
					t.Error(err)
				}
				mu.Unlock()
				// Whether or not the first save won, the version it
				// loaded is gone now: a save on it must conflict and
				// add nothing.
				if err := st.Save(ctx, &stale, []bot.Outcome{record(g*100+i+50, when)}); err != bot.ErrConflict {
					t.Errorf("save on a stale version = %v, want ErrConflict", err)
				}
			}
		}()
	}
	wg.Wait()
	sameTallies(t, talliesOf(t, st), sumAdds(accepted))
}

// BenchmarkTallies500k reads every running count of a store holding 500k
// outcome records (two guides, 30 days, the report's whole window), as the
// report does per request. Target: ≤ 100 ms and ≤ 50 MB per read.
func BenchmarkTallies500k(b *testing.B) {
	const n = 500_000
	path := filepath.Join(b.TempDir(), "tallies.db")
	st, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
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
	// Read as a restarted bot would: from a file opened afresh.
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	st, err = Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	b.ResetTimer()
	for b.Loop() {
		buckets, fields := 0, int64(0)
		err := st.Tallies(context.Background(), time.Time{}, func(_ bot.TallyKey, m map[string]int64) error {
			buckets++
			fields += int64(len(m))
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if buckets != 30*24*2 {
			b.Fatalf("%d buckets, want %d", buckets, 30*24*2)
		}
	}
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
}
