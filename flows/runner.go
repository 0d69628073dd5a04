package flows

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync/atomic"
	"time"

	"troubleshooter/bot"
	"troubleshooter/flows/intent"
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
	// explicitDefault: def was configured, so a greeting starts it even
	// when several guides are loaded (else they get the guide menu).
	explicitDefault bool
	// matcher routes first messages to a guide and a step, from every
	// guide's symptoms and its steps' keywords.
	matcher *intent.Matcher
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
	var entries []intent.Entry
	for _, g := range guides {
		entries = append(entries, g.phrases()...)
	}
	m, err := intent.New(entries)
	if err != nil {
		return nil, err
	}
	l.matcher = m
	if defaultID != "" {
		l.explicitDefault = true
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

// Current implements bot.Flow.
func (r *Runner) Current(s *bot.Session) ([]bot.Reply, error) {
	if s.Guide == "" && s.Offer == offerMenu {
		return []bot.Reply{menuReply(r.lib.Load(), false, "")}, nil
	}
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
