// Package sim is a simulated-user harness that measures how well the bot
// diagnoses with the WhatsApp → iCloud guide (flows/whatsapp-icloud.yaml).
//
// Each simulated user has one known root cause and a consistent phone
// state from which every answer follows: WhatsApp's iCloud switch (on, off,
// not in the list), what Back Up Now does (fails, never finishes, only
// automatic backups fail), the backup's size, the free iCloud space, whether
// the iPhone has twice the backup free, the iOS and WhatsApp versions
// (WhatsApp's typed as 2.YY.NN.NN or YY.NN.NN), Apple's status page (green
// or not: a user with an outage says "it's green now" when asked again after
// waiting) and whether videos are included. Everything that is not the
// cause is healthy: switch on, at least 2.5× the backup free in iCloud,
// enough room on the phone, the guide's current versions, status green,
// videos on or off at random. Only the right fix works ("yes, it works
// now"); every other fix gets "no".
//
// Users talk to the real engine (bot.Engine over bot.NewMemoryStore and a
// flows.Runner) through the console adapter's `chat --json` contract, one
// line in and one JSON line out, and decide each answer from the reply's
// step and choices. About 40% open with a message naming their symptom;
// the rest with a generic one ("hi" gets the guide menu, where they pick
// the WhatsApp guide). Answers are clicked ({"choice": id}), typed in words
// ("it's off", "about 5gb", "I'm on 17.4") or typed as the option's number;
// now and then a user first says "not sure" and answers when asked again.
// When the bot asks the same step again because it did not take an answer,
// the user taps the button (or types the plainest form), as a person told
// so would. Every run is reproducible from its seed (math/rand/v2).
//
// # Scenario mix (Options.Mix; the default)
//
// The weights are assumptions about how often each cause reaches the bot,
// not measurements; users are allotted to causes in these proportions
// (largest remainder) and shuffled.
//
//	cause           weight  phone state                       right end
//	switch_off          12  WhatsApp's iCloud switch off      fix_icloud_access
//	missing              6  WhatsApp not in the list          fix_icloud_signin
//	auto_backup         10  only automatic backups fail       fix_auto_backup
//	icloud_full         22  free iCloud < 2× backup           fix_storage / fix_storage_unknown
//	phone_full           8  free iPhone space < 2× backup     fix_phone_storage / fix_phone_storage_unknown
//	outdated            10  iOS or WhatsApp (or both) old     fix_update
//	app_swiped           8  stuck: app swiped away (80%)      fix_manual / fix_manual_first
//	outage               4  Apple's status not green          fix_backup_after_outage
//	needs_restart        8  hidden; fails or never finishes  fix_restart
//	videos_too_big       4  videos included                   fix_videos
//	corrupt_backup       5  hidden; fails or never finishes  fix_delete_backup
//	unfixable            3  hidden; nothing works             escalation after every fix
//
// # What is measured
//
// A user reaches the right fix when a reply's step is one of the cause's
// right fix steps; an unfixable user when the conversation is escalated
// after the fixes no question can rule out (the manual backup, the restart,
// deleting the iCloud backup, and leaving videos out when videos are
// included) were all offered. Answers are the messages sent after the first
// one, up to the reply that offers the right fix; wrong fixes are the other
// fix steps answered "no" before it. Minutes are 0.5 per answer plus 3 per
// wrong fix (the right fix itself is not counted). Medians and means of
// answers, wrong fixes and minutes are over the users who reached the right
// fix; the others are counted as misses and listed. Each conversation is
// bounded by Options.MaxMessages, the whole run by Options.Timeout.
package sim

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"troubleshooter/adapters/console"
	"troubleshooter/bot"
	"troubleshooter/flows"
)

// Targets the bot should meet.
const (
	TargetRightShare    = 0.95
	TargetMedianMinutes = 3.0
	TargetMeanMinutes   = 4.3
)

// Cost model: minutes per answer and per wrong fix tried.
const (
	MinutesPerAnswer   = 0.5
	MinutesPerWrongFix = 3.0
)

// Options configure a Run. Zero fields take the documented defaults.
type Options struct {
	// Users is how many simulated users talk to the bot. Default 1000.
	Users int
	// Seed makes the run reproducible: the same seed, options and guide
	// give the same report.
	Seed uint64
	// Mix weighs the root causes (keys from Causes); nil means DefaultMix.
	// Causes left out, or weighed 0, get no users.
	Mix map[string]int
	// MaxMessages bounds each conversation, first message included.
	// Default 60.
	MaxMessages int
	// Timeout bounds the whole run. Default 2 minutes.
	Timeout time.Duration
	// Runner is the guides to talk to; nil loads the built-in guides as
	// `troubleshooter chat` does with no guide files configured.
	Runner *flows.Runner
	// Workers is how many conversations run at once. Default
	// min(GOMAXPROCS, 4). The report does not depend on it.
	Workers int
	// Transcripts, when set, receives every conversation after the run,
	// in user order: the user's state, each line sent and the step and
	// texts of each reply.
	Transcripts io.Writer
}

// Figures summarize a group of users.
type Figures struct {
	Users int `json:"users"`
	// Right is how many reached the right fix; RightShare is Right/Users.
	Right      int     `json:"right"`
	RightShare float64 `json:"right_share"`
	// Answers before the right fix, wrong fixes tried before it, and the
	// minutes they cost, over the users who reached it.
	MedianAnswers    float64 `json:"median_answers"`
	MeanAnswers      float64 `json:"mean_answers"`
	MedianWrongFixes float64 `json:"median_wrong_fixes"`
	MeanWrongFixes   float64 `json:"mean_wrong_fixes"`
	MedianMinutes    float64 `json:"median_minutes"`
	MeanMinutes      float64 `json:"mean_minutes"`
	// Reasks counts answers the bot did not take (it asked the same step
	// again), over all users of the group.
	Reasks int `json:"reasks"`
}

// CauseFigures are the figures of the users with one root cause, with the
// commonest path to the right fix.
type CauseFigures struct {
	Cause string `json:"cause"`
	Figures
	// TopPath is the commonest sequence of steps asked before the right
	// fix (wrong fixes marked with "✗"), and TopPathShare the share of the
	// cause's users who took it.
	TopPath      string  `json:"top_path"`
	TopPathShare float64 `json:"top_path_share"`
	// Cost is the cause's share of all minutes spent by users who reached
	// their right fix.
	Cost float64 `json:"cost_share"`
}

// Misread is a typed answer the bot asked again after.
type Misread struct {
	Step  string `json:"step"`
	Text  string `json:"text"`
	Count int    `json:"count"`
}

// Miss is a user who never reached the right fix.
type Miss struct {
	User    int    `json:"user"`
	Cause   string `json:"cause"`
	First   string `json:"first"`
	Path    string `json:"path"`
	Outcome string `json:"outcome"`
}

// Report is the result of a Run.
type Report struct {
	Seed  uint64         `json:"seed"`
	Guide string         `json:"guide"`
	Mix   map[string]int `json:"mix"`
	Figures
	// SpecificFirst is the share of users whose first message named their
	// symptom.
	SpecificFirst float64        `json:"specific_first"`
	ByCause       []CauseFigures `json:"by_cause"`
	// Misreads are the typed answers the bot did not take, commonest
	// first (at most 15).
	Misreads []Misread `json:"misreads"`
	// Misses are users who never reached the right fix (at most 20 are
	// listed; Figures has the count).
	Misses []Miss `json:"misses"`
	// Errors counts output lines with an "error" field; UnknownSteps
	// counts steps the user model does not know (by step).
	Errors       int            `json:"errors"`
	UnknownSteps map[string]int `json:"unknown_steps"`
	// Messages is every message sent, first ones included.
	Messages int           `json:"messages"`
	Elapsed  time.Duration `json:"elapsed_ns"`
}

// MeetsTargets reports whether the run meets the targets: right share,
// median minutes and mean minutes.
func (r Report) MeetsTargets() bool {
	return r.RightShare >= TargetRightShare && r.MedianMinutes <= TargetMedianMinutes && r.MeanMinutes <= TargetMeanMinutes
}

// outLine is one output line of the JSON interface.
type outLine struct {
	Replies []struct {
		Text    string       `json:"text"`
		Choices []bot.Choice `json:"choices"`
		Input   string       `json:"input"`
	} `json:"replies"`
	Step    string `json:"step"`
	Done    bool   `json:"done"`
	Outcome string `json:"outcome"`
	Error   string `json:"error"`
}

// lastReply is the reply the console maps typed numbers against.
func (o *outLine) lastReply() *bot.Reply {
	if len(o.Replies) == 0 {
		return nil
	}
	l := o.Replies[len(o.Replies)-1]
	return &bot.Reply{Text: l.Text, Choices: l.Choices, Input: l.Input}
}

// result is one conversation's outcome.
type result struct {
	cause    string
	first    string
	specific bool
	right    bool
	answers  int
	wrong    int
	path     []string
	outcome  string
	reasks   int
	misreads []Misread
	errors   int
	unknown  []string
	messages int
	// transcript is kept when Options.Transcripts is set.
	transcript []string
}

func (r result) minutes() float64 {
	return MinutesPerAnswer*float64(r.answers) + MinutesPerWrongFix*float64(r.wrong)
}

// guideInfo is what the harness needs to know about the guide.
type guideInfo struct {
	fixes map[string]bool
	cur   currentVersions
}

// Run simulates opts.Users users talking to the bot and measures how
// quickly they reach the fix that solves their problem. It blocks until
// every conversation has ended or hit its bound; it returns an error when
// the options are invalid, the guides cannot be loaded, the guide lacks a
// right-fix step, or ctx or the run's timeout ends first.
func Run(ctx context.Context, opts Options) (Report, error) {
	start := time.Now()
	opts, err := opts.withDefaults()
	if err != nil {
		return Report{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	runner := opts.Runner
	if runner == nil {
		set, err := flows.LoadSet(nil, nil, false)
		if err != nil {
			return Report{}, fmt.Errorf("sim: load guides: %w", err)
		}
		if runner, err = flows.NewRunner(set.Guides, ""); err != nil {
			return Report{}, fmt.Errorf("sim: %w", err)
		}
	}
	info, err := inspect(runner, opts.Mix)
	if err != nil {
		return Report{}, err
	}
	store := bot.NewMemoryStore()
	defer store.Close()
	engine := bot.NewEngine(store, runner, bot.EngineConfig{}, nil)

	causes := allot(opts.Users, opts.Mix, rand.New(rand.NewPCG(opts.Seed, 0x5eed)))
	results := make([]result, opts.Users)
	jobs := make(chan int)
	var wg sync.WaitGroup
	errs := make([]error, opts.Workers)
	for w := range opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				r := rand.New(rand.NewPCG(opts.Seed, uint64(i)+1))
				u := newUser(newState(causes[i], info.cur, r), r)
				res, err := converse(ctx, engine, fmt.Sprintf("sim-%d-%d", opts.Seed, i), u, info, opts.MaxMessages, opts.Transcripts != nil)
				if err != nil && errs[w] == nil {
					errs[w] = err
				}
				results[i] = res
			}
		}()
	}
feed:
	for i := range opts.Users {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Report{}, fmt.Errorf("sim: run did not finish: %w", err)
	}
	if err := errors.Join(errs...); err != nil {
		return Report{}, err
	}
	rep := summarize(results, opts)
	rep.Elapsed = time.Since(start)
	if opts.Transcripts != nil {
		for i, r := range results {
			if _, err := fmt.Fprintf(opts.Transcripts, "── user %d: %s\n%s\n", i, r.cause, strings.Join(r.transcript, "\n")); err != nil {
				return rep, fmt.Errorf("sim: write transcripts: %w", err)
			}
		}
	}
	return rep, nil
}

func (o Options) withDefaults() (Options, error) {
	if o.Users == 0 {
		o.Users = 1000
	}
	if o.Users < 0 {
		return o, fmt.Errorf("sim: users must be positive, not %d", o.Users)
	}
	if o.Mix == nil {
		o.Mix = DefaultMix
	}
	total := 0
	for c, w := range o.Mix {
		if _, ok := rightFixes[c]; !ok {
			return o, fmt.Errorf("sim: unknown cause %q in the mix (causes: %s)", c, strings.Join(Causes, ", "))
		}
		if w < 0 {
			return o, fmt.Errorf("sim: cause %q has a negative weight", c)
		}
		total += w
	}
	if total == 0 {
		return o, errors.New("sim: the mix weighs every cause 0")
	}
	if o.MaxMessages <= 0 {
		o.MaxMessages = 60
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.Workers <= 0 {
		o.Workers = min(runtime.GOMAXPROCS(0), 4)
	}
	return o, nil
}

// inspect checks that the guide has the steps the mix's causes need and
// reads its fix steps and current versions.
func inspect(runner *flows.Runner, mix map[string]int) (guideInfo, error) {
	g := runner.Guide(GuideID)
	if g == nil {
		return guideInfo{}, fmt.Errorf("sim: guide %q is not loaded (loaded: %s)", GuideID, strings.Join(runner.IDs(), ", "))
	}
	info := guideInfo{fixes: map[string]bool{}, cur: currentVersions{IOS: "26.1", WhatsApp: "2.25.33.75"}}
	steps := map[string]bool{}
	for _, st := range g.Guide.Steps {
		steps[st.ID] = true
		if st.Kind == flows.KindFix {
			info.fixes[st.ID] = true
		}
	}
	for c, w := range mix {
		if w == 0 {
			continue
		}
		// The first right fix must exist; the others are alternatives
		// (the same fix offered on another path) a guide may lack.
		if fs := rightFixes[c]; len(fs) > 0 && !info.fixes[fs[0]] {
			return guideInfo{}, fmt.Errorf("sim: guide %s has no fix step %q (the right fix of %s)", GuideID, fs[0], c)
		}
	}
	if v, ok := g.Guide.Values["current_ios"]; ok && v.Text != "" {
		info.cur.IOS = v.Text
	}
	if v, ok := g.Guide.Values["current_whatsapp"]; ok && v.Text != "" {
		info.cur.WhatsApp = v.Text
		if v.Prefix != "" && !strings.HasPrefix(v.Text, v.Prefix+".") {
			info.cur.WhatsApp = v.Prefix + "." + v.Text
		}
	}
	return info, nil
}

// allot gives each of n users a cause, in the mix's proportions (largest
// remainder), shuffled.
func allot(n int, mix map[string]int, r *rand.Rand) []string {
	total := 0
	for _, w := range mix {
		total += w
	}
	type share struct {
		cause string
		n     int
		rem   int
	}
	var shares []share
	given := 0
	for _, c := range Causes {
		w := mix[c]
		if w <= 0 {
			continue
		}
		s := share{cause: c, n: n * w / total, rem: n * w % total}
		given += s.n
		shares = append(shares, s)
	}
	order := slices.Clone(shares)
	slices.SortStableFunc(order, func(a, b share) int { return cmp.Compare(b.rem, a.rem) })
	extra := map[string]int{}
	for i := 0; given < n; i++ {
		extra[order[i%len(order)].cause]++
		given++
	}
	out := make([]string, 0, n)
	for _, s := range shares {
		for range s.n + extra[s.cause] {
			out = append(out, s.cause)
		}
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// converse runs one user's conversation through the console's JSON mode.
func converse(ctx context.Context, h bot.Handler, id string, u *user, info guideInfo, maxMessages int, keep bool) (result, error) {
	var buf bytes.Buffer
	c := console.New(strings.NewReader(""), &buf, console.Config{User: id, Mode: console.JSON}, nil)
	res := result{cause: u.st.Cause}
	if keep {
		res.transcript = append(res.transcript, fmt.Sprintf("   state %+v", u.st))
	}
	right := map[string]bool{}
	for _, f := range rightFixes[u.st.Cause] {
		right[f] = true
	}
	say := func(line string) (outLine, error) {
		buf.Reset()
		res.messages++
		if err := c.Say(ctx, h, line); err != nil {
			return outLine{}, fmt.Errorf("sim: user %s: %w", id, err)
		}
		var out outLine
		if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &out); err != nil {
			return outLine{}, fmt.Errorf("sim: user %s: bad output line %q: %w", id, buf.String(), err)
		}
		if out.Error != "" {
			res.errors++
		}
		if keep {
			res.transcript = append(res.transcript, "   > "+line)
			for _, r := range out.Replies {
				text := strings.ReplaceAll(r.Text, "\n", " ")
				if len(text) > 100 {
					text = text[:100] + "…"
				}
				ids := make([]string, len(r.Choices))
				for i, c := range r.Choices {
					ids[i] = c.ID
				}
				res.transcript = append(res.transcript, fmt.Sprintf("     [%s] %s %v", out.Step, text, ids))
			}
			if out.Done {
				res.transcript = append(res.transcript, "     (done: "+out.Outcome+")")
			}
		}
		return out, nil
	}

	line := u.first()
	res.first, res.specific = line, u.specific
	out, err := say(line)
	if err != nil {
		return res, err
	}
	answers := 0
	offered := map[string]bool{} // fix steps offered
	tried := map[string]bool{}   // wrong fixes answered no
	prevStep, prevLine, prevUnsure := "", "", false
	for {
		step := out.Step
		if !res.right {
			if len(res.path) == 0 || res.path[len(res.path)-1] != step && res.path[len(res.path)-1] != step+" ✗" {
				res.path = append(res.path, step)
			}
		}
		reasked := step == prevStep && !prevUnsure && !out.Done && step != "outage_wait"
		if reasked {
			res.reasks++
			if !strings.HasPrefix(prevLine, "{") {
				res.misreads = append(res.misreads, Misread{Step: step, Text: prevLine, Count: 1})
			}
		}
		isFix := info.fixes[step]
		if isFix {
			offered[step] = true
		}
		if !res.right && right[step] {
			res.right, res.answers, res.wrong = true, answers, len(tried)
		}
		if out.Done {
			res.outcome = out.Outcome
			if u.st.Cause == CauseUnfixable && out.Outcome == bot.OutcomeEscalated && triedEverything(offered, u.st) {
				res.right, res.answers, res.wrong = true, answers, len(offered)
			}
			break
		}
		if res.messages >= maxMessages || ctx.Err() != nil {
			res.outcome = "cut off"
			break
		}
		in := u.intentFor(step, right[step], isFix)
		if !in.known {
			res.unknown = append(res.unknown, step)
		}
		next, unsure := u.reply(step, out.lastReply(), in, isFix, reasked)
		if isFix && !right[step] && !res.right && in.choice == "not_fixed" {
			if !tried[step] {
				res.path[len(res.path)-1] = step + " ✗"
			}
			tried[step] = true
		}
		prevStep, prevLine, prevUnsure = step, next, unsure
		answers++
		if out, err = say(next); err != nil {
			return res, err
		}
	}
	if !res.right {
		res.answers, res.wrong = answers, len(tried)
	}
	return res, nil
}

// triedEverything reports whether the fixes no question can rule out were
// all offered to an unfixable user.
func triedEverything(offered map[string]bool, st state) bool {
	ok := (offered["fix_manual"] || offered["fix_manual_first"]) && offered["fix_restart"] && offered["fix_delete_backup"]
	if st.Videos {
		ok = ok && offered["fix_videos"]
	}
	return ok
}
