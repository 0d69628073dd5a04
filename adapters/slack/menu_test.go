package slack

import (
	"slices"
	"strings"
	"testing"
	"time"

	// Test-only (fake_test.go imports it too): the menu tests run the
	// real built-in guides end to end through the adapter. Production
	// adapter code never imports flows.
	"troubleshooter/flows"
)

// The guide menu on Slack, with the real flows.Runner over both built-in
// guides (testRunner: no default guide): a first message that points at
// no guide gets one message offering the guides as buttons, and a click
// (or typed words) starts one.

const (
	waGuide      = "whatsapp-icloud"
	waTitle      = "WhatsApp backups to iCloud on iPhone"
	waIntro      = "Let's get your WhatsApp backup to iCloud working again"
	waFirst      = "is WhatsApp allowed to use iCloud?"
	dnGuide      = "discord-notifications"
	dnTitle      = "Discord notifications not arriving on my phone"
	dnIntro      = "Let's get Discord notifications onto your phone again"
	menuGreeting = "Hi! I can help with these. Pick one, or tell me what's wrong in your own words."
	menuOffTopic = "isn't something I know how to fix"
)

// menuOrder is the guide ids in the runner's (menu) order.
func menuOrder(t *testing.T) []string {
	t.Helper()
	set, err := flows.LoadSet(nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, g := range set.Guides {
		ids = append(ids, g.Guide.ID)
	}
	return ids
}

// checkMenu checks that post c is the guide menu for user U1 in thread:
// text containing want and one button per guide, labelled with its title,
// in the runner's order.
func checkMenu(t *testing.T, what string, c apiCall, thread, want string) {
	t.Helper()
	text := textOf(t, c)
	if !strings.Contains(text, want) || !strings.Contains(text, "I can help with these") {
		t.Errorf("%s: text %q, want it to contain %q and the menu's words", what, text, want)
	}
	titles := map[string]string{waGuide: waTitle, dnGuide: dnTitle}
	var got, want2 []string
	for _, id := range menuOrder(t) {
		want2 = append(want2, titles[id])
	}
	for _, b := range buttonsOf(t, c) {
		got = append(got, b.Label)
		if b.Ref.Step != flows.MenuStep || b.Ref.User != "U1" || b.Ref.Thread != thread || titles[b.Ref.Choice] != b.Label {
			t.Errorf("%s: button %+v does not pick its guide in U1's conversation (thread %q)", what, b, thread)
		}
	}
	if !slices.Equal(got, want2) || len(want2) != 2 {
		t.Errorf("%s: buttons %v, want the two guide titles %v", what, got, want2)
	}
}

// menuButton is the menu's button for guide.
func menuButton(t *testing.T, c apiCall, guide string) button {
	t.Helper()
	for _, b := range buttonsOf(t, c) {
		if b.Ref.Choice == guide {
			return b
		}
	}
	t.Fatalf("no button for %s in %s", guide, textOf(t, c))
	return button{}
}

// settle waits a moment so that any further post of a turn already
// answering would have been made (the fake is in-process).
func settle() { time.Sleep(300 * time.Millisecond) }

func mentionEvent(user, channel, ts, text string) map[string]any {
	return map[string]any{"type": "app_mention", "channel": channel, "user": user, "text": text, "ts": ts, "event_ts": ts}
}

// menuStart opens U1's conversation with text in one of three ways ("dm":
// a DM; "mention": a mention in C1; "slash": /troubleshoot in C1) and
// returns the first post of the conversation (not the slash command's
// root post), the conversation's channel and thread, and the index after
// the first post.
func menuStart(t *testing.T, e *env, how, text string) (first apiCall, channel, thread string, next int) {
	t.Helper()
	from := e.fake.ncalls()
	switch how {
	case "dm":
		e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U1", "D1", "", e.ts(), text)), 0)
		first, next = e.fake.waitFor(from, "the first post", isPost("D1", ""))
		return first, "D1", "", next + 1
	case "mention":
		ts := e.ts()
		e.tr.event(t, eventPayload(e.id("Ev"), mentionEvent("U1", "C1", ts, "<@UBOT> "+text)), 0)
		first, next = e.fake.waitFor(from, "the first post", isPost("C1", ts))
		return first, "C1", ts, next + 1
	default:
		root, q, next := e.start("U1", "C1", text)
		return q, "C1", root.TS, next
	}
}

func TestMenuGreeting(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"dm", "mention", "slash"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			e := newEnvOpts(t, ModeSocket, envOpts{flow: shippedRunner(t)})
			text := "hi"
			if how == "slash" {
				text = ""
			}
			menu, channel, thread, _ := menuStart(t, e, how, text)
			checkMenu(t, how, menu, thread, menuGreeting)
			settle()
			if n := e.fake.count(func(c apiCall) bool { return isPost(channel, thread)(c) }); n != 1 {
				t.Errorf("%s: %d posts in the conversation, want one (the menu)", how, n)
			}
			if n := e.fake.count(isMethod("chat.postEphemeral")); n != 0 {
				t.Errorf("%s: %d ephemeral notes", how, n)
			}
		})
	}
}

// TestMenuClickStartsGuide: a click on the Discord-notifications button
// starts that guide and marks the menu answered; a second click on the
// menu is stale: answered privately, with the current question.
func TestMenuClickStartsGuide(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"dm", "slash"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			e := newEnvOpts(t, ModeSocket, envOpts{flow: shippedRunner(t)})
			text := "hi"
			if how == "slash" {
				text = ""
			}
			menu, channel, thread, from := menuStart(t, e, how, text)
			checkMenu(t, how, menu, thread, menuGreeting)

			b := menuButton(t, menu, dnGuide)
			e.tr.click(t, clickPayload(t, menu, b, "U1", e.id("trigger")))
			got, i := e.fake.waitFor(from, "a post or a note after the click", func(c apiCall) bool {
				return isPost(channel, thread)(c) || isEphemeral(channel, "U1")(c)
			})
			if got.Method != "chat.postMessage" || !strings.Contains(textOf(t, got), dnIntro) {
				t.Fatalf("after clicking %q: %s %q, want the Discord guide's intro posted", dnTitle, got.Method, textOf(t, got))
			}
			if step := stepOf(t, got); step != "scope" || len(buttonsOf(t, got)) != 3 {
				t.Errorf("the guide's first question: step %q, buttons %v", step, buttonsOf(t, got))
			}
			upd, _ := e.fake.waitFor(from, "chat.update of the menu", func(c apiCall) bool {
				return c.Method == "chat.update" && c.Form.Get("ts") == menu.TS
			})
			if n := len(buttonsOf(t, upd)); n != 0 || !strings.Contains(textOf(t, upd), "You chose: *"+dnTitle+"*") {
				t.Errorf("the menu after the click: %d buttons, %q", n, textOf(t, upd))
			}

			// A second click on the old menu.
			from = i + 1
			e.tr.click(t, clickPayload(t, menu, menuButton(t, menu, waGuide), "U1", e.id("trigger")))
			note, _ := e.fake.waitFor(from, "the stale click's note", isEphemeral(channel, "U1"))
			if txt := textOf(t, note); !strings.Contains(txt, "already answered") || strings.Contains(txt, waIntro) || stepOf(t, note) != "scope" {
				t.Errorf("a second click on the menu: %q (step %q), want the already-answered note and the current question", txt, stepOf(t, note))
			}
			settle()
			if n := e.fake.count(isPost(channel, thread)); n != 2 {
				t.Errorf("%d posts in the conversation, want 2 (the menu, the guide's first question)", n)
			}
		})
	}
}

// TestMenuOffTopicThenTyped: an off-topic first message in a DM gets the
// apology and the menu; typed words, or the guide's number, then start
// the WhatsApp guide.
func TestMenuOffTopicThenTyped(t *testing.T) {
	t.Parallel()
	offTopicThenTyped(t, "dm")
}

// TestMenuOffTopicThenTypedInThread is TestMenuOffTopicThenTyped in the
// thread a slash command or a mention opens: the person's plain reply in
// the thread is followed while the menu waits.
func TestMenuOffTopicThenTypedInThread(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"slash", "mention"} {
		offTopicThenTyped(t, how)
	}
}

// offTopicThenTyped runs TestMenuOffTopicThenTyped's conversation, started
// per how (see menuStart).
func offTopicThenTyped(t *testing.T, how string) {
	for _, typed := range []string{"whatsapp backup fails", "number"} {
		t.Run(how+"/"+typed, func(t *testing.T) {
			t.Parallel()
			e := newEnvOpts(t, ModeSocket, envOpts{flow: shippedRunner(t)})
			menu, channel, thread, from := menuStart(t, e, how, "my printer is broken")
			checkMenu(t, how, menu, thread, menuOffTopic)
			if typed == "number" {
				typed = "1"
				if menuOrder(t)[1] == waGuide {
					typed = "2"
				}
			}
			e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U1", channel, thread, e.ts(), typed)), 0)
			q, _ := e.fake.waitFor(from, "the WhatsApp guide's first question", isPost(channel, thread))
			if txt := textOf(t, q); !strings.Contains(txt, waIntro) || !strings.Contains(txt, waFirst) {
				t.Errorf("after %q: %q, want the WhatsApp guide's intro and first question", typed, txt)
			}
			wantStep(t, q, "icloud_access", typed)
		})
	}
}

// TestMenuNamedProblemSkipsMenu: a first message naming the problem goes
// straight to the guide.
func TestMenuNamedProblemSkipsMenu(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"dm", "mention", "slash"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			e := newEnvOpts(t, ModeSocket, envOpts{flow: shippedRunner(t)})
			q, channel, thread, _ := menuStart(t, e, how, "my whatsapp backup keeps failing")
			txt := textOf(t, q)
			if !strings.Contains(txt, waIntro) || !strings.Contains(txt, waFirst) || strings.Contains(txt, "I can help with these") {
				t.Errorf("%s: %q, want the WhatsApp guide's first question", how, txt)
			}
			wantStep(t, q, "icloud_access", how)
			settle()
			if n := e.fake.count(isPost(channel, thread)); n != 1 {
				t.Errorf("%s: %d posts, want one", how, n)
			}
		})
	}
}

// shippedRunner runs the guides built into the binary (both of them, so
// greetings get the menu), unlike testRunner's frozen copy.
func shippedRunner(t *testing.T) *flows.Runner {
	t.Helper()
	set, err := flows.LoadSet(nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	r, err := flows.NewRunner(set.Guides, "")
	if err != nil {
		t.Fatal(err)
	}
	return r
}
