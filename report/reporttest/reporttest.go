// Package reporttest seeds a store with conversation records whose funnel
// is counted by hand, for the tests of the report and of the report command.
package reporttest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"troubleshooter/bot"
)

// Guide is the guide every seeded conversation follows.
const Guide = "whatsapp-icloud"

// Paths through the WhatsApp guide, as flows records them (Outcome.Path).
var (
	toBackupSize = []string{"icloud_access", "symptom", "backup_size"}
	toVersions   = []string{"icloud_access", "symptom", "backup_size", "free_space", "phone_space", "ios_version"}
	storagePath  = []string{"icloud_access", "symptom", "backup_size", "free_space", "fix_storage", "resolved"}
	updatePath   = []string{"icloud_access", "symptom", "backup_size", "free_space", "phone_space", "ios_version", "whatsapp_version", "fix_update", "resolved"}
	escalatePath = []string{"icloud_access", "symptom", "backup_size", "free_space", "phone_space", "ios_version", "whatsapp_version", "fix_update", "apple_status", "fix_manual", "escalate"}
)

// SeedOutcomes saves, through store.Save as the engine does (one save per
// turn that makes a record), 10 conversations of the WhatsApp guide that
// began in the 10 hours before now, plus one 30 days earlier. By hand:
//
//	started 10 (11 all time); ended 10:
//	resolved 6 (7 all time): fix_storage 4 (each within 5 min), fix_update 2
//	  (25 and 50 min) — one of those two restarted once, at symptom;
//	escalated 1 at fix_manual; stopped 2 at backup_size;
//	expired 1 at ios_version, after expiring once at backup_size and being
//	  resumed (so: resumed 1, and backup_size is not where it was left).
//	Reached: icloud_access, symptom, backup_size 10; free_space 8;
//	  phone_space, ios_version 4; whatsapp_version, fix_update 3;
//	  fix_storage 4; apple_status, fix_manual, escalate 1; resolved 6.
//	Time to resolution (bucketed): median ≤ 5m, p90 ≤ 1h.
//	The one 30 days old: resolved by fix_manual in 10 min.
func SeedOutcomes(t testing.TB, store bot.Store, now time.Time) {
	t.Helper()
	now = now.UTC()
	type rec struct {
		kind, step string
		path       []string
		after      time.Duration // from the start
	}
	conv := func(key string, start time.Time, recs ...rec) {
		t.Helper()
		s := &bot.Session{Key: key, Guide: Guide, Started: start}
		save := func(o bot.Outcome) {
			t.Helper()
			if err := store.Save(context.Background(), s, []bot.Outcome{o}); err != nil {
				t.Fatal(err)
			}
		}
		save(bot.Outcome{Key: key, Guide: Guide, Kind: bot.OutcomeStarted, Step: "icloud_access", Started: start, Ended: start})
		began := start
		for _, r := range recs {
			o := bot.Outcome{Key: key, Guide: Guide, Kind: r.kind, Step: r.step, Path: r.path, Started: began, Ended: start.Add(r.after)}
			save(o)
			if r.kind == bot.OutcomeRestarted {
				began = o.Ended // a restart starts the clock again
			}
		}
	}
	i := 0
	next := func() (string, time.Time) {
		i++
		return fmt.Sprintf("seed%02d", i), now.Add(-time.Duration(i) * time.Hour)
	}
	for range 4 {
		k, at := next()
		conv(k, at, rec{bot.OutcomeResolved, "fix_storage", storagePath, 4 * time.Minute})
	}
	k, at := next()
	conv(k, at, rec{bot.OutcomeResolved, "fix_update", updatePath, 25 * time.Minute})
	k, at = next()
	conv(k, at,
		rec{bot.OutcomeRestarted, "symptom", []string{"icloud_access", "symptom"}, 2 * time.Minute},
		rec{bot.OutcomeResolved, "fix_update", updatePath, 52 * time.Minute}) // 50 min after the restart
	k, at = next()
	conv(k, at, rec{bot.OutcomeEscalated, "fix_manual", escalatePath, 30 * time.Minute})
	for range 2 {
		k, at := next()
		conv(k, at, rec{bot.OutcomeStopped, "backup_size", toBackupSize, 3 * time.Minute})
	}
	k, at = next()
	conv(k, at,
		rec{bot.OutcomeExpired, "backup_size", toBackupSize, 40 * time.Minute},
		// The resumed record mirrors the expiry it takes back, dated as it.
		rec{bot.OutcomeResumed, "backup_size", toBackupSize, 40 * time.Minute},
		rec{bot.OutcomeExpired, "ios_version", toVersions, 90 * time.Minute})
	conv("old", now.AddDate(0, 0, -30), rec{bot.OutcomeResolved, "fix_manual", []string{"icloud_access", "symptom", "fix_manual", "resolved"}, 10 * time.Minute})
}
