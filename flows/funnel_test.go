package flows

import (
	"slices"
	"strings"
	"testing"
	"time"

	"troubleshooter/bot"
)

// person is one conversation fed message by message, keeping every record
// its turns made, as the engine saves them.
type person struct {
	t    *testing.T
	r    *Runner
	s    *bot.Session
	now  time.Time
	outs []bot.Outcome
	last bot.Turn
}

func newPerson(t *testing.T, r *Runner, key string) *person {
	now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	return &person{t: t, r: r, s: &bot.Session{Key: key, Started: now}, now: now}
}

func (p *person) say(texts ...string) *person {
	p.t.Helper()
	for _, text := range texts {
		p.now = p.now.Add(time.Minute)
		turn, err := p.r.Respond(p.s, bot.Message{Text: text, Time: p.now})
		if err != nil {
			p.t.Fatalf("after %q: %v", text, err)
		}
		p.outs, p.last = append(p.outs, turn.Outcomes...), turn
	}
	return p
}

// expire closes the conversation for inactivity as the engine's sweeper
// does: the flow's record, then the session marked done.
func (p *person) expire(after time.Duration) *person {
	p.now = p.now.Add(after)
	p.outs = append(p.outs, p.r.Outcome(p.s, bot.OutcomeExpired, p.now))
	p.s.Done, p.s.Outcome = true, bot.OutcomeExpired
	return p
}

// counts folds records into totals per field, as a store's tallies do.
func counts(outs []bot.Outcome) map[string]int64 {
	sum := map[string]int64{}
	for _, o := range outs {
		for _, a := range bot.TallyAdds(o) {
			sum[a.Field] += a.N
		}
	}
	return sum
}

func kinds(outs []bot.Outcome) string {
	var k []string
	for _, o := range outs {
		k = append(k, o.Kind)
	}
	return strings.Join(k, ",")
}

// TestFunnelRecords: each conversation records its start once, when it
// starts, and one ending; restarts and resumed expiries do not make a
// second conversation.
func TestFunnelRecords(t *testing.T) {
	r := builtinRunner(t)
	resolve := []string{"on", "fails", "1 GB", "50 GB", "yes", "17.0", "2.20", "no", "green", "yes"}
	for _, tc := range []struct {
		name  string
		run   func(p *person)
		kinds string // records in order
	}{
		{"resolved", func(p *person) { p.say("hi").say(resolve...) }, "started,resolved"},
		{"stopped", func(p *person) { p.say("hi", "on", "stop") }, "started,stopped"},
		{"restart mid-way is the same conversation", func(p *person) { p.say("hi", "on", "restart").say(resolve...) }, "started,restarted,resolved"},
		{"restart before any answer records nothing", func(p *person) { p.say("hi", "restart").say(resolve...) }, "started,resolved"},
		{"a new problem after the end is a new conversation", func(p *person) {
			p.say("hi").say(resolve...).say("my whatsapp backup fails again")
		}, "started,resolved,started"},
		{"expired and never back", func(p *person) { p.say("hi", "on").expire(time.Hour) }, "started,expired"},
		{"expired, back, resolved", func(p *person) { p.say("hi", "on").expire(time.Hour).say(resolve[1:]...) }, "started,expired,resumed,resolved"},
		{"expired, back, starts over: a restart", func(p *person) {
			p.say("hi", "on", "fails").expire(time.Hour).say("hello", "2").say(resolve...)
		}, "started,expired,resumed,restarted,resolved"},
		{"expired, back, stopped", func(p *person) { p.say("hi", "on").expire(time.Hour).say("stop") }, "started,expired,resumed,stopped"},
		{"expired twice", func(p *person) { p.say("hi", "on").expire(time.Hour).say("hello").expire(time.Hour) }, "started,expired,resumed,expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPerson(t, r, "k")
			tc.run(p)
			if got := kinds(p.outs); got != tc.kinds {
				t.Fatalf("records %s, want %s", got, tc.kinds)
			}
			c := counts(p.outs)
			ended := c[bot.OutcomeResolved] + c[bot.OutcomeEscalated] + c[bot.OutcomeStopped] + c[bot.OutcomeExpired]
			if c[bot.OutcomeStarted] != ended && !strings.HasSuffix(tc.kinds, "started") {
				t.Errorf("%d started, %d ended: %v", c[bot.OutcomeStarted], ended, c)
			}
			for _, o := range p.outs {
				if o.Key != "k" || o.Guide != "whatsapp-icloud" || o.Ended.IsZero() {
					t.Errorf("record %+v lacks key, guide or time", o)
				}
			}
		})
	}
}

// TestTenPeopleOneRestart is the case: ten people, one of whom
// restarts once, are ten started conversations and ten endings, with the
// restart shown apart and nobody abandoned.
func TestTenPeopleOneRestart(t *testing.T) {
	r := builtinRunner(t)
	var outs []bot.Outcome
	for i := range 10 {
		p := newPerson(t, r, string(rune('a'+i))).say("hi", "on")
		if i == 3 {
			p.say("restart", "on")
		}
		p.say("fails", "1 GB", "50 GB", "yes", "17.0", "2.20", "no", "green", "yes")
		outs = append(outs, p.outs...)
	}
	c := counts(outs)
	if c[bot.OutcomeStarted] != 10 || c[bot.OutcomeResolved] != 10 || c[bot.OutcomeRestarted] != 1 ||
		c[bot.OutcomeStopped]+c[bot.OutcomeExpired] != 0 || c[bot.TallyReached+"icloud_access"] != 10 {
		t.Errorf("counts %v; want 10 started, 10 resolved, 1 restarted, none left, 10 reached the first question", c)
	}
}

// TestResumedTakesBackTheExpiry: the expiry and its resumed record cancel
// out in the expiry's hour, even when the person comes back hours later.
func TestResumedTakesBackTheExpiry(t *testing.T) {
	r := builtinRunner(t)
	p := newPerson(t, r, "k").say("hi", "on").expire(time.Hour)
	p.now = p.now.Add(5 * time.Hour)
	p.say("fails")
	expired, resumed := p.outs[1], p.outs[2]
	if resumed.Kind != bot.OutcomeResumed || !resumed.Ended.Equal(expired.Ended) || resumed.Step != expired.Step ||
		!slices.Equal(resumed.Path, expired.Path) {
		t.Fatalf("resumed %+v does not mirror expired %+v", resumed, expired)
	}
	sum := map[bot.TallyKey]map[string]int64{}
	for _, o := range p.outs[1:3] {
		for _, a := range bot.TallyAdds(o) {
			if sum[a.Bucket] == nil {
				sum[a.Bucket] = map[string]int64{}
			}
			sum[a.Bucket][a.Field] += a.N
		}
	}
	for k, fields := range sum {
		for f, n := range fields {
			if n != 0 && f != bot.OutcomeResumed {
				t.Errorf("bucket %v: %s = %d after the expiry was resumed", k, f, n)
			}
		}
	}
	if _, kept := p.s.Answers[expiredKey]; kept {
		t.Error("the expiry's time is still kept after it was taken back")
	}
}

// TestStartedOnlyOnceAGuideIsPicked: the guide menu is no conversation
// yet; picking a guide starts one, dated from the first message.
func TestStartedOnlyOnceAGuideIsPicked(t *testing.T) {
	set, err := LoadSet(nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(set.Guides, "")
	if err != nil {
		t.Fatal(err)
	}
	p := newPerson(t, r, "k").say("hi")
	first := p.now
	p.s.Started = first // as the engine dates a new session
	if len(p.outs) != 0 || p.s.Offer != offerMenu {
		t.Fatalf("the menu recorded %s (offer %q)", kinds(p.outs), p.s.Offer)
	}
	p.say("whatsapp")
	if kinds(p.outs) != bot.OutcomeStarted || p.outs[0].Guide != "whatsapp-icloud" || !p.outs[0].Started.Equal(first) || !p.outs[0].Ended.Equal(first) {
		t.Errorf("records %+v; want one start of whatsapp-icloud at %v", p.outs, first)
	}
}

// TestOutcomePath: the path lists the steps reached in order, once each,
// checks left out, ending with the step the conversation ended on.
func TestOutcomePath(t *testing.T) {
	r := builtinRunner(t)
	p := newPerson(t, r, "k").say("hi", "on", "fails", "1 GB", "back", "2 GB", "50 GB", "yes", "17.0", "2.20", "no", "green", "yes")
	o := p.outs[len(p.outs)-1]
	want := []string{"icloud_access", "symptom", "backup_size", "free_space", "phone_space", "ios_version", "whatsapp_version", "fix_update", "apple_status", "fix_manual", "resolved"}
	if o.Kind != bot.OutcomeResolved || !slices.Equal(o.Path, want) {
		t.Errorf("%s path\n%v\nwant\n%v", o.Kind, o.Path, want)
	}
	p = newPerson(t, r, "k").say("hi", "on", "stop")
	if o := p.outs[len(p.outs)-1]; !slices.Equal(o.Path, []string{"icloud_access", "symptom"}) || o.Step != "symptom" {
		t.Errorf("stopped at %s with path %v; want the unanswered question last", o.Step, o.Path)
	}
}
