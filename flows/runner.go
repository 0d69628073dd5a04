package flows

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/looplab/fsm"

	"troubleshooter/bot"
	"troubleshooter/flows/answer"
)

// Choice ids the runner adds itself.
const (
	choiceHelp     = "where"     // "where do I find it?" on input steps
	choiceFixed    = "fixed"     // a fix helped
	choiceNotFixed = "not_fixed" // a fix did not help
	// ChoiceResume and ChoiceStartOver answer the offer made when a person
	// comes back to a conversation that expired.
	ChoiceResume    = "resume"
	ChoiceStartOver = "start_over"
)

// maxTextAnswer bounds a free-text answer kept in a session.
const maxTextAnswer = 500

// maxMessage bounds how much of a message is read at all: no answer the
// guides ask for is longer, and parsing a 100 KB paste would only cost time.
const maxMessage = 4 << 10

// Runner runs conversations over compiled guides; it implements bot.Flow.
// It is safe for concurrent use, including Reload while conversations run.
type Runner struct {
	lib atomic.Pointer[library]
	now func() time.Time
}

// library is one immutable set of loaded guides. Reload swaps in a new one;
// turns in flight keep the one they started with.
type library struct {
	guides map[string]*Compiled // the current version of each guide
	order  []*Compiled
	def    *Compiled
	// versions keeps every version loaded since start, so that a
	// conversation finishes on the version it started with.
	versions map[string]map[string]*Compiled
}

var _ bot.Flow = (*Runner)(nil)

// NewRunner returns a Runner over guides. defaultID names the guide a
// conversation starts with when nothing picks another; "" means the first.
// Guide ids must be unique.
func NewRunner(guides []*Compiled, defaultID string) (*Runner, error) {
	r := &Runner{now: time.Now}
	lib, err := newLibrary(guides, defaultID, nil)
	if err != nil {
		return nil, err
	}
	r.lib.Store(lib)
	return r, nil
}

func newLibrary(guides []*Compiled, defaultID string, old *library) (*library, error) {
	if len(guides) == 0 {
		return nil, errors.New("no guides loaded")
	}
	l := &library{guides: make(map[string]*Compiled, len(guides)), versions: map[string]map[string]*Compiled{}}
	if old != nil {
		for id, vs := range old.versions {
			l.versions[id] = maps.Clone(vs)
		}
	}
	for _, g := range guides {
		if prev, dup := l.guides[g.Guide.ID]; dup {
			return nil, fmt.Errorf("guide id %q is used by both %s and %s", g.Guide.ID, prev.Guide.File, g.Guide.File)
		}
		l.guides[g.Guide.ID] = g
		l.order = append(l.order, g)
		if l.versions[g.Guide.ID] == nil {
			l.versions[g.Guide.ID] = map[string]*Compiled{}
		}
		l.versions[g.Guide.ID][g.Guide.Version] = g
	}
	l.def = guides[0]
	if defaultID != "" {
		g, ok := l.guides[defaultID]
		if !ok {
			return nil, fmt.Errorf("default guide %q is not loaded (loaded: %s)", defaultID, strings.Join(l.ids(), ", "))
		}
		l.def = g
	}
	return l, nil
}

// Reload replaces the guides for new conversations. Conversations in
// progress stay on the version they started with (kept in memory); one
// whose guide or version is gone continues on the current version if its
// step still exists there, and is otherwise told and restarted. On error
// nothing changes.
func (r *Runner) Reload(guides []*Compiled, defaultID string) error {
	l, err := newLibrary(guides, defaultID, r.lib.Load())
	if err != nil {
		return err
	}
	r.lib.Store(l)
	return nil
}

func (l *library) ids() []string {
	ids := make([]string, len(l.order))
	for i, g := range l.order {
		ids[i] = g.Guide.ID
	}
	return ids
}

// forSession is the compiled guide a session runs on: the version it
// started with when still loaded, else the current one (or nil).
func (l *library) forSession(s *bot.Session) *Compiled {
	if g := l.versions[s.Guide][s.GuideVersion]; g != nil {
		return g
	}
	return l.guides[s.Guide]
}

// IDs lists the loaded guide ids in load order.
func (r *Runner) IDs() []string { return r.lib.Load().ids() }

// Guide returns the current compiled guide with id, or nil.
func (r *Runner) Guide(id string) *Compiled { return r.lib.Load().guides[id] }

// turn accumulates one message's replies and outcomes.
type turn struct {
	r   *Runner
	lib *library
	g   *Compiled
	s   *bot.Session
	now time.Time
	out bot.Turn
}

func (t *turn) say(text string) {
	if text != "" {
		t.out.Replies = append(t.out.Replies, bot.Reply{Text: text})
	}
}

// Respond implements bot.Flow.
func (r *Runner) Respond(s *bot.Session, m bot.Message) (bot.Turn, error) {
	now := m.Time
	if now.IsZero() {
		now = r.now()
	}
	t := &turn{r: r, lib: r.lib.Load(), s: s, now: now}
	m.Text = clip(m.Text, maxMessage)
	norm := answer.Normalize(m.Text)
	if s.Guide == "" {
		return t.start(m, norm)
	}
	if s.Done {
		return t.afterEnd(m, norm)
	}
	if s.Offer == offerResume {
		return t.resumeOffer(m, norm, false)
	}
	t.g = t.lib.forSession(s)
	if t.g == nil {
		t.say("The guide we were following is no longer available, so let's start again.")
		s.Reset(now)
		return t.start(bot.Message{}, "")
	}
	cs := t.g.steps[s.Step]
	if cs == nil || cs.Kind == KindCheck || cs.Kind == KindEnd {
		// Never restore a step blindly: the guide changed under this
		// conversation and the step is gone (or is no longer a question).
		t.say("This guide was updated since we last talked and the question we were on no longer exists, so let's start again from the beginning.")
		t.out.Outcomes = append(t.out.Outcomes, r.Outcome(s, bot.OutcomeRestarted, now))
		s.Reset(now)
		return t.start(bot.Message{Guide: t.g.Guide.ID}, "")
	}
	s.GuideVersion = t.g.Guide.Version
	if m.Choice == "" {
		if cmd, ok := answer.ParseCommand(norm); ok {
			return t.command(cmd, cs)
		}
	} else if (m.Step != "" && m.Step != s.Step) || (m.GuideVersion != "" && m.GuideVersion != s.GuideVersion) {
		t.say("That question was already answered. Here's where we are now:")
		return t.land()
	}
	return t.answer(cs, m, norm)
}

// offerResume is Session.Offer while a person who came back after an
// expiry is asked whether to resume or start over.
const offerResume = "resume"

// resumeOptions are the answers to that offer.
var resumeOptions = []answer.Option{
	{ID: ChoiceResume, Label: "Pick up where we stopped", Aliases: []string{"resume", "continue", "pick up"}},
	{ID: ChoiceStartOver, Label: "Start over", Aliases: []string{"start over", "start again"}},
}

// afterEnd answers a message to a conversation that ended but is not over
// for the person: handed to staff (quiet unless they restart), or expired
// (resume or start over). The engine resets every other ended
// conversation before calling Respond.
func (t *turn) afterEnd(m bot.Message, norm string) (bot.Turn, error) {
	s := t.s
	// Only the typed command restarts: a click on an old offer's "Start
	// over" must not end a handoff staff are working on.
	cmd, isCmd := answer.ParseCommand(norm)
	restart := m.Choice == "" && isCmd && cmd == answer.Restart
	if s.HandedOff && !restart {
		// Staff have this conversation; anything the bot said now would
		// talk over them.
		return t.out, nil
	}
	if s.HandedOff || s.Outcome != bot.OutcomeExpired {
		t.say("OK, starting over.")
		return t.startOver(s.Guide)
	}
	// Expired: the outcome is recorded; the conversation is live again,
	// waiting on the offer (or on the question it stopped at).
	s.Done, s.Outcome, s.Offer = false, "", offerResume
	return t.resumeOffer(m, norm, true)
}

// resumeOffer handles a message while the offer to resume is open. first
// is true for the message that opened it: the offer was not shown yet, so
// a number or a yes answers the question the conversation stopped at.
func (t *turn) resumeOffer(m bot.Message, norm string, first bool) (bot.Turn, error) {
	s := t.s
	g := t.lib.forSession(s)
	var cs *compiledStep
	if g != nil {
		cs = g.steps[s.Step]
	}
	if cs == nil || cs.Kind == KindCheck || cs.Kind == KindEnd {
		t.say("The guide was updated since we last talked and the question we stopped at no longer exists, so let's start again from the beginning.")
		return t.startOver(s.Guide)
	}
	t.g = g
	s.GuideVersion = g.Guide.Version
	choice := ""
	switch {
	case m.Choice == ChoiceResume || m.Choice == ChoiceStartOver:
		choice = m.Choice
	case m.Choice != "":
	default:
		if cmd, ok := answer.ParseCommand(norm); ok {
			switch cmd {
			case answer.Restart:
				choice = ChoiceStartOver
			case answer.Stop, answer.Help, answer.Status:
				s.Offer = ""
				return t.command(cmd, cs)
			}
		} else if first && answers(cs, s.GuideVersion, m, norm) {
			// Before the offer is shown, a valid answer to the question
			// we stopped at ("1", "yes", "3 GB") means resuming.
			choice = "answer"
		} else if id, ok := answer.MatchChoice(norm, resumeOptions); ok && (!first || !isNumber(norm)) {
			// Before the offer is shown, a bare number ("2", meaning
			// 2 GB) is not an answer to it: show the offer.
			choice = id
		}
	}
	if choice == "" && m.Choice != "" && answers(cs, s.GuideVersion, m, norm) {
		choice = "answer" // a click on the question we stopped at
	}
	switch choice {
	case ChoiceStartOver:
		t.say("OK, starting over.")
		return t.startOver(s.Guide)
	case ChoiceResume:
		s.Offer = ""
		t.say("Welcome back! Let's pick up where we stopped.")
		return t.land()
	case "answer":
		s.Offer = ""
		t.say("Welcome back!")
		return t.answer(cs, m, norm)
	}
	t.out.Replies = append(t.out.Replies, t.offer(cs))
	return t.out, nil
}

// offer is the resume-or-start-over question.
func (t *turn) offer(cs *compiledStep) bot.Reply {
	return bot.Reply{
		Text: fmt.Sprintf("Welcome back! Last time we stopped at **%s** in **%s**. Shall we pick up there, or start over?", cs.title(), t.g.Guide.Title),
		Choices: []bot.Choice{
			{ID: ChoiceResume, Label: resumeOptions[0].Label},
			{ID: ChoiceStartOver, Label: resumeOptions[1].Label},
		},
	}
}

// isNumber reports whether norm is only digits.
func isNumber(norm string) bool {
	if norm == "" {
		return false
	}
	for i := 0; i < len(norm); i++ {
		if norm[i] < '0' || norm[i] > '9' {
			return false
		}
	}
	return true
}

// answers reports whether m is a valid answer to the question cs (of the
// session's guide version), without applying it.
func answers(cs *compiledStep, version string, m bot.Message, norm string) bool {
	if m.Choice != "" {
		if m.Step != "" && m.Step != cs.ID || m.GuideVersion != "" && m.GuideVersion != version {
			return false
		}
		switch cs.Kind {
		case KindAsk:
			return cs.hasChoice(m.Choice)
		case KindFix:
			return m.Choice == choiceFixed || m.Choice == choiceNotFixed
		case KindInput:
			return m.Choice == choiceHelp
		}
		return false
	}
	switch cs.Kind {
	case KindAsk:
		_, ok := answer.MatchChoice(norm, cs.options)
		return ok
	case KindInput:
		_, _, err := parseInput(cs.Input, m.Text)
		return err == nil
	case KindFix:
		_, ok := answer.YesNo(norm)
		return ok
	}
	return false
}

// startOver resets the conversation and starts guide (the default when
// "" or no longer loaded) afresh.
func (t *turn) startOver(guide string) (bot.Turn, error) {
	t.s.Reset(t.now)
	if t.lib.guides[guide] == nil {
		guide = ""
	}
	return t.start(bot.Message{Guide: guide}, "")
}

// start begins a conversation: picks the guide, jumps to a step that the
// opening words clearly match, and asks the first question.
func (t *turn) start(m bot.Message, norm string) (bot.Turn, error) {
	s := t.s
	lib := t.lib
	t.g = lib.def
	jump := ""
	switch {
	case m.Guide != "" && lib.guides[m.Guide] == nil:
		t.say(fmt.Sprintf("I don't have a guide called %q. I have: %s. Let's use %s.",
			clip(m.Guide, 64), strings.Join(lib.ids(), ", "), lib.def.Guide.ID))
	case m.Guide != "":
		t.g = lib.guides[m.Guide]
		_, jump = lib.match(norm, t.g)
	default:
		if g, step := lib.match(norm, nil); g != nil {
			t.g, jump = g, step
		}
	}
	g := t.g
	s.Guide, s.GuideVersion, s.Step = g.Guide.ID, g.Guide.Version, g.Guide.Start
	if s.Started.IsZero() {
		s.Started = t.now
	}
	t.say(g.render(g.Guide.Intro, g.intro, s))
	if cmd, ok := answer.ParseCommand(norm); ok && cmd == answer.Help {
		t.say(g.helpText())
	}
	if jump != "" && jump != g.Guide.Start {
		s.History = append(s.History, bot.Frame{Step: g.Guide.Start})
		s.Step = jump
		t.say(fmt.Sprintf("From what you describe, let's go straight to **%s**. (Say *back* to start from the first question instead.)", g.steps[jump].title()))
	}
	return t.land()
}

// match finds the step a person's opening words clearly point at: the
// best-scoring keyword match, if no other step scores as high. only limits
// the search to one guide.
func (l *library) match(norm string, only *Compiled) (*Compiled, string) {
	if norm == "" {
		return nil, ""
	}
	var bestG *Compiled
	best, bestScore, tie := "", 0, false
	scores := map[string]int{}
	for _, g := range l.order {
		if only != nil && g != only {
			continue
		}
		clear(scores)
		for _, k := range g.keywords {
			if containsPhrase(norm, k.phrase) {
				scores[k.step] += k.weight
			}
		}
		for step, score := range scores {
			switch {
			case score > bestScore:
				bestG, best, bestScore, tie = g, step, score, false
			case score == bestScore && (g != bestG || step != best):
				tie = true
			}
		}
	}
	if tie || bestScore == 0 {
		return nil, ""
	}
	return bestG, best
}

// containsPhrase reports whether phrase occurs in text at word boundaries.
func containsPhrase(text, phrase string) bool {
	for i := 0; i <= len(text)-len(phrase); {
		j := strings.Index(text[i:], phrase)
		if j < 0 {
			return false
		}
		at := i + j
		end := at + len(phrase)
		if (at == 0 || !isWordByte(text[at-1])) && (end == len(text) || !isWordByte(text[end])) {
			return true
		}
		i = at + 1
	}
	return false
}

func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b >= 0x80
}

// command carries out help, back, restart, skip, stop and status.
func (t *turn) command(cmd answer.Command, cs *compiledStep) (bot.Turn, error) {
	s, g := t.s, t.g
	switch cmd {
	case answer.Help:
		t.say(g.helpText())
		return t.land()
	case answer.Status:
		t.say(g.status(s))
		return t.land()
	case answer.Back:
		step, ok := s.Back()
		// Checks ask nothing: going back passes over them (and forgets
		// their verdicts) to the question before.
		for ok && g.steps[step] != nil && g.steps[step].Kind == KindCheck {
			step, ok = s.Back()
		}
		if !ok || g.steps[step] == nil {
			t.say("We're at the first question, so there's nothing to go back to.")
			return t.land()
		}
		s.Step = step
		t.say("OK, let's go back.")
		return t.land()
	case answer.Restart:
		if len(s.History) > 0 {
			t.out.Outcomes = append(t.out.Outcomes, t.r.Outcome(s, bot.OutcomeRestarted, t.now))
		}
		id := g.Guide.ID
		s.Reset(t.now)
		t.say("OK, starting over.")
		return t.start(bot.Message{Guide: id}, "")
	case answer.Stop:
		s.Done, s.Outcome = true, bot.OutcomeStopped
		t.out.Outcomes = append(t.out.Outcomes, t.r.Outcome(s, bot.OutcomeStopped, t.now))
		t.out.Replies = append(t.out.Replies, bot.Reply{
			Text: "OK, I've stopped. Send me a message whenever you want to start again.",
			Done: true,
		})
		return t.out, nil
	case answer.Skip:
		if cs.Kind == KindAsk && cs.Skip == "" {
			t.say("This question can't be skipped, because what comes next depends on it.")
			return t.land()
		}
		s.History = append(s.History, bot.Frame{Step: s.Step})
		t.say("OK, skipping that.")
		return t.advance(eventSkip)
	}
	return t.out, fmt.Errorf("unhandled command %q", cmd)
}

// answer applies a typed or clicked answer to the current step.
func (t *turn) answer(cs *compiledStep, m bot.Message, norm string) (bot.Turn, error) {
	s := t.s
	switch cs.Kind {
	case KindAsk:
		id, ok := m.Choice, false
		if id != "" {
			ok = cs.hasChoice(id)
		} else {
			id, ok = answer.MatchChoice(norm, cs.options)
		}
		if !ok {
			return t.reask(cs, norm, "Sorry, I didn't catch that. Pick one of the options: tap it, or type its number or its words.")
		}
		s.SetAnswer(cs.ID, cs.save, id)
		return t.advance(id)

	case KindInput:
		if m.Choice != "" && m.Choice != choiceHelp {
			return t.reask(cs, "", "That button isn't part of this question.")
		}
		if m.Choice == choiceHelp || answer.Unsure(norm) {
			return t.reask(cs, "?", "")
		}
		value, shown, err := parseInput(cs.Input, m.Text)
		if err != nil {
			return t.reask(cs, "", inputError(cs, err))
		}
		s.SetAnswer(cs.ID, cs.save, value)
		t.say("Got it: " + shown + ".")
		return t.advance(eventAnswered)

	case KindFix:
		fixed, ok := false, false
		switch m.Choice {
		case choiceFixed:
			fixed, ok = true, true
		case choiceNotFixed:
			fixed, ok = false, true
		case "":
			fixed, ok = answer.YesNo(norm)
		}
		if !ok {
			return t.reask(cs, norm, "When you've tried the steps above, tell me: did the backup work? Answer yes or no.")
		}
		if fixed {
			s.SetAnswer(cs.ID, cs.save, "yes")
			return t.advance(eventFixed)
		}
		s.SetAnswer(cs.ID, cs.save, "no")
		t.say("OK, that didn't do it. Let's try the next thing.")
		return t.advance(eventNotFixed)
	}
	return t.out, fmt.Errorf("step %q of kind %q cannot take an answer", cs.ID, cs.Kind)
}

// reask explains what went wrong and asks the same question again. When
// the person is unsure and the step has help, the help is said instead.
func (t *turn) reask(cs *compiledStep, norm, why string) (bot.Turn, error) {
	if cs.Help != "" && (norm == "?" || answer.Unsure(norm)) {
		t.say(t.g.render(cs.Help, cs.help, t.s))
		t.out.Replies = append(t.out.Replies, t.g.question(cs, t.s))
		return t.out, nil
	}
	if why == "" {
		why = "Here's the question again."
	}
	t.say(why)
	t.out.Replies = append(t.out.Replies, t.g.question(cs, t.s))
	return t.out, nil
}

// advance fires event on the state machine from the current step, runs any
// checks it lands on, and asks the next question (or ends).
func (t *turn) advance(event string) (bot.Turn, error) {
	g, s := t.g, t.s
	f := g.fsmPool.Get().(*fsm.FSM)
	defer g.fsmPool.Put(f)
	fire := func(ev string) error {
		f.SetState(s.Step)
		if err := f.Event(context.Background(), ev); err != nil {
			var same fsm.NoTransitionError
			if !errors.As(err, &same) {
				return fmt.Errorf("event %q at step %q: %w", ev, s.Step, err)
			}
		}
		s.Step = f.Current()
		return nil
	}
	if err := fire(event); err != nil {
		return t.out, err
	}
	// Checks run without asking anything; the linter rules out loops of
	// checks, and the bound is a second guard.
	for i := 0; i <= len(g.steps); i++ {
		cs := g.steps[s.Step]
		if cs.Kind != KindCheck {
			return t.land()
		}
		ev := g.evaluate(cs, s)
		// Recorded with a history frame, so that "back" past the check
		// also forgets its verdict.
		s.SetAnswer(cs.ID, checkKey(cs.ID), ev)
		switch ev {
		case eventTrue:
			t.say(g.render(cs.SayThen, cs.sayThen, s))
		case eventFalse:
			t.say(g.render(cs.SayElse, cs.sayElse, s))
		}
		if err := fire(ev); err != nil {
			return t.out, err
		}
	}
	return t.out, fmt.Errorf("checks did not settle after %d steps", len(g.steps))
}

// checkKey is where a check's verdict is kept among the answers, for
// summaries; "@" keeps it apart from variables conditions can read.
func checkKey(step string) string { return "@" + step }

// land says the current step: its question, or its end.
func (t *turn) land() (bot.Turn, error) {
	g, s := t.g, t.s
	cs := g.steps[s.Step]
	if cs.Kind == KindEnd {
		s.Done, s.Outcome = true, cs.Outcome
		t.out.Outcomes = append(t.out.Outcomes, t.r.Outcome(s, cs.Outcome, t.now))
		t.out.Replies = append(t.out.Replies, bot.Reply{Text: g.render(cs.Text, cs.text, s), Done: true})
		if cs.Outcome == bot.OutcomeEscalated {
			t.out.Handoff = &bot.Handoff{
				Key:        s.Key,
				Address:    s.Address,
				Guide:      g.Guide.ID,
				GuideTitle: g.Guide.Title,
				Summary:    g.staffSummary(s),
				Started:    s.Started,
				At:         t.now,
			}
		}
		return t.out, nil
	}
	t.out.Replies = append(t.out.Replies, g.question(cs, s))
	return t.out, nil
}

// Current implements bot.Flow.
func (r *Runner) Current(s *bot.Session) ([]bot.Reply, error) {
	g := r.lib.Load().forSession(s)
	if g == nil {
		return nil, fmt.Errorf("guide %q is not loaded", s.Guide)
	}
	cs := g.steps[s.Step]
	if cs == nil || cs.Kind == KindCheck || cs.Kind == KindEnd {
		return nil, fmt.Errorf("step %q is not a question in guide %s version %s", s.Step, g.Guide.ID, g.Guide.Version)
	}
	if s.Offer == offerResume {
		return []bot.Reply{(&turn{g: g}).offer(cs)}, nil
	}
	return []bot.Reply{g.question(cs, s)}, nil
}

// Outcome implements bot.Flow. A conversation that reached an end step is
// recorded at the last step the person answered (the fix that worked, or
// the last one tried); any other at the question left unanswered.
func (r *Runner) Outcome(s *bot.Session, kind string, at time.Time) bot.Outcome {
	step := s.Step
	g := r.lib.Load().forSession(s)
	if g != nil && len(s.History) > 0 {
		if cs := g.steps[step]; cs != nil && cs.Kind == KindEnd {
			for i := len(s.History) - 1; i >= 0; i-- {
				if f := g.steps[s.History[i].Step]; f != nil && f.Kind != KindCheck {
					step = s.History[i].Step
					break
				}
			}
		}
	}
	o := bot.Outcome{
		Key:          s.Key,
		Platform:     s.Address.Platform,
		Guide:        s.Guide,
		GuideVersion: s.GuideVersion,
		Kind:         kind,
		Step:         step,
		Started:      s.Started,
		Ended:        at,
	}
	if g != nil {
		o.Tried = g.tried(s)
	}
	return o
}

// tried lists the fix steps answered, in order, each once.
func (g *Compiled) tried(s *bot.Session) []string {
	var out []string
	for _, f := range s.History {
		if cs := g.steps[f.Step]; cs != nil && cs.Kind == KindFix && f.Var != "" {
			if !containsString(out, f.Step) {
				out = append(out, f.Step)
			}
		}
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (cs *compiledStep) hasChoice(id string) bool {
	for _, o := range cs.options {
		if o.ID == id {
			return true
		}
	}
	return false
}

func (cs *compiledStep) title() string {
	if cs.Title != "" {
		return cs.Title
	}
	return cs.ID
}

// question renders the reply that asks cs: its text with the choices or the
// kind of typed answer it expects.
func (g *Compiled) question(cs *compiledStep, s *bot.Session) bot.Reply {
	rep := bot.Reply{Text: g.render(cs.Text, cs.text, s)}
	switch cs.Kind {
	case KindAsk:
		rep.Choices = make([]bot.Choice, len(cs.Choices))
		for i, ch := range cs.Choices {
			rep.Choices[i] = bot.Choice{ID: ch.ID, Label: ch.Label}
		}
	case KindInput:
		rep.Input = cs.Input
		if cs.Help != "" {
			rep.Choices = []bot.Choice{{ID: choiceHelp, Label: "Where do I find it?"}}
		}
	case KindFix:
		rep.Text += "\n\nDid that fix it?"
		rep.Choices = []bot.Choice{{ID: choiceFixed, Label: "Yes, it works now"}, {ID: choiceNotFixed, Label: "No, still failing"}}
	}
	return rep
}

// parseInput reads a typed answer of kind; value is what is stored, shown
// what is echoed back.
func parseInput(kind, text string) (value, shown string, err error) {
	switch kind {
	case InputSize:
		b, err := answer.Size(text)
		if err != nil {
			return "", "", err
		}
		return strconv.FormatUint(b, 10), answer.FormatSize(b), nil
	case InputVersion:
		v, err := answer.Version(text)
		return v, v, err
	case InputNumber:
		n, err := answer.Number(text)
		if err != nil {
			return "", "", err
		}
		v := strconv.FormatFloat(n, 'f', -1, 64)
		return v, v, nil
	default:
		v := strings.TrimSpace(clip(cleanText(text), maxTextAnswer))
		if v == "" {
			return "", "", errors.New("empty answer")
		}
		return v, "“" + v + "”", nil
	}
}

// inputError explains a typed answer that could not be read, with an
// example of what works.
func inputError(cs *compiledStep, err error) string {
	ex := cs.Example
	var msg string
	switch cs.Input {
	case InputSize:
		if ex == "" {
			ex = "3.2 GB"
		}
		switch {
		case errors.Is(err, answer.ErrNoUnit):
			msg = fmt.Sprintf("Is that in GB or MB? Please include the unit, like “%s”.", ex)
		case errors.Is(err, answer.ErrAmbiguous):
			msg = fmt.Sprintf("I see more than one size there. Please send just one, like “%s”.", ex)
		default:
			msg = fmt.Sprintf("I couldn't read that as a size. Please type it like “%s” or “800 MB”.", ex)
		}
	case InputVersion:
		if ex == "" {
			ex = "17.4.1"
		}
		if errors.Is(err, answer.ErrAmbiguous) {
			msg = fmt.Sprintf("I see more than one version number there. Please send just one, like “%s”.", ex)
		} else {
			msg = fmt.Sprintf("I couldn't find a version number in that. Please type it like “%s”.", ex)
		}
	case InputNumber:
		if ex == "" {
			ex = "3"
		}
		msg = fmt.Sprintf("I couldn't read that as a number. Please type it like “%s”.", ex)
	default:
		msg = "Please type your answer."
	}
	if cs.Help != "" {
		msg += " If you're not sure where to find it, say “not sure”."
	}
	return msg
}

// evaluate runs a check's condition; a value it needs that nobody gave, or
// a value it cannot compare, makes the verdict unknown.
func (g *Compiled) evaluate(cs *compiledStep, s *bot.Session) string {
	for _, name := range cs.uses {
		if _, ok := s.Answers[name]; !ok {
			return eventUnknown
		}
	}
	env := make(map[string]any, len(g.values)+len(cs.uses))
	for k, v := range g.values {
		env[k] = v
	}
	for _, name := range cs.uses {
		raw := s.Answers[name]
		switch g.vars[name] {
		case InputSize, InputNumber:
			n, err := strconv.ParseFloat(raw, 64)
			if err != nil {
				return eventUnknown
			}
			env[name] = n
		default:
			env[name] = raw
		}
	}
	out, err := runProgram(cs, env)
	if err != nil {
		return eventUnknown
	}
	if out {
		return eventTrue
	}
	return eventFalse
}

// clip cuts s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// cleanText drops control and invisible formatting characters from text
// that will be stored and echoed.
func cleanText(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return -1
		case r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0xfeff:
			return -1
		}
		return r
	}, s)
}

// sortedKeys returns m's keys in order, for stable output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
