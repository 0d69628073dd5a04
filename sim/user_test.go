package sim

import (
	"math/rand/v2"
	"strings"
	"testing"

	"troubleshooter/bot"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 1)) }

var testCur = currentVersions{IOS: "26.1", WhatsApp: "2.25.33.75"}

// TestStateFollowsCause: only the cause's part of the phone is broken.
func TestStateFollowsCause(t *testing.T) {
	for _, c := range Causes {
		for seed := range uint64(50) {
			s := newState(c, testCur, newRand(seed))
			if (s.Switch == "off") != (c == CauseSwitchOff) || (s.Switch == "missing") != (c == CauseMissing) {
				t.Errorf("%s: switch %q", c, s.Switch)
			}
			if (s.Symptom == "auto_only") != (c == CauseAutoBackup) {
				t.Errorf("%s: symptom %q", c, s.Symptom)
			}
			hidden := c == CauseAppSwiped || c == CauseNeedsRestart || c == CauseCorruptBackup || c == CauseUnfixable
			if s.Symptom == "stuck" && !hidden {
				t.Errorf("%s: stuck, but the cause is not a hidden one", c)
			}
			if full := s.Free < 2*s.Backup; full != (c == CauseICloudFull) {
				t.Errorf("%s: free %.1f GB for a %.1f GB backup", c, s.Free, s.Backup)
			}
			if !s.PhoneEnough != (c == CausePhoneFull) {
				t.Errorf("%s: phone space enough = %v", c, s.PhoneEnough)
			}
			if (s.IOSOld || s.WhatsAppOld) != (c == CauseOutdated) {
				t.Errorf("%s: old iOS %v, old WhatsApp %v", c, s.IOSOld, s.WhatsAppOld)
			}
			if !s.IOSOld && s.IOS != testCur.IOS {
				t.Errorf("%s: healthy iOS is %q", c, s.IOS)
			}
			if !s.WhatsAppOld && s.WhatsApp != "2.25.33.75" && s.WhatsApp != "25.33.75" {
				t.Errorf("%s: healthy WhatsApp is %q", c, s.WhatsApp)
			}
			if !s.Green != (c == CauseOutage) {
				t.Errorf("%s: status green = %v", c, s.Green)
			}
			if c == CauseVideosTooBig && !s.Videos {
				t.Errorf("%s: videos left out", c)
			}
		}
	}
}

// TestIntent: a given state answers a given step as expected.
func TestIntent(t *testing.T) {
	healthy := state{Switch: "on", Symptom: "fails", Backup: 3.2, Free: 40, PhoneEnough: true, IOS: "26.1", WhatsApp: "25.33.75", Green: true}
	with := func(f func(*state)) state { s := healthy; f(&s); return s }
	tests := []struct {
		name       string
		st         state
		step       string
		isFix, fix bool
		choice     string
		typed      string
	}{
		{"guide menu", healthy, "choose_guide", false, false, GuideID, ""},
		{"switch on", healthy, "icloud_access", false, false, "on", ""},
		{"switch off", with(func(s *state) { s.Switch = "off" }), "icloud_access", false, false, "off", ""},
		{"not listed", with(func(s *state) { s.Switch = "missing" }), "icloud_access", false, false, "missing", ""},
		{"fails", healthy, "symptom", false, false, "fails", ""},
		{"stuck", with(func(s *state) { s.Symptom = "stuck" }), "symptom", false, false, "stuck", ""},
		{"auto only", with(func(s *state) { s.Symptom = "auto_only" }), "symptom", false, false, "auto_only", ""},
		{"phone ok", healthy, "phone_space", false, false, "yes", ""},
		{"phone full", with(func(s *state) { s.PhoneEnough = false }), "phone_space", false, false, "no", ""},
		{"status green", healthy, "apple_status", false, false, "green", ""},
		{"outage", with(func(s *state) { s.Green = false }), "apple_status", false, false, "not_green", ""},
		{"after waiting", with(func(s *state) { s.Green = false }), "outage_wait", false, false, "green_now", ""},
		{"videos on", with(func(s *state) { s.Videos = true }), "videos", false, false, "on", ""},
		{"videos off", healthy, "videos", false, false, "off", ""},
		{"right fix", healthy, "fix_restart", true, true, "fixed", ""},
		{"wrong fix", healthy, "fix_restart", true, false, "not_fixed", ""},
		{"ios", healthy, "ios_version", false, false, "", "26.1"},
		{"whatsapp short form", healthy, "whatsapp_version", false, false, "", "25.33.75"},
		{"backup size", healthy, "backup_size", false, false, "", "3.2"},
		{"free space", healthy, "free_space", false, false, "", "40"},
	}
	for _, tt := range tests {
		u := newUser(tt.st, newRand(1))
		in := u.intentFor(tt.step, tt.fix, tt.isFix)
		if !in.known {
			t.Errorf("%s: step %s unknown", tt.name, tt.step)
		}
		if in.choice != tt.choice {
			t.Errorf("%s: choice %q, want %q", tt.name, in.choice, tt.choice)
		}
		if tt.typed != "" && !strings.Contains(in.typed, tt.typed) {
			t.Errorf("%s: typed %q, want it to contain %q", tt.name, in.typed, tt.typed)
		}
	}
	if in := newUser(healthy, newRand(1)).intentFor("no_such_step", false, false); in.known {
		t.Error("an unknown step is known")
	}
}

// TestReplyForms: a click is the choice's JSON, a number the choice's
// place in the last reply, words one of the intent's words; a re-asked
// user clicks.
func TestReplyForms(t *testing.T) {
	last := &bot.Reply{Choices: []bot.Choice{{ID: "on"}, {ID: "off"}, {ID: "missing"}}}
	in := intent{choice: "off", words: []string{"it's off"}, known: true}
	seen := map[string]bool{}
	for seed := range uint64(200) {
		u := newUser(state{}, newRand(seed))
		u.pUnsure = 0
		line, _ := u.reply("icloud_access", last, in, false, false)
		seen[line] = true
		if line, _ := u.reply("icloud_access", last, in, false, true); line != `{"choice":"off"}` {
			t.Errorf("re-asked user sent %q, want the click", line)
		}
	}
	for _, want := range []string{`{"choice":"off"}`, "2", "it's off"} {
		if !seen[want] {
			t.Errorf("no user sent %q (sent %v)", want, seen)
		}
	}
	if len(seen) != 3 {
		t.Errorf("unexpected answers: %v", seen)
	}
}

// TestUnsureThenAnswer: a user who says "not sure" gives the real answer
// when asked again.
func TestUnsureThenAnswer(t *testing.T) {
	u := newUser(state{Backup: 3.2}, newRand(3))
	u.pUnsure = 1
	in := intent{typed: "3.2 GB", plain: "3.2 GB", known: true}
	line, unsure := u.reply("backup_size", nil, in, false, false)
	if !unsure {
		t.Fatalf("first answer %q is not an unsure one", line)
	}
	if line, unsure = u.reply("backup_size", nil, in, false, false); unsure || line != "3.2 GB" {
		t.Errorf("second answer %q (unsure %v), want 3.2 GB", line, unsure)
	}
}

// TestFirstMessageFitsState: specific first messages name the user's own
// symptom.
func TestFirstMessageFitsState(t *testing.T) {
	for seed := range uint64(300) {
		r := newRand(seed)
		u := newUser(newState(CauseAppSwiped, testCur, r), r)
		m := u.first()
		if !u.specific {
			continue
		}
		stuck := strings.Contains(m, "stuck") || strings.Contains(m, "never finishes")
		if stuck != (u.st.Symptom == "stuck") {
			t.Errorf("symptom %s, first message %q", u.st.Symptom, m)
		}
	}
}
