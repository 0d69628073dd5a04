package boltstore

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"go.etcd.io/bbolt"

	"troubleshooter/bot"
)

// Report is what CheckFile found in a store file.
type Report struct {
	Path     string
	Size     int64 // bytes
	Sessions int   // records that decode
	Outcomes int   // records that decode
	Due      int   // due index entries
	// CorruptSessions and CorruptOutcomes are records whose bytes do not
	// decode; DueOrphans are due index entries naming no readable session.
	CorruptSessions, CorruptOutcomes, DueOrphans int
	// Problems lists damage to the file itself: unreadable meta or tree
	// pages, and what bbolt's Check reported. At most maxProblems are kept.
	Problems []string
	// More is how many problems were found beyond those listed.
	More int
}

// maxProblems bounds Report.Problems.
const maxProblems = 20

// Damaged reports whether the file needs recovering: the file itself is
// damaged. Corrupt records alone do not make it so (the bot resets those
// conversations), but they are counted.
func (r *Report) Damaged() bool { return len(r.Problems) > 0 }

func (r *Report) problem(s string) {
	if len(r.Problems) < maxProblems {
		r.Problems = append(r.Problems, s)
	} else {
		r.More++
	}
}

// lockForReading opens path read-only with bbolt, which takes the file's
// shared lock (so nothing writes while we read) and reads nothing but the
// meta pages. It fails with ErrInUse while a bot has the file open.
func lockForReading(path string) (*bbolt.DB, *os.File, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, nil, fmt.Errorf("boltstore: %w", err)
	}
	return openBolt(path, &bbolt.Options{Timeout: lockTimeout, ReadOnly: true})
}

// CheckFile reads the store file at path without changing it and reports
// what it holds and what is damaged: every page of every bucket is read
// with plain reads (a damaged file cannot crash it), then, when those are
// all readable, bbolt's own Check runs. It returns an error only when it
// cannot read the file at all (missing, or in use by a running bot:
// ErrInUse); a damaged file is a Report with Problems.
func CheckFile(path string) (*Report, error) {
	rep := &Report{Path: path}
	db, file, err := lockForReading(path)
	var d *damagedError
	if errors.As(err, &d) {
		rep.problem(d.reason)
		return rep, nil
	}
	if err != nil {
		return nil, err
	}
	defer closeReader(db, file)
	r, f, err := openRaw(path)
	if errors.As(err, &d) {
		rep.problem(d.reason)
		return rep, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rep.Size = r.size
	if err := r.checkFreelist(); err != nil {
		rep.problem(err.Error())
	}
	sessions := map[string]bool{}
	var dueKeys []string
	_, problems := r.walk(func(bucket string, k, v []byte) {
		switch bucket {
		case string(sessionsBucket):
			if s, err := bot.UnmarshalSession(v); err != nil || s.Key != string(k) {
				rep.CorruptSessions++
			} else {
				rep.Sessions++
				sessions[string(k)] = true
			}
		case string(outcomesBucket):
			var o bot.Outcome
			if len(k) != 16 || json.Unmarshal(v, &o) != nil {
				rep.CorruptOutcomes++
			} else {
				rep.Outcomes++
			}
		case string(dueBucket):
			rep.Due++
			if len(k) >= 8 {
				dueKeys = append(dueKeys, string(k[8:]))
			}
		}
	})
	for _, k := range dueKeys {
		if !sessions[k] {
			rep.DueOrphans++
		}
	}
	for _, p := range problems {
		rep.problem(p)
	}
	if rep.Damaged() {
		rep.problem("bbolt's Check was skipped: it cannot run over unreadable pages")
		return rep, nil
	}
	err = guard(func() error {
		return db.View(func(tx *bbolt.Tx) error {
			for err := range tx.Check() {
				rep.problem("bbolt check: " + err.Error())
			}
			return nil
		})
	})
	if err != nil {
		rep.problem(err.Error())
	}
	return rep, nil
}

// closeReader closes what lockForReading opened.
func closeReader(db *bbolt.DB, file *os.File) {
	if err := guard(db.Close); err != nil {
		file.Close()
	}
}

// Recovered is what Recover copied and what it could not.
type Recovered struct {
	Sessions, Outcomes int // copied
	// CorruptSessions and CorruptOutcomes are records that were read but
	// do not decode; they are not copied.
	CorruptSessions, CorruptOutcomes int
	// LostSessions counts conversations the due index names whose record
	// was on an unreadable page; LostOutcomes counts outcome records the
	// outcome log's counter says were written but were not found. Records
	// on unreadable pages that neither names cannot be counted.
	LostSessions, LostOutcomes int
	// UnreadablePages describes each page (and its subtree) skipped.
	UnreadablePages []string
}

// Recover copies every readable session and outcome record of the store
// file at from (which it only reads) into a new store file at to, which
// must not exist, and rebuilds the due index from the copied sessions. It
// works on any damage short of both meta pages gone: pages that cannot be
// read are skipped. It fails while a bot has from open (ErrInUse).
func Recover(from, to string) (*Recovered, error) {
	if _, err := os.Stat(to); err == nil {
		return nil, fmt.Errorf("boltstore: %s already exists; recover writes a new file, choose another --to", to)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("boltstore: %w", err)
	}
	db, file, err := lockForReading(from)
	var d *damagedError
	if errors.As(err, &d) {
		return nil, fmt.Errorf("boltstore: nothing can be recovered from %s: %s", from, d.reason)
	}
	if err != nil {
		return nil, err
	}
	defer closeReader(db, file)
	r, f, err := openRaw(from)
	if errors.As(err, &d) {
		return nil, fmt.Errorf("boltstore: nothing can be recovered from %s: %s", from, d.reason)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()

	type kv struct{ k, v []byte }
	var sessions, outcomes []kv
	var dueKeys []string
	res := &Recovered{}
	buckets, problems := r.walk(func(bucket string, k, v []byte) {
		switch bucket {
		case string(sessionsBucket):
			if s, err := bot.UnmarshalSession(v); err != nil || s.Key != string(k) {
				res.CorruptSessions++
			} else {
				sessions = append(sessions, kv{append([]byte(nil), k...), append([]byte(nil), v...)})
			}
		case string(outcomesBucket):
			var o bot.Outcome
			if len(k) != 16 || json.Unmarshal(v, &o) != nil {
				res.CorruptOutcomes++
			} else {
				outcomes = append(outcomes, kv{append([]byte(nil), k...), append([]byte(nil), v...)})
			}
		case string(dueBucket):
			if len(k) >= 8 {
				dueKeys = append(dueKeys, string(k[8:]))
			}
		}
	})
	res.UnreadablePages = problems

	st, err := Open(to)
	if err != nil {
		return nil, err
	}
	const chunk = 5000
	copied := map[string]bool{}
	for i := 0; i < len(sessions) || i < len(outcomes); i += chunk {
		err := st.update(func(tx *bbolt.Tx) error {
			sb, ob := tx.Bucket(sessionsBucket), tx.Bucket(outcomesBucket)
			for _, e := range sessions[min(i, len(sessions)):min(i+chunk, len(sessions))] {
				h, _ := storedHead(e.k, e.v)
				if err := sb.Put(e.k, e.v); err != nil {
					return err
				}
				if err := reindexDue(tx, e.k, time.Time{}, h.Due); err != nil {
					return err
				}
				copied[string(e.k)] = true
			}
			for _, e := range outcomes[min(i, len(outcomes)):min(i+chunk, len(outcomes))] {
				if err := ob.Put(e.k, e.v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			st.Close()
			os.Remove(to)
			return nil, fmt.Errorf("boltstore: write %s: %w", to, err)
		}
	}
	// Keep the outcome counter going from where it was, so new records
	// never reuse a sequence number.
	var seq uint64
	if b := buckets[string(outcomesBucket)]; b != nil {
		seq = b.sequence
	}
	for _, e := range outcomes {
		seq = max(seq, binary.BigEndian.Uint64(e.k[8:]))
	}
	err = st.update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket(outcomesBucket).SetSequence(seq); err != nil {
			return err
		}
		return rebuildTallies(tx, to) // the running counts of the records copied
	})
	if err != nil {
		st.Close()
		os.Remove(to)
		return nil, fmt.Errorf("boltstore: write %s: %w", to, err)
	}
	if err := st.Close(); err != nil {
		return nil, err
	}
	res.Sessions, res.Outcomes = len(sessions), len(outcomes)
	for _, k := range dueKeys {
		if !copied[k] {
			res.LostSessions++
		}
	}
	if b := buckets[string(outcomesBucket)]; b != nil && b.sequence > uint64(res.Outcomes+res.CorruptOutcomes) {
		res.LostOutcomes = int(b.sequence) - res.Outcomes - res.CorruptOutcomes
	}
	return res, nil
}
