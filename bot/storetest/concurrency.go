package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"troubleshooter/bot"
)

func testConcurrentIncrements(t *testing.T, st bot.Store) {
	const (
		workers = 8
		perWork = 50
		key     = "counter"
	)
	ctx := context.Background()
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		conflicts int
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWork; i++ {
				for attempt := 0; ; attempt++ {
					if attempt > 10000 {
						t.Errorf("worker %d: no progress after %d conflicts", w, attempt)
						return
					}
					s, err := st.Load(ctx, key)
					if errors.Is(err, bot.ErrNotFound) {
						s = &bot.Session{Key: key, Started: base}
					} else if err != nil {
						t.Errorf("worker %d: Load: %v", w, err)
						return
					}
					n, _ := strconv.Atoi(s.Answers["count"])
					s.SetAnswer("count", "count", strconv.Itoa(n+1))
					s.History = nil // keep the record small
					err = st.Save(ctx, s, nil)
					if errors.Is(err, bot.ErrConflict) {
						mu.Lock()
						conflicts++
						mu.Unlock()
						continue
					}
					if err != nil {
						t.Errorf("worker %d: Save: %v", w, err)
						return
					}
					break
				}
			}
		}()
	}
	wg.Wait()
	got := mustLoad(t, st, key)
	if got.Answers["count"] != strconv.Itoa(workers*perWork) {
		t.Errorf("count = %q after %d increments: updates were lost", got.Answers["count"], workers*perWork)
	}
	if got.Version != workers*perWork {
		t.Errorf("Version = %d after %d successful Saves, want %d", got.Version, workers*perWork, workers*perWork)
	}
	t.Logf("%d conflicts retried", conflicts)
}

func testParallelDistinctKeys(t *testing.T, st bot.Store) {
	const (
		workers = 16
		saves   = 20
	)
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("parallel/%d", w)
			s := &bot.Session{Key: key, Started: base}
			for i := 1; i <= saves; i++ {
				s.Step = strconv.Itoa(i)
				var outs []bot.Outcome
				if i == saves {
					outs = []bot.Outcome{outcome(key, bot.OutcomeResolved, base.Add(time.Duration(w)*time.Second))}
				}
				if err := st.Save(ctx, s, outs); err != nil {
					t.Errorf("Save(%q) #%d: %v", key, i, err)
					return
				}
				if s.Version != uint64(i) {
					t.Errorf("Save(%q) #%d: Version = %d", key, i, s.Version)
					return
				}
				// Alternate saving the same value and a freshly loaded copy.
				if i%2 == 0 {
					l, err := st.Load(ctx, key)
					if err != nil {
						t.Errorf("Load(%q): %v", key, err)
						return
					}
					s = l
				}
			}
		}()
	}
	wg.Wait()
	for w := range workers {
		key := fmt.Sprintf("parallel/%d", w)
		got := mustLoad(t, st, key)
		if got.Step != strconv.Itoa(saves) || got.Version != saves {
			t.Errorf("%q: Step %q Version %d, want %d, %d", key, got.Step, got.Version, saves, saves)
		}
	}
	out := collect(t, st, time.Time{})
	if len(out) != workers {
		t.Fatalf("Outcomes returned %d records, want %d", len(out), workers)
	}
	for i, o := range out {
		if want := fmt.Sprintf("parallel/%d", i); o.Key != want {
			t.Errorf("outcome %d is %q, want %q", i, o.Key, want)
		}
	}
}
