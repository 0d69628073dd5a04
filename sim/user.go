package sim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"troubleshooter/bot"
)

// The root causes a simulated user can have (the keys of Options.Mix).
const (
	CauseSwitchOff     = "switch_off"
	CauseMissing       = "missing"
	CauseAutoBackup    = "auto_backup"
	CauseICloudFull    = "icloud_full"
	CausePhoneFull     = "phone_full"
	CauseOutdated      = "outdated"
	CauseAppSwiped     = "app_swiped"
	CauseOutage        = "outage"
	CauseNeedsRestart  = "needs_restart"
	CauseVideosTooBig  = "videos_too_big"
	CauseCorruptBackup = "corrupt_backup"
	CauseUnfixable     = "unfixable"
)

// Causes lists every root cause, in the order reports show them.
var Causes = []string{
	CauseSwitchOff, CauseMissing, CauseAutoBackup, CauseICloudFull, CausePhoneFull, CauseOutdated,
	CauseAppSwiped, CauseOutage, CauseNeedsRestart, CauseVideosTooBig, CauseCorruptBackup, CauseUnfixable,
}

// DefaultMix is the scenario mix Run uses when Options.Mix is nil: relative
// weights of the root causes. They are assumptions (see the package doc),
// not measurements.
var DefaultMix = map[string]int{
	CauseSwitchOff:     12,
	CauseMissing:       6,
	CauseAutoBackup:    10,
	CauseICloudFull:    22,
	CausePhoneFull:     8,
	CauseOutdated:      10,
	CauseAppSwiped:     8,
	CauseOutage:        4,
	CauseNeedsRestart:  8,
	CauseVideosTooBig:  4,
	CauseCorruptBackup: 5,
	CauseUnfixable:     3,
}

// rightFixes are, per cause, the fix steps of the guide that solve it: the
// first one must be in the guide, the others are the same fix offered on
// another path. The unfixable cause has none: escalation is its right end.
var rightFixes = map[string][]string{
	CauseSwitchOff:     {"fix_icloud_access"},
	CauseMissing:       {"fix_icloud_signin"},
	CauseAutoBackup:    {"fix_auto_backup"},
	CauseICloudFull:    {"fix_storage", "fix_storage_unknown"},
	CausePhoneFull:     {"fix_phone_storage", "fix_phone_storage_unknown"},
	CauseOutdated:      {"fix_update"},
	CauseAppSwiped:     {"fix_manual", "fix_manual_first"},
	CauseOutage:        {"fix_backup_after_outage"},
	CauseNeedsRestart:  {"fix_restart"},
	CauseVideosTooBig:  {"fix_videos"},
	CauseCorruptBackup: {"fix_delete_backup"},
	CauseUnfixable:     nil,
}

// GuideID is the guide the harness measures.
const GuideID = "whatsapp-icloud"

// state is one user's phone: every answer follows from it.
type state struct {
	Cause string
	// Switch is WhatsApp's iCloud switch: on, off or missing.
	Switch string
	// Symptom is what Back Up Now does: fails, stuck or auto_only.
	Symptom string
	// Backup and Free are the backup's size and the free iCloud space, in
	// GB, as the person reads them off the screen.
	Backup, Free float64
	// PhoneEnough: at least twice the backup is free on the iPhone.
	PhoneEnough bool
	// IOS and WhatsApp are the versions as the person types them; IOSOld
	// and WhatsAppOld say whether they are older than the guide's.
	IOS, WhatsApp       string
	IOSOld, WhatsAppOld bool
	// Green: Apple's status page shows iCloud Backup green.
	Green bool
	// Videos: the backup includes videos.
	Videos bool
}

// currentVersions are the guide's newest versions, which healthy phones run.
type currentVersions struct{ IOS, WhatsApp string }

// newState draws a phone whose only fault is cause; everything else is
// healthy.
func newState(cause string, cur currentVersions, r *rand.Rand) state {
	s := state{
		Cause:       cause,
		Switch:      "on",
		Symptom:     "fails",
		PhoneEnough: true,
		IOS:         cur.IOS,
		WhatsApp:    cur.WhatsApp,
		Green:       true,
		Videos:      r.IntN(2) == 0,
	}
	if r.IntN(2) == 0 {
		// The App Store's form of the same release: 25.33.75.
		s.WhatsApp = strings.TrimPrefix(cur.WhatsApp, "2.")
	}
	s.Backup = drawBackup(r)
	// Healthy: 2.5× to 15× the backup free, so the 2× rule holds.
	s.Free = round1(s.Backup * (2.5 + r.Float64()*12.5))
	switch cause {
	case CauseSwitchOff:
		s.Switch = "off"
	case CauseMissing:
		s.Switch = "missing"
	case CauseAutoBackup:
		s.Symptom = "auto_only"
	case CauseICloudFull:
		// Under 1.6× the backup: clearly short of the 2× rule.
		s.Free = round1(s.Backup * r.Float64() * 1.6)
	case CausePhoneFull:
		s.PhoneEnough = false
	case CauseOutdated:
		switch n := r.IntN(5); {
		case n < 2:
			s.IOSOld = true
		case n < 4:
			s.WhatsAppOld = true
		default:
			s.IOSOld, s.WhatsAppOld = true, true
		}
		if s.IOSOld {
			s.IOS = pick(r, oldIOS)
		}
		if s.WhatsAppOld {
			s.WhatsApp = pick(r, oldWhatsApp)
			if r.IntN(2) == 0 {
				s.WhatsApp = strings.TrimPrefix(s.WhatsApp, "2.")
			}
		}
	case CauseAppSwiped:
		if r.IntN(10) < 8 {
			s.Symptom = "stuck"
		}
	case CauseOutage:
		s.Green = false
	case CauseVideosTooBig:
		s.Videos = true
	case CauseNeedsRestart, CauseCorruptBackup, CauseUnfixable:
		if r.IntN(2) == 0 {
			s.Symptom = "stuck"
		}
	}
	return s
}

var (
	oldIOS      = []string{"16.7.10", "17.4", "17.6.1", "18.3", "18.6.2", "26.0.1"}
	oldWhatsApp = []string{"2.23.25.83", "2.24.21.77", "2.25.10.72", "2.25.21.80"}
)

// drawBackup draws a backup size in GB, as shown: 0.3–0.9 GB (shown in
// MB), or 1–12 GB with one decimal.
func drawBackup(r *rand.Rand) float64 {
	if r.IntN(6) == 0 {
		return float64(3+r.IntN(7)) / 10
	}
	return round1(1 + r.Float64()*11)
}

func round1(x float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', 1, 64), 64)
	return v
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// sizeText writes gb the way people type sizes; free adds the ways of
// saying free space ("12 GB free").
func sizeText(gb float64, free bool, r *rand.Rand) string {
	var forms []string
	if gb < 1 {
		mb := strconv.Itoa(int(gb*1000 + 0.5))
		forms = []string{mb + " MB", mb + "mb", "about " + mb + " MB", "it says " + mb + " MB"}
		if free {
			forms = append(forms, mb+" MB free", "only "+mb+" MB")
		}
		return pick(r, forms)
	}
	g := strconv.FormatFloat(gb, 'f', -1, 64)
	forms = []string{g + " GB", g + "GB", g + " gb", "about " + g + "gb", "it says " + g + " GB"}
	if free {
		forms = append(forms, g+" GB free", g+" GB available")
	}
	return pick(r, forms)
}

// firstMessages are generic openings that name no cause.
var firstGeneric = []string{
	"my whatsapp backup keeps failing",
	"whatsapp won't back up to icloud",
	"hi",
	"hello",
	"WhatsApp backup not working",
	"my chats aren't backing up to iCloud",
}

// firstSpecific are openings that name the symptom (or what the person
// noticed), by cause; the "stuck" and "fails" ones serve the hidden causes
// according to their symptom.
var firstSpecific = map[string][]string{
	CauseSwitchOff:  {"whatsapp is switched off in icloud settings", "I think I turned off iCloud for WhatsApp, backup doesn't work"},
	CauseMissing:    {"whatsapp isn't in the list under apps using icloud", "I can't see whatsapp in my icloud settings so it won't back up"},
	CauseAutoBackup: {"automatic backups never happen but back up now works", "whatsapp doesn't back up automatically anymore"},
	CauseICloudFull: {"it says not enough iCloud storage", "whatsapp backup fails, my icloud is full"},
	CausePhoneFull:  {"my iphone storage is full and whatsapp won't back up", "whatsapp backup fails, not enough space on my phone"},
	CauseOutdated:   {"whatsapp backup fails, my iphone is on an old ios version", "backup fails, I haven't updated whatsapp in ages"},
	CauseOutage:     {"is icloud down? whatsapp backup keeps failing", "whatsapp backup fails, maybe apple servers are down?"},
	CauseVideosTooBig: {
		"whatsapp backup fails, I have lots of big videos in my chats",
	},
	"stuck": {"backup is stuck at 0%", "whatsapp backup never finishes", "whatsapp backup stuck, it never finishes"},
	"fails": {"whatsapp backup fails with an error", "back up now fails every time in whatsapp"},
}

// specificShare is the chance a user of the cause opens with a specific
// message; over the default mix about 40% of openings are specific.
var specificShare = map[string]float64{
	CauseICloudFull: 0.30,
	CauseAppSwiped:  0.50,
	CauseUnfixable:  0.30,
}

const defaultSpecificShare = 0.45

// user is one simulated person: a phone state and a way of answering.
type user struct {
	st state
	r  *rand.Rand
	// pClick and pNumber are how often this person clicks a button or
	// types its number; otherwise they type words.
	pClick, pNumber float64
	// pUnsure is how often they first say they don't know.
	pUnsure float64
	// unsure: steps where they already said they were not sure;
	// reasked: the step of the last answer that was not understood.
	unsure map[string]bool
	// Specific is true when the first message named the symptom.
	specific bool
}

func newUser(st state, r *rand.Rand) *user {
	u := &user{st: st, r: r, pUnsure: 0.03, unsure: map[string]bool{}}
	switch r.IntN(3) {
	case 0: // clicks mostly
		u.pClick, u.pNumber = 0.8, 0.05
	case 1: // types mostly
		u.pClick, u.pNumber = 0.15, 0.1
	default: // a mix, numbers included
		u.pClick, u.pNumber = 0.4, 0.25
	}
	return u
}

// first is the user's first message.
func (u *user) first() string {
	share, ok := specificShare[u.st.Cause]
	if !ok {
		share = defaultSpecificShare
	}
	if u.r.Float64() < share {
		key := u.st.Cause
		if _, ok := firstSpecific[key]; !ok || key == CauseAppSwiped {
			key = u.st.Symptom
		}
		if msgs := firstSpecific[key]; len(msgs) > 0 {
			u.specific = true
			return pick(u.r, msgs)
		}
	}
	return pick(u.r, firstGeneric)
}

// intent is what a user means at a step: a choice id of the step (choice),
// or a typed value (typed); words are ways to say it in text.
type intent struct {
	choice string
	words  []string
	typed  string
	// plain is the plainest typed form, used after a re-ask.
	plain string
	// known is false for a step the user model does not know.
	known bool
}

// intentFor decides the answer to step from the phone's state. rightFix
// reports whether a fix step solves this user's cause.
func (u *user) intentFor(step string, rightFix bool, isFix bool) intent {
	st, r := u.st, u.r
	yes := []string{"yes", "yes it works now", "it worked!", "yes, it backed up"}
	no := []string{"no", "no, still failing", "nope", "still not working", "didn't help"}
	if isFix {
		if rightFix {
			return intent{choice: "fixed", words: yes, known: true}
		}
		return intent{choice: "not_fixed", words: no, known: true}
	}
	switch step {
	case "choose_guide":
		return intent{choice: GuideID, words: []string{"whatsapp", "the whatsapp one", "WhatsApp backups", "whatsapp backup to icloud"}, known: true}
	case "icloud_access":
		switch st.Switch {
		case "off":
			return intent{choice: "off", words: []string{"it's off", "off", "no, it's off", "the switch is off"}, known: true}
		case "missing":
			return intent{choice: "missing", words: []string{"whatsapp isn't there", "I can't see whatsapp in the list", "not listed", "it's not in the list"}, known: true}
		}
		return intent{choice: "on", words: []string{"it's on", "on", "yes it's on", "the switch is on", "yes"}, known: true}
	case "symptom":
		switch st.Symptom {
		case "stuck":
			return intent{choice: "stuck", words: []string{"it's stuck", "it starts but never finishes", "stuck at 0%", "it never finishes"}, known: true}
		case "auto_only":
			return intent{choice: "auto_only", words: []string{"back up now works but automatic backups don't happen", "only automatic backups fail", "manual works, automatic doesn't"}, known: true}
		}
		w := []string{"it fails", "I get an error", "it fails with an error", "back up now fails"}
		if st.Cause == CauseICloudFull {
			w = append(w, "it says not enough storage")
		}
		return intent{choice: "fails", words: w, known: true}
	case "backup_size":
		return intent{typed: sizeText(st.Backup, false, r), plain: plainSize(st.Backup), known: true}
	case "free_space":
		return intent{typed: sizeText(st.Free, true, r), plain: plainSize(st.Free), known: true}
	case "phone_space":
		if st.PhoneEnough {
			return intent{choice: "yes", words: []string{"yes", "yes plenty", "there is enough", "yeah, lots of space"}, known: true}
		}
		return intent{choice: "no", words: []string{"no", "not enough", "no, it's almost full", "no, the phone is full"}, known: true}
	case "ios_version":
		v := st.IOS
		return intent{typed: pick(r, []string{v, "I'm on " + v, "iOS " + v, "it says " + v}), plain: v, known: true}
	case "whatsapp_version":
		v := st.WhatsApp
		return intent{typed: pick(r, []string{v, "version " + v, v, "it says " + v}), plain: v, known: true}
	case "apple_status":
		if st.Green {
			return intent{choice: "green", words: []string{"yes it's green", "green", "yes", "it's green"}, known: true}
		}
		return intent{choice: "not_green", words: []string{"no, it's red", "it's yellow", "not green", "no"}, known: true}
	case "outage_wait":
		// Asked again after waiting: Apple's side is back.
		return intent{choice: "green_now", words: []string{"it's green now", "green now", "ok it's green now"}, known: true}
	case "videos":
		if st.Videos {
			return intent{choice: "on", words: []string{"yes", "yes, videos are included", "included", "it's on"}, known: true}
		}
		return intent{choice: "off", words: []string{"no", "no, they're left out", "it's off", "not included"}, known: true}
	}
	return intent{typed: "not sure", plain: "not sure"}
}

func plainSize(gb float64) string {
	if gb < 1 {
		return strconv.Itoa(int(gb*1000+0.5)) + " MB"
	}
	return strconv.FormatFloat(gb, 'f', -1, 64) + " GB"
}

// unsureWords are "I don't know" answers; the user then gives the real
// answer when asked again.
var unsureWords = []string{"not sure", "I don't know", "where do I find that?"}

// reply is the line the user sends to the bot's last output: a JSON click
// or plain text. reasked is true when the bot asked the same step again
// because it did not take the last answer; the user then taps the button
// (or types the plainest form), as a person told so would.
func (u *user) reply(step string, last *bot.Reply, in intent, isFix, reasked bool) (line string, unsure bool) {
	var choices []bot.Choice
	if last != nil {
		choices = last.Choices
	}
	askable := in.known && !isFix && step != "choose_guide" && step != "outage_wait"
	if askable && !u.unsure[step] && !reasked && u.r.Float64() < u.pUnsure {
		u.unsure[step] = true
		return pick(u.r, unsureWords), true
	}
	if in.choice != "" {
		idx := -1
		for i, c := range choices {
			if c.ID == in.choice {
				idx = i
			}
		}
		x := u.r.Float64()
		switch {
		case idx >= 0 && (reasked || x < u.pClick):
			return clickLine(in.choice), false
		case idx >= 0 && x < u.pClick+u.pNumber:
			return strconv.Itoa(idx + 1), false
		case len(in.words) > 0:
			return pick(u.r, in.words), false
		}
		return in.choice, false
	}
	if reasked && in.plain != "" {
		return in.plain, false
	}
	return in.typed, false
}

func clickLine(id string) string {
	b, err := json.Marshal(map[string]string{"choice": id})
	if err != nil {
		panic(fmt.Sprintf("sim: encode click: %v", err))
	}
	return string(b)
}
