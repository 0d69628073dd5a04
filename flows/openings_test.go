package flows

import (
	"testing"
	"time"

	"troubleshooter/bot"
)

// openings are first messages as people write them, with the step the
// conversation starts at on the built-in guides: a step a message clearly
// points at, the guide's first question when it names only the guide, or
// the guide menu (choose_guide) when it points at no guide ("hi" with two
// guides loaded, "my printer is broken").
var openings = []struct{ text, step string }{
	{"discord notifications not coming to my phone", "scope"},
	{"discord notifications aren't coming through", "scope"},
	{"my icloud storage is not full", "choose_guide"}, // only a denial: no problem named
	{"my phone storage is fine but whatsapp backup still fails", "icloud_access"},
	{"video calls work fine but backups fail", "icloud_access"},
	{"auto backup is off", "fix_auto_backup"},
	{"it says not enough iCloud storage", "fix_storage"},
	{"the whatsapp switch in icloud is off", "fix_icloud_access"},
	{"whatsapp isn't in the apps using icloud list", "fix_icloud_signin"},
	{"backup stuck at 0%", "fix_manual_first"},
	{"backup never finishes", "fix_manual_first"},
	{"is icloud down?", "apple_status"},
	{"I think my backup is corrupted", "fix_delete_backup"},
	{"my iphone storage is full and backup fails", "fix_phone_storage"},
	{"back up now works but it never backs up automatically", "fix_auto_backup"},
	{"whatsapp is outdated", "fix_update"},
	{"my icloud is full", "fix_storage"},
	{"i don't have enough icloud storage", "fix_storage"},
	{"whatsapp backup not enough storage", "fix_storage"},
	{"automatic backups don't happen anymore", "fix_auto_backup"},
	{"whatsapp doesn't back up automatically", "fix_auto_backup"},
	{"it only backs up when I tap Back Up Now", "fix_auto_backup"},
	{"it won’t back up automatically", "fix_auto_backup"},
	{"no backup overnight even though it's charging on wifi", "fix_auto_backup"},
	{"backup takes forever", "fix_manual_first"},
	{"the backup is frozen at 45%", "fix_manual_first"},
	{"the backup doesn't finish", "fix_manual_first"},
	{"icloud outage?", "apple_status"},
	{"are apple servers down right now", "apple_status"},
	{"whatsapp backup fails because i have too many videos", "fix_videos"},
	{"I recorded some large videos and now backup fails", "fix_videos"},
	{"I think the backup file is corrupt", "fix_delete_backup"},
	{"my backup is damaged", "fix_delete_backup"},
	{"whatsapp needs an update", "fix_update"},
	{"i'm on an old ios version", "fix_update"},
	{"whatsapp is out of date", "fix_update"},
	{"the toggle is off for whatsapp", "fix_icloud_access"},
	{"icloud switch is off for whatsapp", "fix_icloud_access"},
	{"I'm not signed in to iCloud", "fix_icloud_signin"},
	{"i signed out of icloud by accident", "fix_icloud_signin"},
	{"whatsapp is missing from icloud settings", "fix_icloud_signin"},
	{"i can't see whatsapp in icloud", "fix_icloud_signin"},
	{"icloud drive is off", "fix_icloud_signin"},
	{"backup stuck because icloud is full", "fix_storage"},
	{"whatsapp is outdated and icloud is full", "fix_storage"},
	{"either there's an icloud outage or my backup is corrupted", "icloud_access"},
	{"my whatsapp backup keeps failing", "icloud_access"},
	{"WhatsApp backup doesn’t work", "icloud_access"},
	{"whatsapp backup error", "icloud_access"},
	{"I can't back up whatsapp", "icloud_access"},
	{"whatsapp isn't backing up", "icloud_access"},
	{"whatsapp does not back up to icloud anymore", "icloud_access"},
	{"my chats aren't backing up to icloud", "icloud_access"},
	{"discord notifications don't arrive on my phone", "scope"},
	{"no discord notifications at all", "scope"},
	{"i'm not getting discord notifications", "scope"},
	{"I have enough iCloud space but my backup fails", "icloud_access"},
	{"plenty of icloud storage left, backup still fails", "icloud_access"},
	{"it's not the icloud storage, whatsapp backup just hangs", "fix_manual_first"},
	{"icloud storage isn't full but the backup never finishes", "fix_manual_first"},
	{"icloud storage is not the problem, auto backup just doesn't happen", "fix_auto_backup"},
	{"Back Up Now works", "choose_guide"},
	{"whatsapp backup works fine but discord notifications don't arrive", "scope"},
	{"auto backup is not working", "fix_auto_backup"},
	{"there's no icloud storage problem, backup just fails", "icloud_access"},
	{"the icloud storage is not full, it's my phone storage", "fix_phone_storage"},
	{"i don't get discord push notifications when the app is closed", "fix_battery"},
	{"discord notifications stopped when i turned on do not disturb", "fix_phone_focus"},
	{"I have focus mode on and discord doesn't notify me", "fix_phone_focus"},
	{"i muted the server by accident and now i get no notifications", "fix_server_settings"},
	{"discord pings only on desktop, never on my phone", "fix_desktop_timeout"},
	{"no notifications on my phone when my computer is on", "fix_desktop_timeout"},
	{"discord notifications go to my pc instead of my phone", "fix_desktop_timeout"},
	{"discord notifications are turned off", "fix_os_permission"},
	{"discord notifications are disabled", "fix_os_permission"},
	{"battery saver is on, discord doesn't notify", "fix_battery"},
	{"low power mode might be killing discord notifications", "fix_battery"},
	{"the server is set to only mentions", "fix_server_settings"},
	{"the channel is muted", "fix_server_settings"},
	{"hi", "choose_guide"},
	{"hello", "choose_guide"},
	{"help", "choose_guide"},
	{"hello there", "choose_guide"},
	{"can you help me?", "choose_guide"},
	{"", "choose_guide"},
	{"Hi! 👋", "choose_guide"},
	{"good morning, anyone there?", "choose_guide"},
	{"hey, can someone help me please", "choose_guide"},
	{"HELP!!!", "choose_guide"},
	{"my printer is broken", "choose_guide"},
	{"How do I set up a new phone?", "choose_guide"},
	{"my wifi keeps dropping", "choose_guide"},
	{"whatsapp", "choose_guide"},
	{"icloud problem", "choose_guide"},
	{"whatsap backup to icoud fails", "icloud_access"},
	{"not enough storge", "fix_storage"},
	{"backpu stuck at 0%", "fix_manual_first"},
	{"WHATSAPP BACKUP FAILED!!!", "icloud_access"},
	{"MY ICLOUD IS FULL!!!", "fix_storage"},
	{"😡😡 whatsapp backup stuck again!!! 😡", "fix_manual_first"},
	{"hi, my whatsapp backup fails", "icloud_access"},
	{"is iCloud down?!?! my backup won't work", "apple_status"},
	{"icloud...down??", "choose_guide"},
	{"discord notifs… no DISCORD NOTIFICATIONS since tuesday", "scope"},
	{"whatsapp backup fails and discord notifications don't work either", "choose_guide"},
	{"So yesterday I got a new iPhone and I was trying to restore my chats, but before that I wanted to make sure my WhatsApp backup to iCloud was up to date. " +
		"I went into settings and tapped Back Up Now and it just sits there at 0% forever. My iCloud has plenty of space (I pay for 200GB) and my phone storage is fine too. What am I doing wrong??", "fix_manual_first"},
	{"Hey, so for about a week now my Discord notifications just stopped coming through on my iPhone. I checked and Do Not Disturb isn't on, and notifications for Discord are allowed in settings. " +
		"I only get them when I open the app, which kind of defeats the point. Battery saver is on though, could that be it?", "fix_battery"},
	{"hello!! i have a question about whatsapp. my backups used to work but for the last two weeks the backup keeps failing with an error, " +
		"i have lots of icloud storage and whatsapp is updated, i really don't know what else to try, please help", "icloud_access"},
}

func TestOpeningsStartAtTheRightStep(t *testing.T) {
	set, err := LoadSet(nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(set.Guides, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(openings) < 60 {
		t.Fatalf("only %d openings; the table keeps at least 60", len(openings))
	}
	for _, c := range openings {
		s := &bot.Session{Key: "k"}
		if _, err := r.Respond(s, bot.Message{Text: c.text, Time: time.Unix(1700000000, 0)}); err != nil {
			t.Fatalf("%q: %v", c.text, err)
		}
		if s.Step != c.step {
			t.Errorf("%q starts at %s (guide %q), want %s", c.text, s.Step, s.Guide, c.step)
		}
	}
}

// BenchmarkRouteFirstMessage measures the matcher over the built-in
// guides, per opening of the table (target: < 20 µs and few allocations
// per first message).
func BenchmarkRouteFirstMessage(b *testing.B) {
	set, err := LoadSet(nil, nil, false)
	if err != nil {
		b.Fatal(err)
	}
	r, err := NewRunner(set.Guides, "")
	if err != nil {
		b.Fatal(err)
	}
	m := r.lib.Load().matcher
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		m.Match(openings[i%len(openings)].text)
	}
}
