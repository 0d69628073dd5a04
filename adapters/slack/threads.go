package slack

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/slack-go/slack"

	"troubleshooter/bot"
)

// following reports whether a thread reply by addr.User belongs to their
// conversation: the handler knows one in progress, or the conversation
// ended in a way that still takes replies (handed to staff, closed by
// staff, expired: see Adapter.waiting), or (without a Resumer) this
// process saw, or the thread's first message shows, that addr.User started
// the thread. Replies by anyone else (staff talking with the person, say)
// are not followed: they must not start conversations of their own.
func (a *Adapter) following(ctx context.Context, h bot.Handler, addr bot.Address) bool {
	if a.waiting.has(addr.Key()) {
		return true
	}
	if r, ok := resumer(h); ok {
		res, err := r.Current(ctx, addr)
		if err == nil {
			return len(res.Replies) > 0 || res.Listening
		}
		a.log.Warn("could not look up a conversation", "err", bot.RedactURL(err))
	}
	owner, err := a.threadOwner(ctx, addr.Channel, addr.Thread)
	return err == nil && owner == addr.User
}

// inProgress reports whether the handler knows a conversation in progress
// at addr; false without a Resumer or when the lookup fails.
func (a *Adapter) inProgress(ctx context.Context, h bot.Handler, addr bot.Address) bool {
	r, ok := resumer(h)
	if !ok {
		return false
	}
	res, err := r.Current(ctx, addr)
	return err == nil && len(res.Replies) > 0
}

// errNoThread is threadOwner's error for a thread whose first message
// could not be read.
var errNoThread = errors.New("thread's first message not found")

// threadOwner returns who started the conversation in a channel thread:
// from memory, or else from the thread's first message (one
// conversations.replies call): a slash command's root post by the bot,
// whose block id names the person (or, posted by older versions,
// "<@U> asked for help"), or a message by U that mentions the bot. It returns
// "" and no error when the thread is not a conversation's, and an error
// when it could not find out (the call failed, the thread was not found):
// callers must then not guess, and nothing is remembered.
func (a *Adapter) threadOwner(ctx context.Context, channel, thread string) (string, error) {
	if owner := a.threads.get(channel, thread); owner != "" {
		return owner, nil
	}
	if a.notConvo.has(channel + "/" + thread) {
		return "", nil
	}
	botUser, botID := a.self()
	var msgs []slack.Message
	err := a.call(ctx, channel, "conversations.replies", func(ctx context.Context) error {
		var err error
		msgs, _, _, err = a.api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
			ChannelID: channel, Timestamp: thread, Limit: 1,
		})
		return err
	})
	if err != nil {
		return "", err
	}
	if len(msgs) == 0 || msgs[0].Timestamp != thread {
		return "", errNoThread
	}
	owner := rootOwner(msgs[0].Msg, botUser, botID)
	if owner != "" {
		a.threads.set(channel, thread, owner)
	} else {
		// Remembered, so that chatter in other threads (staff talking
		// under a handoff post, say) costs one lookup per thread, not one
		// per message. A conversation started there later by a mention
		// is in a.threads, which is asked first.
		a.notConvo.add(channel + "/" + thread)
	}
	return owner, nil
}

// rootOwner reads who started a conversation from its thread's first
// message, or "".
func rootOwner(root slack.Msg, botUser, botID string) string {
	fromBot := (botID != "" && root.BotID == botID) || (botUser != "" && root.User == botUser)
	if fromBot {
		for _, b := range root.Blocks.BlockSet {
			if id, ok := strings.CutPrefix(b.ID(), askerBlockPrefix); ok && id != "" && !strings.ContainsAny(id, "<>|") {
				return id
			}
		}
		// Root posts before issue 16 mentioned the person.
		if rest, ok := strings.CutPrefix(root.Text, "<@"); ok {
			if end := strings.Index(rest, "> asked for help"); end > 0 && !strings.ContainsAny(rest[:end], "<>|") {
				return rest[:end]
			}
		}
		return ""
	}
	if root.User != "" && root.BotID == "" && botUser != "" && strings.Contains(root.Text, "<@"+botUser+">") {
		return root.User
	}
	return ""
}

// threadOwners remembers who started the conversation in recent threads
// (bounded, oldest forgotten first); it only decides who may talk in a
// thread between restarts. The engine's store stays the source of truth.
type threadOwners struct {
	mu    sync.Mutex
	max   int
	owner map[string]string
	order []string
}

func newThreadOwners(n int) *threadOwners {
	return &threadOwners{max: n, owner: map[string]string{}}
}

func (t *threadOwners) set(channel, thread, user string) {
	k := channel + "/" + thread
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.owner[k]; !ok {
		t.order = append(t.order, k)
		if len(t.order) > t.max {
			delete(t.owner, t.order[0])
			t.order = t.order[1:]
		}
	}
	t.owner[k] = user
}

func (t *threadOwners) get(channel, thread string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.owner[channel+"/"+thread]
}

// keySet is a bounded set of conversation keys, oldest forgotten first;
// safe for concurrent use.
type keySet struct {
	mu    sync.Mutex
	max   int
	keys  map[string]bool
	order []string
}

func newKeySet(n int) *keySet { return &keySet{max: n, keys: map[string]bool{}} }

func (k *keySet) add(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.keys[key] {
		return
	}
	k.keys[key] = true
	k.order = append(k.order, key)
	if len(k.order) > k.max {
		delete(k.keys, k.order[0])
		k.order = k.order[1:]
	}
}

// remove forgets key. (Its place in the eviction order stays, so a key
// removed and added again may be forgotten early: harmless for a cache.)
func (k *keySet) remove(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.keys, key)
}

func (k *keySet) has(key string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.keys[key]
}

// postedQuestion is the last question with buttons posted in a
// conversation: its ts and what it showed.
type postedQuestion struct {
	ts  string
	msg message
}

// questions remembers the last question posted per conversation (bounded,
// oldest forgotten first), so that a typed answer can take the buttons off
// the question it answered. Only this process's posts are known: after a
// restart, a question posted before it keeps its buttons (a click on them
// is then stale and answered privately). Safe for concurrent use.
type questions struct {
	mu    sync.Mutex
	max   int
	last  map[string]postedQuestion
	order []string
}

func newQuestions(n int) *questions {
	return &questions{max: n, last: map[string]postedQuestion{}}
}

// set records q as key's last question.
func (s *questions) set(key string, q postedQuestion) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.last[key]; !ok {
		s.order = append(s.order, key)
		for len(s.order) > s.max {
			delete(s.last, s.order[0])
			s.order = s.order[1:]
		}
	}
	s.last[key] = q
}

// takeIf returns key's last question and forgets it, when there is one
// and ok says so (an answer the question cannot take, say, leaves it).
func (s *questions) takeIf(key string, ok func(postedQuestion) bool) (postedQuestion, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, found := s.last[key]
	if !found || !ok(q) {
		return postedQuestion{}, false
	}
	delete(s.last, key)
	return q, true
}

// forget drops key's last question if it is the message at ts (answered by
// a click).
func (s *questions) forget(key, ts string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q, ok := s.last[key]; ok && q.ts == ts {
		delete(s.last, key)
	}
}
