package boltstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"troubleshooter/bot"
)

// fillStore creates a store at path with n sessions (each with a due time
// and an outcome) and closes it.
func fillStore(t testing.TB, path string, n int) {
	t.Helper()
	ctx := context.Background()
	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		key := fmt.Sprintf("console:local:tty:%06d:person-%06d", i, i)
		s := &bot.Session{
			Key: key, Guide: "whatsapp-icloud", GuideVersion: "3", Step: "check-space",
			Answers: map[string]string{"free": "12 GB", "backup": "3.1 GB", "ios": "17.4"},
			Started: when, Updated: when, Due: when.Add(time.Duration(i) * time.Second),
		}
		out := []bot.Outcome{{Key: key, Platform: "console", Guide: "whatsapp-icloud", Kind: bot.OutcomeResolved,
			Step: "fix-space", Tried: []string{"fix-space"}, Started: when, Ended: when.Add(time.Duration(i) * time.Second)}}
		if err := st.Save(ctx, s, out); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// exercise runs every store operation against st; none may panic. It
// returns the first error seen.
func exercise(t *testing.T, st *Store, n int) (first error) {
	t.Helper()
	ctx := context.Background()
	note := func(err error) {
		if err != nil && first == nil && !errors.Is(err, bot.ErrNotFound) {
			first = err
		}
	}
	for i := 0; i < n; i += 41 {
		key := fmt.Sprintf("console:local:tty:%06d:person-%06d", i, i)
		s, err := st.Load(ctx, key)
		note(err)
		if err == nil {
			s.Step = "next"
			note(st.Save(ctx, s, []bot.Outcome{{Key: key, Kind: bot.OutcomeStopped, Ended: when}}))
		}
	}
	note(st.Save(ctx, &bot.Session{Key: "new/key"}, nil))
	note(st.Outcomes(ctx, time.Time{}, func(bot.Outcome) error { return nil }))
	note(st.Due(ctx, when.Add(time.Hour), func(string) error { return nil }))
	note(st.Delete(ctx, fmt.Sprintf("console:local:tty:%06d:person-%06d", 3, 3)))
	return first
}

// damagedOpen opens a damaged file and, when that works, runs every
// operation: the result must be errors, never a crash, and once anything
// reports damage, Ping must too.
func damagedOpen(t *testing.T, path string, n int) (refused bool) {
	t.Helper()
	st, err := Open(path)
	if err != nil {
		if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "store recover --to") {
			t.Fatalf("Open of a damaged file: %v; want an error matching ErrDamaged that says how to recover", err)
		}
		return true
	}
	defer st.Close()
	err = exercise(t, st, n)
	if err != nil && errors.Is(err, ErrDamaged) {
		if perr := st.Ping(context.Background()); !errors.Is(perr, ErrDamaged) {
			t.Errorf("after %v, Ping = %v; want ErrDamaged", err, perr)
		}
	}
	return false
}

const damageSessions = 400

func TestStoreDamagedTruncated(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	fillStore(t, src, damageSessions)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("file of %d sessions: %d bytes", damageSessions, len(data))
	for size := 8 << 10; size <= 32<<10; size += 4 << 10 {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("trunc-%d.db", size))
			if err := os.WriteFile(path, data[:size], 0o600); err != nil {
				t.Fatal(err)
			}
			if !damagedOpen(t, path, damageSessions) {
				t.Errorf("Open accepted a file truncated to %d bytes", size)
			}
		})
	}
}

func TestStoreDamagedPageOverwritten(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	fillStore(t, src, damageSessions)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	const pageSize = 4096
	rf, f, err := openRaw(src)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	rng := rand.New(rand.NewSource(13))
	refused := 0
	// Every page in use or free: [0, high water mark).
	for page := 0; page < int(rf.meta.pgid); page++ {
		t.Run(fmt.Sprint(page), func(t *testing.T) {
			bad := append([]byte(nil), data...)
			rng.Read(bad[page*pageSize : (page+1)*pageSize])
			path := filepath.Join(dir, fmt.Sprintf("page-%d.db", page))
			if err := os.WriteFile(path, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			if damagedOpen(t, path, damageSessions) {
				refused++
			}
		})
	}
	t.Logf("%d pages overwritten one at a time: %d files refused at Open, %d opened (free pages, or the older meta)",
		rf.meta.pgid, refused, int(rf.meta.pgid)-refused)
}

// TestStoreDamagedWhileOpen damages the file under an open store (what a
// bad disk or a stray write does): bbolt's panics and faults become errors
// matching ErrDamaged, the store refuses every later call, and Ping says so.
func TestStoreDamagedWhileOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bot.db")
	fillStore(t, path, damageSessions)
	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Ping(ctx); err != nil {
		t.Fatalf("Ping of a healthy store: %v", err)
	}
	rf, f, err := openRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	w, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	junk := make([]byte, rf.ps)
	rand.New(rand.NewSource(4)).Read(junk)
	for page := int64(2); page < int64(rf.meta.pgid); page++ {
		if uint64(page) == rf.meta.freelist {
			continue
		}
		if _, err := w.WriteAt(junk, page*rf.ps); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()

	_, err = st.Load(ctx, "console:local:tty:000001:person-000001")
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("Load from a damaged page = %v; want ErrDamaged", err)
	}
	if err := st.Ping(ctx); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "store recover") {
		t.Errorf("Ping after damage = %v; want ErrDamaged with what to do", err)
	}
	if err := st.Save(ctx, &bot.Session{Key: "new"}, nil); !errors.Is(err, ErrDamaged) {
		t.Errorf("Save after damage = %v; want ErrDamaged", err)
	}
	if err := st.Outcomes(ctx, time.Time{}, func(bot.Outcome) error { return nil }); !errors.Is(err, ErrDamaged) {
		t.Errorf("Outcomes after damage = %v; want ErrDamaged", err)
	}
	if err := st.Close(); err != nil {
		t.Errorf("Close of a damaged store: %v", err)
	}
}

// TestStoreDamagedDuringSave damages the pages a group commit is about to
// write over: the commit runs on the store's own goroutine, under the same
// guard, so the Saves fail instead of the process.
func TestStoreDamagedDuringSave(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bot.db")
	fillStore(t, path, damageSessions)
	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rf, f, err := openRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	w, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	junk := make([]byte, rf.ps)
	rand.New(rand.NewSource(5)).Read(junk)
	for page := int64(2); page < int64(rf.meta.pgid); page++ {
		w.WriteAt(junk, page*rf.ps)
	}
	w.Close()
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = st.Save(ctx, &bot.Session{Key: fmt.Sprintf("k%d", i)}, []bot.Outcome{{Key: "x", Ended: when}})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, ErrDamaged) {
			t.Errorf("Save %d over damaged pages = %v; want ErrDamaged", i, err)
		}
	}
	if err := st.Ping(ctx); !errors.Is(err, ErrDamaged) {
		t.Errorf("Ping = %v; want ErrDamaged", err)
	}
}
