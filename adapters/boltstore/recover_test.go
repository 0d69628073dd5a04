package boltstore

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"troubleshooter/bot"
)

func TestStoreCheckFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bot.db")
	fillStore(t, path, damageSessions)
	rep, err := CheckFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Damaged() || rep.Sessions != damageSessions || rep.Outcomes != damageSessions || rep.Due != damageSessions {
		t.Errorf("healthy file: %+v; want not damaged, %d sessions, outcomes and due entries", rep, damageSessions)
	}
	data, _ := os.ReadFile(path)
	trunc := filepath.Join(dir, "trunc.db")
	os.WriteFile(trunc, data[:16<<10], 0o600)
	if rep, err := CheckFile(trunc); err != nil || !rep.Damaged() {
		t.Errorf("truncated file: %+v, %v; want a damaged report", rep, err)
	}
	if _, err := CheckFile(filepath.Join(dir, "missing.db")); err == nil {
		t.Error("CheckFile of a missing file: no error")
	}
}

// TestStoreRecover overwrites each page of a store in turn and recovers
// it: Recover never fails, what it copies opens as a healthy store, and
// every session and outcome is either copied or counted as lost.
func TestStoreRecover(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	fillStore(t, src, damageSessions)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	rf, f, err := openRaw(src)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := Recover(src, src); err == nil {
		t.Fatal("Recover onto an existing file: no error")
	}
	rng := rand.New(rand.NewSource(21))
	var copied, total, pages int
	for page := 0; page < int(rf.meta.pgid); page += 2 { // every other page: each recovery writes a file
		pages++
		bad := append([]byte(nil), data...)
		rng.Read(bad[page*int(rf.ps) : (page+1)*int(rf.ps)])
		from := filepath.Join(dir, fmt.Sprintf("bad-%d.db", page))
		to := filepath.Join(dir, fmt.Sprintf("new-%d.db", page))
		os.WriteFile(from, bad, 0o600)
		res, err := Recover(from, to)
		if err != nil {
			t.Fatalf("page %d: Recover: %v", page, err)
		}
		wholeTree := res.Sessions == 0 && res.Outcomes == 0 && len(res.UnreadablePages) > 0
		if !wholeTree && res.Sessions != damageSessions && res.Sessions+res.LostSessions != damageSessions {
			t.Errorf("page %d: %d sessions copied, %d counted lost; want %d in all", page, res.Sessions, res.LostSessions, damageSessions)
		}
		if !wholeTree && res.Outcomes+res.LostOutcomes != damageSessions {
			t.Errorf("page %d: %d outcomes copied, %d counted lost; want %d in all", page, res.Outcomes, res.LostOutcomes, damageSessions)
		}
		copied += res.Sessions + res.Outcomes
		total += 2 * damageSessions
		st, err := Open(to)
		if err != nil {
			t.Fatalf("page %d: the recovered file does not open: %v", page, err)
		}
		n := 0
		st.Outcomes(context.Background(), when.AddDate(-1, 0, 0), func(o bot.Outcome) error { n++; return nil })
		if n != res.Outcomes {
			t.Errorf("page %d: recovered file lists %d outcomes, Recover said %d", page, n, res.Outcomes)
		}
		st.Close()
		os.Remove(from)
		os.Remove(to)
	}
	t.Logf("%d of %d pages overwritten one at a time: %d of %d records recovered (%.1f%%)",
		pages, rf.meta.pgid, copied, total, 100*float64(copied)/float64(total))
}
