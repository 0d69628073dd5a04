package discord

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"troubleshooter/bot"
	// Test-only: the menu tests run the real built-in guides end to end
	// through the adapter. Production adapter code never imports flows.
	"troubleshooter/flows"
)

// The guide menu on Discord, with the real flows.Runner over both
// built-in guides: a first message that points at no guide gets one
// message offering the guides as buttons, and a click (or typed words)
// starts one.

const (
	waGuide      = "whatsapp-icloud"
	waTitle      = "WhatsApp backups to iCloud on iPhone"
	waIntro      = "Let's get your WhatsApp backup to iCloud working again"
	dnGuide      = "discord-notifications"
	dnTitle      = "Discord notifications not arriving on my phone"
	dnIntro      = "Let's get Discord notifications onto your phone again"
	menuGreeting = "Hi! I can help with these. Pick one, or tell me what's wrong in your own words."
	menuOffTopic = "isn't something I know how to fix"
)

// realGuides loads the built-in guides once per test binary.
var realGuides = sync.OnceValues(func() (*flows.Set, error) { return flows.LoadSet(nil, nil, false) })

// menuEngine is the real engine over a memory store and the real runner
// with every built-in guide and no default guide. It returns the guide
// ids in the runner's (menu) order.
func menuEngine(t *testing.T) (*bot.Engine, []string) {
	t.Helper()
	set, err := realGuides()
	if err != nil {
		t.Fatalf("load the built-in guides: %v", err)
	}
	r, err := flows.NewRunner(set.Guides, "")
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, g := range set.Guides {
		order = append(order, g.Guide.ID)
	}
	st := bot.NewMemoryStore()
	t.Cleanup(func() { _ = st.Close() })
	return bot.NewEngine(st, r, bot.EngineConfig{}, nil), order
}

// runMenuBot runs an adapter in mode (thread when "") on f over the real
// guides.
func runMenuBot(t *testing.T, f *fakeDiscord, mode string) []string {
	t.Helper()
	eng, order := menuEngine(t)
	cfg := testConfig(f)
	cfg.Mode = mode
	runBot(t, f, cfg, eng)
	return order
}

// menuPrefix is the custom id prefix of the guide menu's buttons for user.
func menuPrefix(user string) string { return "ts1|c|" + user + "|" + flows.MenuStep + "|" }

// buttonsIn lists a message's buttons as custom id → label, and the
// labels in order.
func buttonsIn(m map[string]any) (byID map[string]string, labels []string) {
	byID = map[string]string{}
	eachComponent(m["components"], func(c map[string]any) {
		if num(c["type"]) == 2 {
			id, _ := c["custom_id"].(string)
			l, _ := c["label"].(string)
			byID[id] = l
			labels = append(labels, l)
		}
	})
	return byID, labels
}

// checkMenu checks that m is the guide menu for user: text containing
// want and exactly one live button per guide, labelled with its title, in
// the runner's order.
func checkMenu(t *testing.T, what string, m map[string]any, user, want string, order []string) {
	t.Helper()
	content, _ := m["content"].(string)
	if !strings.Contains(content, want) || !strings.Contains(content, "I can help with these") {
		t.Errorf("%s: content %q, want it to contain %q and the menu's words", what, content, want)
	}
	byID, labels := buttonsIn(m)
	titles := map[string]string{waGuide: waTitle, dnGuide: dnTitle}
	var wantLabels []string
	for _, id := range order {
		wantLabels = append(wantLabels, titles[id])
		if got := byID[menuPrefix(user)+id]; got != titles[id] {
			t.Errorf("%s: button %s = %q, want %q (buttons %v)", what, menuPrefix(user)+id, got, titles[id], byID)
		}
	}
	if !slices.Equal(labels, wantLabels) || len(order) != 2 {
		t.Errorf("%s: buttons %v, want the two guide titles %v", what, labels, wantLabels)
	}
	if all, _ := disabledAll(m["components"]); all {
		t.Errorf("%s: the menu's buttons are disabled", what)
	}
}

// settle waits a moment so that any further message of a turn already
// answering would have been sent (the fake is in-process).
func settle() { time.Sleep(300 * time.Millisecond) }

// dm sends a DM from user and returns the newest bot message in the DM
// with a component whose custom id starts with prefix.
func dm(t *testing.T, f *fakeDiscord, channel, user, text, prefix string) (map[string]any, int) {
	t.Helper()
	mark := f.Mark()
	f.dispatch("MESSAGE_CREATE", f.messageCreate("", channel, user, text, false))
	f.waitCall(mark, "POST", "/api/v9/channels/"+channel+"/messages")
	return f.lastWithComponents(channel, prefix), mark
}

func TestMenuGreetingDM(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	order := runMenuBot(t, f, "")
	ch := "7700000000000000101"
	menu, mark := dm(t, f, ch, alice, "hi", menuPrefix(alice))
	checkMenu(t, "greeting", menu, alice, menuGreeting, order)
	settle()
	if posts := f.callsSince(mark, "POST", "/api/v9/channels/"+ch+"/messages"); len(posts) != 1 {
		t.Errorf("a greeting got %d messages, want one (the menu)", len(posts))
	}
}

func TestMenuSlashCommandNoText(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	order := runMenuBot(t, f, ModeThread)
	mark := f.Mark()
	f.dispatch("INTERACTION_CREATE", f.slash(testGuild, testChannel, alice))
	thread := threadID(f.waitCall(mark, "POST", "/api/v9/channels/"+testChannel+"/messages/*/threads"))
	menu := f.lastWithComponents(thread, menuPrefix(alice))
	checkMenu(t, "/troubleshoot", menu, alice, menuGreeting, order)
	settle()
	posts := f.callsSince(mark, "POST", "/api/v9/channels/"+thread+"/messages")
	if len(posts) != 1 {
		t.Fatalf("/troubleshoot with no text got %d messages in the thread, want one (the menu)", len(posts))
	}
	// The person is mentioned in the thread's first message (and so added
	// to it); nobody else can be pinged.
	assertNoMentions(t, "menu", body(t, posts[0]), alice)
}

// TestMenuClickStartsGuide: a click on the Discord-notifications button
// starts that guide, and the menu's buttons are spent: a second click on
// the menu is answered privately as already answered, with the current
// question.
func TestMenuClickStartsGuide(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"dm", ModeThread} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			f := newFakeDiscord(t)
			order := runMenuBot(t, f, ModeThread)
			var menu map[string]any
			guild := testGuild
			if mode == "dm" {
				guild = ""
				menu, _ = dm(t, f, "7700000000000000102", alice, "hi", menuPrefix(alice))
			} else {
				mark := f.Mark()
				f.dispatch("INTERACTION_CREATE", f.slash(testGuild, testChannel, alice))
				thread := threadID(f.waitCall(mark, "POST", "/api/v9/channels/"+testChannel+"/messages/*/threads"))
				menu = f.lastWithComponents(thread, menuPrefix(alice))
			}
			checkMenu(t, "menu", menu, alice, menuGreeting, order)

			// Click the Discord-notifications guide.
			mark := f.Mark()
			ia := f.click(guild, alice, menu, menuPrefix(alice)+dnGuide)
			f.dispatch("INTERACTION_CREATE", ia)
			cb := callbackOf(t, f, mark, ia)
			d, _ := cb["data"].(map[string]any)
			if all, chosen := disabledAll(d["components"]); num(cb["type"]) != 7 || !all || chosen != menuPrefix(alice)+dnGuide {
				t.Errorf("click response = %v, want the menu updated with its buttons disabled and the pick highlighted", cb)
			}
			fu := followupOf(t, f, mark, ia)
			content, _ := fu["content"].(string)
			if !strings.Contains(content, dnIntro) || strings.Contains(content, waIntro) {
				t.Fatalf("after clicking %q: %q, want the Discord guide's intro", dnTitle, content)
			}
			byID, _ := buttonsIn(fu)
			for _, c := range []string{"none", "some", "late"} {
				if byID["ts1|c|"+alice+"|scope@1|"+c] == "" {
					t.Errorf("the guide's first question has no button %q: %v", c, byID)
				}
			}
			if num(fu["flags"])&64 != 0 {
				t.Errorf("the guide's first question is ephemeral: %v", fu)
			}

			// A second click on the old menu: stale, answered privately
			// with a link to the current question (no second live copy of
			// it); no second guide is started.
			mark = f.Mark()
			ia = f.click(guild, alice, menu, menuPrefix(alice)+waGuide)
			f.dispatch("INTERACTION_CREATE", ia)
			fu = followupOf(t, f, mark, ia)
			content, _ = fu["content"].(string)
			if num(fu["flags"])&64 == 0 || !strings.Contains(content, "already answered") || strings.Contains(content, waIntro) {
				t.Errorf("a second click on the menu = %v, want a private already-answered note", fu)
			}
			if byID, _ := buttonsIn(fu); len(byID) != 0 || !strings.Contains(content, "https://discord.com/channels/") {
				t.Errorf("the stale click's note = %v, want a link to the current question and no controls", fu)
			}
		})
	}
}

// TestMenuOffTopicThenTyped: an off-topic first message gets the apology
// and the menu; typed words, or the guide's number, then start a guide,
// and the menu's buttons are disabled. In a DM, and in the thread
// /troubleshoot opens (with the Message Content intent, so that plain
// messages in the thread reach the bot).
func TestMenuOffTopicThenTyped(t *testing.T) {
	t.Parallel()
	for _, where := range []string{"dm", "thread"} {
		for _, typed := range []string{"whatsapp backup fails", "number"} {
			t.Run(where+"/"+typed, func(t *testing.T) {
				t.Parallel()
				f := newFakeDiscord(t)
				eng, order := menuEngine(t)
				cfg := testConfig(f)
				cfg.MessageContent = true
				runBot(t, f, cfg, eng)
				const offTopic = "my printer is broken"
				var menu map[string]any
				ch, guild := "7700000000000000103", ""
				if where == "dm" {
					menu, _ = dm(t, f, ch, alice, offTopic, menuPrefix(alice))
				} else {
					guild = testGuild
					mark := f.Mark()
					f.dispatch("INTERACTION_CREATE", f.slash(testGuild, testChannel, alice, map[string]any{"name": "problem", "type": 3, "value": offTopic}))
					ch = threadID(f.waitCall(mark, "POST", "/api/v9/channels/"+testChannel+"/messages/*/threads"))
					menu = f.lastWithComponents(ch, menuPrefix(alice))
				}
				checkMenu(t, "off-topic", menu, alice, menuOffTopic, order)
				if typed == "number" {
					typed = "1"
					if order[1] == waGuide {
						typed = "2"
					}
				}
				mark := f.Mark()
				f.dispatch("MESSAGE_CREATE", f.messageCreate(guild, ch, alice, typed, false))
				f.waitCall(mark, "POST", "/api/v9/channels/"+ch+"/messages")
				q := f.lastWithComponents(ch, "ts1|c|"+alice+"|icloud_access@")
				content, _ := q["content"].(string)
				if !strings.Contains(content, waIntro) || !strings.Contains(content, "is WhatsApp allowed to use iCloud?") {
					t.Errorf("after %q: %q, want the WhatsApp guide's intro and first question", typed, content)
				}
				if byID, _ := buttonsIn(q); len(byID) < 3 {
					t.Errorf("the first question's buttons = %v", byID)
				}
				// The menu's buttons are disabled once the guide started.
				edit := body(t, f.waitCall(mark, "PATCH", "/api/v9/channels/"+ch+"/messages/"+menu["id"].(string)))
				if all, _ := disabledAll(edit["components"]); !all {
					t.Errorf("the menu still has live buttons after %q: %v", typed, edit["components"])
				}
			})
		}
	}
}

// TestMenuNamedProblemSkipsMenu: a first message naming the problem goes
// straight to the guide.
func TestMenuNamedProblemSkipsMenu(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	runMenuBot(t, f, "")
	ch := "7700000000000000104"
	q, mark := dm(t, f, ch, alice, "my whatsapp backup keeps failing", "ts1|c|"+alice+"|")
	content, _ := q["content"].(string)
	if !strings.Contains(content, waIntro) || !strings.Contains(content, "is WhatsApp allowed to use iCloud?") || strings.Contains(content, "I can help with these") {
		t.Errorf("first message naming the problem got %q, want the WhatsApp guide's first question", content)
	}
	if ids := customIDs(q["components"], menuPrefix(alice)); len(ids) != 0 {
		t.Errorf("menu buttons offered: %v", ids)
	}
	if ids := customIDs(q["components"], "ts1|c|"+alice+"|icloud_access@2|"); len(ids) != 3 {
		t.Errorf("first question's buttons = %v", customIDs(q["components"], ""))
	}
	settle()
	if posts := f.callsSince(mark, "POST", "/api/v9/channels/"+ch+"/messages"); len(posts) != 1 {
		t.Errorf("got %d messages, want one", len(posts))
	}
}
