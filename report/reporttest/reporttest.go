// Package reporttest seeds a store with outcomes whose funnel is counted
// by hand, for the tests of the report and of the report command.
package reporttest

import (
	"context"
	"testing"
	"time"

	"troubleshooter/bot"
)

// SeedOutcomes saves a known mix of outcomes: 10 conversations of the
// WhatsApp guide ending in hand-countable ways, plus one too old to count.
func SeedOutcomes(t testing.TB, store bot.Store, now time.Time) {
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
