package boltstore

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// TestClaimSurvivesReopen: a claim made before a restart holds after it,
// over the same file, until its ttl ends.
func TestClaimSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bot.db")
	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if first, err := st.Claim(ctx, "slash:trigger-1", time.Minute); err != nil || !first {
		t.Fatalf("first claim = %v, %v", first, err)
	}
	if first, err := st.Claim(ctx, "slash:short", 300*time.Millisecond); err != nil || !first {
		t.Fatalf("first short claim = %v, %v", first, err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if first, err := st.Claim(ctx, "slash:trigger-1", time.Minute); err != nil || first {
		t.Errorf("claim after reopen = %v, %v; want taken", first, err)
	}
	time.Sleep(400 * time.Millisecond)
	if first, err := st.Claim(ctx, "slash:short", time.Minute); err != nil || !first {
		t.Errorf("claim after reopen and ttl = %v, %v; want first", first, err)
	}
}

// TestClaimPrunes: ended claims are removed as later claims are made, so
// the file does not grow with every command ever seen.
func TestClaimPrunes(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t)
	defer st.Close()
	const n = 300
	for i := range n {
		if _, err := st.Claim(ctx, "old:"+strconv.Itoa(i), time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(5 * time.Millisecond)
	for i := range n/claimPrune + 1 {
		if _, err := st.Claim(ctx, "new:"+strconv.Itoa(i), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	var ids, ends int
	err := st.db.View(func(tx *bbolt.Tx) error {
		ids = tx.Bucket(claimsBucket).Stats().KeyN
		ends = tx.Bucket(claimEndsBucket).Stats().KeyN
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := n/claimPrune + 1; ids != want || ends != want {
		t.Errorf("after %d ended claims and %d live ones: %d claims, %d index entries; want %d each", n, want, ids, ends, want)
	}
}
