package intent

import "testing"

// benchExtra is a third, realistic guide so the benchmark matcher has the
// size of a production catalogue (~25 targets, ~150 phrases).
var benchExtra = guideSpec{
	guide: "gmail-sync",
	symptoms: []string{"gmail not syncing", "gmail sync", "emails not arriving", "no new emails", "gmail stopped syncing",
		"inbox not updating", "mail app gmail", "gmail on iphone", "gmail account error", "can't receive email"},
	steps: []stepSpec{
		{"fix_password", []string{"wrong password", "password changed", "password incorrect", "asks for password", "keeps asking for my password", "login failed"}},
		{"fix_two_factor", []string{"two factor", "2fa", "app password", "verification code", "security code"}},
		{"fix_fetch", []string{"fetch new data", "push is off", "manual fetch", "only syncs when i open", "fetch settings"}},
		{"fix_imap", []string{"imap disabled", "imap", "enable imap", "imap settings"}},
		{"fix_quota", []string{"google storage full", "gmail storage full", "out of google storage", "15 gb", "drive is full"}},
		{"fix_reauth", []string{"remove account", "re add account", "sign in again", "account locked", "suspicious sign in"}},
		{"fix_network", []string{"no internet", "wifi off", "cellular data off", "mobile data", "airplane mode"}},
		{"fix_filters", []string{"goes to spam", "filter", "archived automatically", "skips inbox", "emails in spam"}},
	},
}

var benchMessages = []string{
	"my phone storage is fine but whatsapp backup still fails",
	"video calls work fine but backups fail",
	"auto backup is off",
	"it says not enough iCloud storage",
	"the whatsapp switch in icloud is off",
	"whatsapp isn't in the apps using icloud list",
	"backup stuck at 0%",
	"is icloud down?",
	"I think my backup is corrupted",
	"back up now works but it never backs up automatically",
	"hi",
	"can you help me?",
	"my printer is broken",
	"discord notifications don't arrive on my phone",
	"i don't get discord push notifications when the app is closed",
	"whatsap backup to icoud fails",
	"gmail keeps asking for my password on my iphone",
	"emails not arriving, imap is enabled and wifi is fine",
	"😡😡 WHATSAPP BACKUP STUCK AGAIN!!! 😡",
	"Hey, so for about a week now my Discord notifications just stopped coming through on my iPhone. I checked and Do Not Disturb isn't on, and notifications for Discord are allowed in settings.",
}

func BenchmarkMatch(b *testing.B) {
	m, err := New(entriesOf(append(append([]guideSpec(nil), fixture...), benchExtra)))
	if err != nil {
		b.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, msg := range benchMessages {
			m.Match(msg)
		}
	})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, msg := range benchMessages {
			m.Match(msg)
		}
	}
	b.StopTimer()
	// Per-message figures are what the brief asks about.
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(benchMessages)), "ns/msg")
	b.ReportMetric(allocs/float64(len(benchMessages)), "allocs/msg")
	b.ReportMetric(float64(len(m.targets)), "targets")
	b.ReportMetric(float64(len(m.phrases)), "phrases")
}
