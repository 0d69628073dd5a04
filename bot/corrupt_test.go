package bot

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// corruptStore serves one unreadable record for a key until it is deleted.
type corruptStore struct {
	Store
	corrupt map[string]bool
}

func (c *corruptStore) Load(ctx context.Context, key string) (*Session, error) {
	if c.corrupt[key] {
		return nil, fmt.Errorf("test store: session %s: %w: bad bytes", LogKey(key), ErrCorrupt)
	}
	return c.Store.Load(ctx, key)
}

func (c *corruptStore) Delete(ctx context.Context, key string) error {
	delete(c.corrupt, key)
	return c.Store.Delete(ctx, key)
}

// A single corrupt session record does not trap its person: the message
// gets the notice and a fresh conversation, and the next one carries on.
func TestCorruptSessionIsResetNotATrap(t *testing.T) {
	st := &corruptStore{Store: NewMemoryStore(), corrupt: map[string]bool{alice.Key(): true}}
	e := NewEngine(st, &countingFlow{}, EngineConfig{}, nil)
	ctx := context.Background()
	res, err := e.Handle(ctx, Message{Address: alice, ID: "1", Text: "hello"})
	if err != nil {
		t.Fatalf("a corrupt record failed the turn: %v", err)
	}
	if len(res.Replies) < 2 || res.Replies[0].Text != CorruptNotice || res.Replies[1].Text != "count 1" {
		t.Fatalf("replies %+v; want the notice, then a fresh conversation", res.Replies)
	}
	res, err = e.Handle(ctx, Message{Address: alice, ID: "2", Text: "again"})
	if err != nil || len(res.Replies) == 0 || res.Replies[0].Text != "count 2" {
		t.Errorf("the next message: %+v, %v; want the conversation to carry on", res, err)
	}
	if _, err := UnmarshalSession([]byte("{not json")); !errors.Is(err, ErrCorrupt) {
		t.Errorf("UnmarshalSession of garbage = %v; want ErrCorrupt", err)
	}
}
