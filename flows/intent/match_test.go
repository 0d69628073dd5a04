package intent

import (
	"reflect"
	"strings"
	"sync"
	"testing"
)

func step(s string) Target  { return Target{wa, s} }
func dstep(s string) Target { return Target{dn, s} }

type matchCase struct {
	msg      string
	guide    string
	step     string
	denied   []Target // exact, in target order; nil means none expected
	greeting bool
}

var matchCases = []matchCase{
	// The three misroutes that motivated the package.
	{msg: "my phone storage is fine but whatsapp backup still fails", guide: wa, denied: []Target{step("fix_phone_storage")}},
	{msg: "video calls work fine but backups fail", guide: wa, denied: []Target{step("fix_videos")}},
	{msg: "auto backup is off", guide: wa, step: "fix_auto_backup"},

	// Straight step routing.
	{msg: "it says not enough iCloud storage", guide: wa, step: "fix_storage"},
	{msg: "the whatsapp switch in icloud is off", guide: wa, step: "fix_icloud_access"},
	{msg: "whatsapp isn't in the apps using icloud list", guide: wa, step: "fix_icloud_signin"},
	{msg: "backup stuck at 0%", guide: wa, step: "fix_manual"},
	{msg: "backup never finishes", guide: wa, step: "fix_manual"},
	{msg: "is icloud down?", guide: wa, step: "apple_status"},
	{msg: "I think my backup is corrupted", guide: wa, step: "fix_delete_backup"},
	{msg: "my iphone storage is full and backup fails", guide: wa, step: "fix_phone_storage"},
	{msg: "back up now works but it never backs up automatically", guide: wa, step: "fix_auto_backup", denied: []Target{step("fix_manual")}},
	{msg: "whatsapp is outdated", guide: wa, step: "fix_update"},
	{msg: "my icloud is full", guide: wa, step: "fix_storage"},
	{msg: "i don't have enough icloud storage", guide: wa, step: "fix_storage"},
	{msg: "whatsapp backup not enough storage", guide: wa, step: "fix_storage"}, // "not" belongs to the keyword, so it does not deny "whatsapp backup"
	{msg: "automatic backups don't happen anymore", guide: wa, step: "fix_auto_backup"},
	{msg: "whatsapp doesn't back up automatically", guide: wa, step: "fix_auto_backup"},
	{msg: "it only backs up when I tap Back Up Now", guide: wa, step: "fix_auto_backup"},
	{msg: "it won’t back up automatically", guide: wa, step: "fix_auto_backup"},
	{msg: "no backup overnight even though it's charging on wifi", guide: wa, step: "fix_auto_backup"},
	{msg: "backup takes forever", guide: wa, step: "fix_manual"},
	{msg: "the backup is frozen at 45%", guide: wa, step: "fix_manual"},
	{msg: "the backup doesn't finish", guide: wa, step: "fix_manual"},
	{msg: "icloud outage?", guide: wa, step: "apple_status"},
	{msg: "are apple servers down right now", guide: wa, step: "apple_status"},
	{msg: "whatsapp backup fails because i have too many videos", guide: wa, step: "fix_videos"},
	{msg: "I recorded some large videos and now backup fails", guide: wa, step: "fix_videos"},
	{msg: "I think the backup file is corrupt", guide: wa, step: "fix_delete_backup"},
	{msg: "my backup is damaged", guide: wa, step: "fix_delete_backup"},
	{msg: "whatsapp needs an update", guide: wa, step: "fix_update"},
	{msg: "i'm on an old ios version", guide: wa, step: "fix_update"},
	{msg: "whatsapp is out of date", guide: wa, step: "fix_update"},
	{msg: "the toggle is off for whatsapp", guide: wa, step: "fix_icloud_access"},
	{msg: "icloud switch is off for whatsapp", guide: wa, step: "fix_icloud_access"},
	{msg: "I'm not signed in to iCloud", guide: wa, step: "fix_icloud_signin"},
	{msg: "i signed out of icloud by accident", guide: wa, step: "fix_icloud_signin"},
	{msg: "whatsapp is missing from icloud settings", guide: wa, step: "fix_icloud_signin"},
	{msg: "i can't see whatsapp in icloud", guide: wa, step: "fix_icloud_signin"},
	{msg: "icloud drive is off", guide: wa, step: "fix_icloud_signin"},
	{msg: "backup stuck because icloud is full", guide: wa, step: "fix_storage"},

	// Two different problems named: ask instead of guessing a step.
	{msg: "whatsapp is outdated and icloud is full", guide: wa},
	{msg: "either there's an icloud outage or my backup is corrupted", guide: wa},

	// Guide only.
	{msg: "my whatsapp backup keeps failing", guide: wa},
	{msg: "WhatsApp backup doesn’t work", guide: wa},
	{msg: "whatsapp backup error", guide: wa},
	{msg: "I can't back up whatsapp", guide: wa},
	{msg: "whatsapp isn't backing up", guide: wa},
	{msg: "whatsapp does not back up to icloud anymore", guide: wa},
	{msg: "my chats aren't backing up to icloud", guide: wa},
	{msg: "discord notifications don't arrive on my phone", guide: dn},
	{msg: "no discord notifications at all", guide: dn},
	{msg: "i'm not getting discord notifications", guide: dn},

	// Denial.
	{msg: "I have enough iCloud space but my backup fails", guide: wa, denied: []Target{step("fix_storage")}},
	{msg: "plenty of icloud storage left, backup still fails", guide: wa, denied: []Target{step("fix_storage")}},
	{msg: "it's not the icloud storage, whatsapp backup just hangs", guide: wa, step: "fix_manual", denied: []Target{step("fix_storage")}},
	{msg: "icloud storage isn't full but the backup never finishes", guide: wa, step: "fix_manual", denied: []Target{step("fix_storage")}},
	{msg: "icloud storage is not the problem, auto backup just doesn't happen", guide: wa, step: "fix_auto_backup", denied: []Target{step("fix_storage")}},
	{msg: "Back Up Now works", denied: []Target{step("fix_manual")}},
	{msg: "whatsapp backup works fine but discord notifications don't arrive", guide: dn, denied: []Target{{Guide: wa}}},
	{msg: "auto backup is not working", guide: wa, step: "fix_auto_backup"},
	{msg: "there's no icloud storage problem, backup just fails", guide: wa, denied: []Target{step("fix_storage")}},
	{msg: "the icloud storage is not full, it's my phone storage", guide: wa, step: "fix_phone_storage", denied: []Target{step("fix_storage")}},

	// Discord steps.
	{msg: "i don't get discord push notifications when the app is closed", guide: dn, step: "fix_battery"},
	{msg: "discord notifications stopped when i turned on do not disturb", guide: dn, step: "fix_focus"},
	{msg: "I have focus mode on and discord doesn't notify me", guide: dn, step: "fix_focus"},
	{msg: "i muted the server by accident and now i get no notifications", guide: dn, step: "fix_server_settings"},
	{msg: "discord pings only on desktop, never on my phone", guide: dn, step: "fix_desktop_active"},
	{msg: "no notifications on my phone when my computer is on", guide: dn, step: "fix_desktop_active"},
	{msg: "discord notifications go to my pc instead of my phone", guide: dn, step: "fix_desktop_active"},
	{msg: "discord notifications are turned off", guide: dn, step: "fix_app_notifications"},
	{msg: "discord notifications are disabled", guide: dn, step: "fix_app_notifications"},
	{msg: "battery saver is on, discord doesn't notify", guide: dn, step: "fix_battery"},
	{msg: "low power mode might be killing discord notifications", guide: dn, step: "fix_battery"},
	{msg: "the server is set to only mentions", guide: dn, step: "fix_server_settings"},
	{msg: "the channel is muted", guide: dn, step: "fix_server_settings"},

	// Greetings.
	{msg: "hi", greeting: true},
	{msg: "hello", greeting: true},
	{msg: "help", greeting: true},
	{msg: "hello there", greeting: true},
	{msg: "can you help me?", greeting: true},
	{msg: "", greeting: true},
	{msg: "Hi! 👋", greeting: true},
	{msg: "good morning, anyone there?", greeting: true},
	{msg: "hey, can someone help me please", greeting: true},
	{msg: "HELP!!!", greeting: true},

	// Off-topic / too vague: not a greeting, not routed.
	{msg: "my printer is broken"},
	{msg: "How do I set up a new phone?"},
	{msg: "my wifi keeps dropping"},
	{msg: "whatsapp"},
	{msg: "icloud problem"},

	// Typos, punctuation, emoji, caps.
	{msg: "whatsap backup to icoud fails", guide: wa},
	{msg: "not enough storge", guide: wa, step: "fix_storage"},
	{msg: "backpu stuck at 0%", guide: wa, step: "fix_manual"},
	{msg: "WHATSAPP BACKUP FAILED!!!", guide: wa},
	{msg: "MY ICLOUD IS FULL!!!", guide: wa, step: "fix_storage"},
	{msg: "😡😡 whatsapp backup stuck again!!! 😡", guide: wa, step: "fix_manual"},
	{msg: "hi, my whatsapp backup fails", guide: wa},
	{msg: "is iCloud down?!?! my backup won't work", guide: wa, step: "apple_status"},
	{msg: "icloud...down??"}, // "..." ends a clause, so "icloud down" is not one phrase
	{msg: "discord notifs… no DISCORD NOTIFICATIONS since tuesday", guide: dn},

	// Both guides: the caller shows a menu.
	{msg: "whatsapp backup fails and discord notifications don't work either"},

	// Long rambling messages.
	{msg: "So yesterday I got a new iPhone and I was trying to restore my chats, but before that I wanted to make sure my WhatsApp backup to iCloud was up to date. " +
		"I went into settings and tapped Back Up Now and it just sits there at 0% forever. My iCloud has plenty of space (I pay for 200GB) and my phone storage is fine too. What am I doing wrong??",
		guide: wa, step: "fix_manual", denied: []Target{step("fix_phone_storage")}},
	{msg: "Hey, so for about a week now my Discord notifications just stopped coming through on my iPhone. I checked and Do Not Disturb isn't on, and notifications for Discord are allowed in settings. " +
		"I only get them when I open the app, which kind of defeats the point. Battery saver is on though, could that be it?",
		guide: dn, step: "fix_battery", denied: []Target{dstep("fix_focus")}},
	{msg: "hello!! i have a question about whatsapp. my backups used to work but for the last two weeks the backup keeps failing with an error, " +
		"i have lots of icloud storage and whatsapp is updated, i really don't know what else to try, please help",
		guide: wa, denied: []Target{step("fix_storage")}},
}

func TestMatchTable(t *testing.T) {
	if len(matchCases) < 60 {
		t.Fatalf("only %d cases", len(matchCases))
	}
	m := newFixtureMatcher(t)
	for _, tc := range matchCases {
		got := m.Match(tc.msg)
		if got.Guide != tc.guide || got.Step != tc.step || got.Greeting != tc.greeting || !reflect.DeepEqual(got.Denied, tc.denied) {
			t.Errorf("Match(%q)\n got: guide=%q step=%q denied=%v greeting=%v (guide %.2f step %.2f)\nwant: guide=%q step=%q denied=%v greeting=%v\n tokens: %s\n scores: %v",
				tc.msg, got.Guide, got.Step, got.Denied, got.Greeting, got.GuideScore, got.StepScore,
				tc.guide, tc.step, tc.denied, tc.greeting, tokensOf(m, tc.msg), m.Scores(tc.msg))
		}
	}
}

func TestNewRejectsEmptyPhrase(t *testing.T) {
	for _, p := range []string{"", "   ", "the", "is it?", "😀"} {
		_, err := New([]Entry{{Target{"g", "s1"}, "ok phrase"}, {Target{"g", "s2"}, p}})
		if err == nil || !strings.Contains(err.Error(), "g/s2") {
			t.Errorf("New with phrase %q: err = %v, want error naming g/s2", p, err)
		}
	}
	if _, err := New([]Entry{{Target{"", "s"}, "phrase"}}); err == nil {
		t.Error("New accepted a target without a guide")
	}
	if _, err := New([]Entry{{Target{"g", ""}, "storage full but fine"}}); err == nil {
		t.Error("New accepted a phrase that spans a clause break")
	}
}

func TestLongerSpecificPhraseWins(t *testing.T) {
	m, err := New([]Entry{
		{Target{"g", "generic"}, "is off"},
		{Target{"g", "generic"}, "switch is off"},
		{Target{"g", "auto"}, "auto backup"},
		{Target{"g", "other"}, "backup off"},
		{Target{"g", "other2"}, "backup fails"},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Ranking, not the margin, is the property under test here.
	sc := m.Scores("auto backup is off")
	var steps []string
	for _, x := range sc {
		if x.Target.Step != "" {
			steps = append(steps, x.Target.Step)
		}
	}
	if len(steps) < 2 || steps[0] != "auto" || steps[1] != "other" || sc[1].Score <= sc[2].Score {
		t.Errorf("step ranking = %v, want auto strictly ahead of other (scores %v)", steps, sc)
	}
	m.StepMargin = 0.25
	if got := m.Match("auto backup is off"); got.Step != "auto" {
		t.Errorf("step = %q, want auto", got.Step)
	}
}

func TestTokenWeights(t *testing.T) {
	m := newFixtureMatcher(t)
	w := func(s string) float64 {
		id, ok := m.vocab[s]
		if !ok {
			t.Fatalf("%q not in vocabulary", s)
		}
		return m.weights[id]
	}
	for _, generic := range []string{"whatsapp", "backup", "icloud", "off"} {
		for _, specific := range []string{"auto", "video", "storag"} {
			if w(generic) >= w(specific) {
				t.Errorf("weight(%s)=%.2f >= weight(%s)=%.2f", generic, w(generic), specific, w(specific))
			}
		}
	}
}

func TestThresholdsRejectGenericWords(t *testing.T) {
	// "app" is used by every target, so it weighs ln 2 ≈ 0.69: alone it must
	// not route anywhere, while a specific word must.
	m, err := New([]Entry{
		{Target{"g1", ""}, "app"},
		{Target{"g1", "s1"}, "app crash"},
		{Target{"g1", "s2"}, "app login"},
		{Target{"g2", ""}, "app sync"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Match("the app"); got.Guide != "" || got.GuideScore <= 0 || got.GuideScore >= m.GuideThreshold {
		t.Errorf("generic word: got %+v", got)
	}
	if got := m.Match("app crash"); got.Guide != "g1" || got.Step != "s1" {
		t.Errorf("specific phrase: got %+v", got)
	}
	m.StepThreshold = 100
	if got := m.Match("app crash"); got.Guide != "g1" || got.Step != "" {
		t.Errorf("step below StepThreshold still chosen: %+v", got)
	}
}

func TestCorroboratingPhrasesAddBonus(t *testing.T) {
	m, err := New([]Entry{
		{Target{"g", "one"}, "crash"},
		{Target{"g", "two"}, "freeze"},
		{Target{"g", "two"}, "lag"},
	})
	if err != nil {
		t.Fatal(err)
	}
	sc := m.Scores("crash freeze lag")
	if len(sc) < 3 || sc[1].Target.Step != "two" || sc[1].Score <= sc[2].Score {
		t.Errorf("two matched phrases should outrank one of equal weight: %v", sc)
	}
}

func TestGuideTieShowsMenu(t *testing.T) {
	m, err := New([]Entry{
		{Target{"a", ""}, "sync problem"},
		{Target{"b", ""}, "sync problem"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := m.Match("I have a sync problem")
	if got.Guide != "" || got.GuideScore == 0 {
		t.Errorf("tie: got %+v, want no guide but a score", got)
	}
}

func TestStepOnlyForChosenGuide(t *testing.T) {
	m := newFixtureMatcher(t)
	// A discord step keyword alone makes discord the guide; a whatsapp step
	// must never be reported for it.
	got := m.Match("battery saver is on")
	if got.Guide != dn || got.Step != "fix_battery" {
		t.Errorf("got %+v", got)
	}
}

func TestReadsOnlyFirst4KiB(t *testing.T) {
	m := newFixtureMatcher(t)
	pad := strings.Repeat("x ", maxInput/2)
	if got := m.Match(pad + "icloud is full"); got.Guide != "" {
		t.Errorf("text after 4 KiB was read: %+v", got)
	}
	if got := m.Match("icloud is full " + pad); got.Step != "fix_storage" {
		t.Errorf("got %+v", got)
	}
}

func TestMatchConcurrent(t *testing.T) {
	m := newFixtureMatcher(t)
	want := make([]Result, len(matchCases))
	for i, tc := range matchCases {
		want[i] = m.Match(tc.msg)
	}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 20; r++ {
				for i, tc := range matchCases {
					if got := m.Match(tc.msg); !reflect.DeepEqual(got, want[i]) {
						t.Errorf("concurrent Match(%q) = %+v, want %+v", tc.msg, got, want[i])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}
