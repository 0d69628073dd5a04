package bot_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"troubleshooter/bot"
	"troubleshooter/bot/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) bot.Store { return bot.NewMemoryStore() })
}

func TestMemoryStoreClosedErrors(t *testing.T) {
	ctx := context.Background()
	m := bot.NewMemoryStore()
	s := &bot.Session{Key: "k"}
	if err := m.Save(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Load(ctx, "k"); !errors.Is(err, bot.ErrClosed) {
		t.Errorf("Load after Close = %v, want ErrClosed", err)
	}
	if err := m.Save(ctx, s, nil); !errors.Is(err, bot.ErrClosed) {
		t.Errorf("Save after Close = %v, want ErrClosed", err)
	}
	if err := m.Delete(ctx, "k"); !errors.Is(err, bot.ErrClosed) {
		t.Errorf("Delete after Close = %v, want ErrClosed", err)
	}
	if err := m.Outcomes(ctx, time.Time{}, func(bot.Outcome) error { return nil }); !errors.Is(err, bot.ErrClosed) {
		t.Errorf("Outcomes after Close = %v, want ErrClosed", err)
	}
	if err := m.Close(); !errors.Is(err, bot.ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
}

func TestMemoryStoreRejectsBadSessions(t *testing.T) {
	m := bot.NewMemoryStore()
	defer m.Close()
	if err := m.Save(context.Background(), nil, nil); err == nil {
		t.Error("Save(nil) = nil, want an error")
	}
	if err := m.Save(context.Background(), &bot.Session{}, nil); err == nil {
		t.Error("Save of a session with no key = nil, want an error")
	}
}

// TestCloneSessionCoversFields fails when Session (or a struct it embeds by
// value) gains a field that shares memory when copied, which MemoryStore's
// deep copies (cloneSession, loadTurn) would then have to handle.
func TestCloneSessionCoversFields(t *testing.T) {
	handled := map[string]bool{"Session.Answers": true, "Session.History": true, "Session.Events": true, "Session.PendingHandoff": true,
		"Session.Outbox": true, "Session.Outbox[].Replies": true, "Session.Outbox[].Replies[].Choices": true}
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			name := prefix + "." + f.Name
			switch f.Type.Kind() {
			case reflect.Map, reflect.Slice, reflect.Pointer, reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
				if !handled[name] {
					t.Errorf("%s (%s) is not deep-copied by cloneSession (and loadTurn) in memory.go", name, f.Type)
				}
				if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct {
					walk(name+"[]", f.Type.Elem())
				}
			case reflect.Struct:
				if f.Type == reflect.TypeFor[time.Time]() {
					continue // immutable value; its *Location is shared on purpose
				}
				walk(name, f.Type)
			}
		}
	}
	walk("Session", reflect.TypeFor[bot.Session]())
}

// BenchmarkMemorySave measures one message's store work: Load, change, Save.
func BenchmarkMemorySave(b *testing.B) {
	m := bot.NewMemoryStore()
	defer m.Close()
	storetest.BenchSave(b, m)
}

// BenchmarkMemorySaveParallel is BenchmarkMemorySave with one key per
// goroutine, as with many concurrent conversations.
func BenchmarkMemorySaveParallel(b *testing.B) {
	m := bot.NewMemoryStore()
	defer m.Close()
	storetest.BenchSaveParallel(b, m, 1)
}
