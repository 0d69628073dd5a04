package boltstore

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"troubleshooter/bot"
)

// bulkStore writes n sessions, n outcomes and n due entries straight into
// a new file at path, as the store would lay them out, and closes it.
func bulkStore(tb testing.TB, path string, n int) {
	tb.Helper()
	st, err := Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	err = st.db.Update(func(tx *bbolt.Tx) error {
		sb, ob, db := tx.Bucket(sessionsBucket), tx.Bucket(outcomesBucket), tx.Bucket(dueBucket)
		for i := range n {
			key := fmt.Sprintf("slack:T0123:C0456:%010d:U%08d", i, i)
			due := when.Add(time.Duration(i) * time.Second)
			data, _ := bot.MarshalSession(&bot.Session{Key: key, Guide: "whatsapp-icloud", GuideVersion: "3",
				Step: "check-space", Answers: map[string]string{"free": "12 GB", "backup": "3.1 GB"},
				Started: when, Updated: when, Due: due, Version: 4})
			if err := sb.Put([]byte(key), data); err != nil {
				return err
			}
			if err := db.Put(dueKey(due, []byte(key)), nil); err != nil {
				return err
			}
			o, _ := json.Marshal(bot.Outcome{Key: key, Kind: bot.OutcomeResolved, Guide: "whatsapp-icloud", Ended: due})
			k := make([]byte, 16)
			binary.BigEndian.PutUint64(k, timeKey(due))
			binary.BigEndian.PutUint64(k[8:], uint64(i))
			if err := ob.Put(k, o); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if err := st.Close(); err != nil {
		tb.Fatal(err)
	}
}

// TestStoreOpenCheckCost measures what the checks on open cost for a store
// of 100k sessions (and 100k outcomes): the full check (every page read
// plus bbolt's Check), against an open that only reads the meta pages.
// Run with BOLT_CHECK_COST=1; it takes a while to build the file.
func TestStoreOpenCheckCost(t *testing.T) {
	if os.Getenv("BOLT_CHECK_COST") == "" {
		t.Skip("set BOLT_CHECK_COST=1 to measure")
	}
	path := filepath.Join(t.TempDir(), "big.db")
	bulkStore(t, path, 100_000)
	fi, _ := os.Stat(path)
	for round := range 3 {
		t0 := time.Now()
		st, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		full := time.Since(t0)
		r, f, err := openRaw(path)
		if err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		_, problems := r.walk(func(string, []byte, []byte) {})
		raw := time.Since(t1)
		t1 = time.Now()
		st.db.View(func(tx *bbolt.Tx) error {
			return tx.ForEach(func(_ []byte, b *bbolt.Bucket) error {
				c := b.Cursor()
				for k, _ := c.First(); k != nil; k, _ = c.Next() {
				}
				return nil
			})
		})
		walk := time.Since(t1)
		t2 := time.Now()
		var n int
		st.db.View(func(tx *bbolt.Tx) error {
			for range tx.Check() {
				n++
			}
			return nil
		})
		check := time.Since(t2)
		f.Close()
		st.Close()
		t.Logf("round %d: %d MB file: clean Open %v; full check on open %v (page walk %v + bbolt Check %v); store check's plain-read walk %v; %d problems",
			round, fi.Size()>>20, full.Round(time.Millisecond), (walk + check).Round(time.Millisecond),
			walk.Round(time.Millisecond), check.Round(time.Millisecond), raw.Round(time.Millisecond), len(problems)+n)
	}
}
