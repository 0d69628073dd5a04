// Package boltstore is a bot.Store kept in one local bbolt file: durable,
// crash-safe and fast, for a bot that runs as a single process.
//
// Saves from concurrent conversations are group-committed with bbolt's
// DB.Batch, so many of them share one transaction and one fsync. Each save
// also adds its outcome records' running counts (bot.Tallier) in that
// transaction (tally.go).
//
// Memory: bbolt reads the file through a memory map, and every page read
// stays in the process's resident set until the kernel needs it back. Open's
// whole-file check would count the whole file, and a long run every page its
// conversations reached; the store gives those pages back after the check
// and every 256 group commits (pages_linux.go).
package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"troubleshooter/bot"
)

// DefaultPath is the database file Config.Open uses when Path is empty,
// relative to the working directory.
const DefaultPath = "data/troubleshooter.db"

// lockTimeout is how long Open waits for another holder of the file lock.
const lockTimeout = time.Second

// batchDelay replaces bbolt's default MaxBatchDelay (10 ms): how long the
// first Save of a group commit waits for others to join it. On a 2-core
// test machine with 256 concurrent writers, 2 ms gave about 45k durable
// Saves/s against about 19k/s at 10 ms, and a lone Save waits 2 ms instead
// of 10 ms; shorter delays made batches smaller without lowering latency
// that a person could notice.
const batchDelay = 2 * time.Millisecond

// outcomeChunk is how many outcome records Outcomes reads per read
// transaction; fn is called between transactions, never inside one.
const outcomeChunk = 256

var (
	sessionsBucket = []byte("sessions")
	outcomesBucket = []byte("outcomes")
	// dueBucket indexes sessions by Session.Due: keys are the 8-byte
	// timeKey of Due followed by the session key; values are empty.
	dueBucket = []byte("due")
	// storeBucket holds the store's own bookkeeping: cleanKey is written
	// by Close and deleted by Open, so Open knows whether the last process
	// closed the file.
	storeBucket = []byte("store")
	cleanKey    = []byte("closed-cleanly")
)

// Config selects the bbolt file. It is the "store" section of the bot's
// YAML configuration when the bolt backend is chosen.
type Config struct {
	// Path is the database file. Empty means DefaultPath
	// ("data/troubleshooter.db", relative to the working directory).
	// Missing parent directories are created with mode 0750; the file
	// itself is created with mode 0600.
	Path string `yaml:"path"`
}

// Open opens the store at c.Path, or DefaultPath when that is empty. See
// the package-level Open.
func (c Config) Open() (*Store, error) {
	path := c.Path
	if path == "" {
		path = DefaultPath
	}
	return Open(path)
}

// ErrInUse is matched (with errors.Is) by the error Open returns when
// another process, or another Store in this process, holds the file.
var ErrInUse = errors.New("store is in use by another process")

type inUseError struct{ path string }

func (e *inUseError) Error() string {
	return fmt.Sprintf("store %s is in use by another process (is another troubleshooter running?)", e.path)
}

func (e *inUseError) Is(target error) bool { return target == ErrInUse }

// Store is a bot.Store backed by a bbolt file.
//
// A Store is safe for concurrent use by any number of goroutines. Only one
// process may have the file open at a time (bbolt holds an exclusive file
// lock); Open fails with ErrInUse for the others.
//
// Load, Save, Delete and Outcomes return ctx.Err() without doing anything
// when ctx is already done; once a bbolt transaction has started it runs
// to the end, so later cancellation is not observed. After Close every
// method returns an error matching bot.ErrClosed.
type Store struct {
	db     *bbolt.DB
	file   *os.File // bbolt's handle on the file, which holds the lock
	path   string
	closed atomic.Bool
	damage atomic.Pointer[damagedError] // first damage seen; nil while none

	batchMu sync.Mutex
	pending *pendingBatch // group commit being gathered
	commits atomic.Uint64 // group commits made, for dropPages
}

// committed counts a group commit and, every dropEvery commits, gives the
// pages of the memory map read since back to the kernel (see dropPages).
// It runs after the commit's callers were answered, so they never wait for
// it. Best effort: a failure only costs memory.
func (st *Store) committed() {
	if st.commits.Add(1)%dropEvery == 0 {
		_ = st.view(func(tx *bbolt.Tx) error { return dropPages(tx) })
	}
}

// Compile-time check that Store implements bot.Store.
var _ bot.Store = (*Store)(nil)

// Open opens, or creates, the bbolt database at path, creating missing
// parent directories (mode 0750) and the sessions and outcomes buckets.
// A file written before the store kept running counts gets them rebuilt
// from its outcome records, once, in the opening transaction (logged).
// If another process holds the file, Open gives up after one second with an
// error matching ErrInUse that names the path. The caller must Close the
// store.
//
// An existing file is checked before anything is written to it: its meta
// pages and size always (cheap), and its whole tree plus bbolt's Check when
// it is small or was not closed cleanly (see checkAlways). A file that fails
// is refused with an error matching ErrDamaged that says how to recover it;
// bbolt panicking or faulting on it is turned into that error too.
func Open(path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("boltstore: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("boltstore: create directory for %s: %w", path, err)
	}
	db, file, err := openBolt(path, &bbolt.Options{Timeout: lockTimeout})
	if err != nil {
		return nil, err
	}
	st := &Store{db: db, file: file, path: path}
	db.MaxBatchDelay = batchDelay
	if err := st.checkOnOpen(); err != nil {
		st.closeDamaged()
		return nil, err
	}
	// The check read every page through the memory map: give those pages
	// back, or a restarted bot counts its whole file in its RSS (a 178 MB
	// file of 100k sessions added 60 MB) though it reads only the pages of
	// active conversations. Best effort: a failure only costs memory.
	_ = st.view(func(tx *bbolt.Tx) error { return dropPages(tx) })
	err = st.update(func(tx *bbolt.Tx) error {
		legacy := tx.Bucket(sessionsBucket) != nil && tx.Bucket(dueBucket) == nil
		// A file from before running counts has records but no tallies
		// bucket: count them once, in this transaction.
		untallied := tx.Bucket(outcomesBucket) != nil && tx.Bucket(talliesBucket) == nil
		if untallied {
			if err := rebuildTallies(tx, path); err != nil {
				return err
			}
		}
		for _, name := range [][]byte{sessionsBucket, outcomesBucket, dueBucket, storeBucket, talliesBucket} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		if err := tx.Bucket(storeBucket).Delete(cleanKey); err != nil {
			return err
		}
		if legacy {
			return indexLegacySessions(tx)
		}
		return nil
	})
	if err != nil {
		st.closeDamaged()
		if errors.Is(err, ErrDamaged) {
			return nil, err
		}
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	return st, nil
}

// openBolt is bbolt.Open made safe for damaged files: a panic or fault in
// it (reading a freelist page that is garbage or past the end of the file)
// becomes an error matching ErrDamaged, and the file it had opened and
// locked is closed again.
func openBolt(path string, opts *bbolt.Options) (*bbolt.DB, *os.File, error) {
	var file *os.File
	opts.OpenFile = func(name string, flag int, mode os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, mode)
		file = f
		return f, err
	}
	var db *bbolt.DB
	err := guard(func() (err error) {
		db, err = bbolt.Open(path, 0o600, opts)
		return err
	})
	var p panicError
	switch {
	case err == nil:
		return db, file, nil
	case errors.Is(err, berrors.ErrTimeout):
		return nil, nil, &inUseError{path: path}
	case errors.As(err, &p):
		if file != nil {
			// The map, if made, leaks (once); the lock must not.
			unlockFile(file)
			file.Close()
		}
		// Say what is wrong when the meta pages tell; else what bbolt said.
		if _, f, rerr := openRaw(path); rerr != nil {
			return nil, nil, rerr
		} else {
			f.Close()
		}
		return nil, nil, damaged(path, p.Error())
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
		return nil, nil, damaged(path, err.Error())
	default:
		return nil, nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
}

// checkAlways is the file size up to which Open checks the whole file
// every time, not only after an unclean shutdown. See checkOnOpen. Measured
// (TestStoreOpenCheckCost, 2 shared cores): a 178 MB file of 100k sessions
// and 100k outcomes takes about 0.2 s (page walk 0.15 s, bbolt's Check
// 0.05 s) against 7 ms for an open without it.
const checkAlways = 256 << 20

// checkOnOpen checks the file bbolt just opened: its meta pages and size,
// then, when it is at most checkAlways bytes or the last process did not
// close it, every page of its tree and bbolt's own Check. A new, empty file
// passes.
func (st *Store) checkOnOpen() error {
	r, f, err := openRaw(st.path)
	if err != nil {
		var d *damagedError
		if errors.As(err, &d) {
			return err
		}
		return fmt.Errorf("boltstore: open %s: %w", st.path, err)
	}
	defer f.Close()
	if r.size <= checkAlways {
		return st.verify(r)
	}
	clean := false
	err = st.view(func(tx *bbolt.Tx) error {
		if b := tx.Bucket(storeBucket); b != nil {
			clean = b.Get(cleanKey) != nil
		}
		return nil
	})
	if err != nil || clean {
		return err
	}
	return st.verify(r)
}

// verify reads every page of the file's tree, under guard, then runs
// bbolt's Check. Check reads pages on a goroutine of its own, where a fault
// could not be recovered, so the walk goes first: a page Check would fault
// on faults (or fails bbolt's page assertions) in the walk instead.
func (st *Store) verify(r *rawFile) error {
	if err := r.checkFreelist(); err != nil {
		return damaged(st.path, err.Error())
	}
	var problems []string
	err := st.view(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bbolt.Bucket) error {
			c := b.Cursor()
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	err = st.view(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			problems = append(problems, err.Error())
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return damaged(st.path, "bbolt check: "+summarize(problems))
	}
	return nil
}

// summarize is the first problem and how many more there are.
func summarize(problems []string) string {
	if len(problems) == 1 {
		return problems[0]
	}
	return fmt.Sprintf("%s, and %d more problems", problems[0], len(problems)-1)
}

// Path returns the file the store was opened on.
func (st *Store) Path() string { return st.path }

// Load returns the session saved under key, decoded into a fresh value the
// caller owns, or an error matching bot.ErrNotFound. A record that cannot
// be decoded, or that holds another key, is reported as an error naming the
// key; it never panics and never returns a partial session.
func (st *Store) Load(ctx context.Context, key string) (*bot.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if st.closed.Load() {
		return nil, bot.ErrClosed
	}
	if err := st.broken(); err != nil {
		return nil, err
	}
	var s *bot.Session
	err := st.view(func(tx *bbolt.Tx) error {
		b, err := bucket(tx, sessionsBucket)
		if err != nil {
			return err
		}
		v := b.Get([]byte(key))
		if v == nil {
			return bot.ErrNotFound
		}
		// UnmarshalSession copies every string out of v, which is only
		// valid inside the transaction.
		s, err = bot.UnmarshalSession(v)
		if err != nil {
			s = nil
			return fmt.Errorf("boltstore: session %s: %w: %w", bot.LogKey(key), ErrCorrupt, err)
		}
		if s.Key != key {
			got := s.Key
			s = nil
			return fmt.Errorf("boltstore: session %s: %w: it holds key %s", bot.LogKey(key), ErrCorrupt, bot.LogKey(got))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Save writes s under s.Key, appends outcomes to the outcome log and adds
// their bot.TallyAdds to the running counts (Tallies), in one bbolt
// transaction, and returns only once that transaction is durable on
// disk (fsync'd). Concurrent Saves are grouped into shared transactions
// (bbolt's DB.Batch), so a Save first waits up to 2 ms for company.
//
// Save is a compare-and-swap on s.Version as bot.Store describes: on
// success s.Version is incremented; on bot.ErrConflict, or any other error,
// neither the store nor s changes, and none of outcomes is stored. A stored
// record that cannot be decoded makes Save fail with an error naming the
// key; Delete it to start over. Save rejects a nil session and an empty key.
func (st *Store) Save(ctx context.Context, s *bot.Session, outcomes []bot.Outcome) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s == nil {
		return errors.New("boltstore: save: nil session")
	}
	if s.Key == "" {
		return errors.New("boltstore: save: session has no key")
	}
	if st.closed.Load() {
		return bot.ErrClosed
	}
	if err := st.broken(); err != nil {
		return err
	}

	// Encode outside the transaction, which is serialized across the
	// whole process; the caller's session is only read.
	next := *s
	next.Version = s.Version + 1
	data, err := bot.MarshalSession(&next)
	if err != nil {
		return fmt.Errorf("boltstore: session %s: %w", bot.LogKey(s.Key), err)
	}
	type rec struct {
		ended uint64
		data  []byte
	}
	recs := make([]rec, len(outcomes))
	for i := range outcomes {
		d, err := json.Marshal(&outcomes[i])
		if err != nil {
			return fmt.Errorf("boltstore: outcome of %s: %w", bot.LogKey(outcomes[i].Key), err)
		}
		recs[i] = rec{ended: timeKey(outcomes[i].Ended), data: d}
	}
	adds := mergeAdds(outcomes)
	key := []byte(s.Key)
	want := s.Version
	due := s.Due

	// Batch may run this function several times (when another call in the
	// batch fails), and only the last run is committed. So it touches
	// nothing outside the transaction except conflict, which each run
	// resets. A version mismatch is reported through conflict rather than
	// as an error: an error would make bbolt roll back and redo the whole
	// batch, every other conversation's Save included.
	var conflict bool
	err = st.batch(func(tx *bbolt.Tx) error {
		conflict = false
		sb, err := bucket(tx, sessionsBucket)
		if err != nil {
			return err
		}
		have, err := storedHead(key, sb.Get(key))
		if err != nil {
			return err
		}
		if have.Version != want {
			conflict = true
			return nil
		}
		if err := sb.Put(key, data); err != nil {
			return fmt.Errorf("boltstore: session %s: %w", bot.LogKey(string(key)), err)
		}
		if err := reindexDue(tx, key, have.Due, due); err != nil {
			return err
		}
		if len(recs) == 0 {
			return nil
		}
		ob, err := bucket(tx, outcomesBucket)
		if err != nil {
			return err
		}
		for _, r := range recs {
			seq, err := ob.NextSequence()
			if err != nil {
				return fmt.Errorf("boltstore: outcome of %s: %w", bot.LogKey(string(key)), err)
			}
			k := make([]byte, 16) // must stay valid until commit
			binary.BigEndian.PutUint64(k[:8], r.ended)
			binary.BigEndian.PutUint64(k[8:], seq)
			if err := ob.Put(k, r.data); err != nil {
				return fmt.Errorf("boltstore: outcome of %s: %w", bot.LogKey(string(key)), err)
			}
		}
		return applyTallies(tx, adds)
	})
	if err != nil {
		return err
	}
	if conflict {
		return bot.ErrConflict
	}
	s.Version = next.Version
	return nil
}

// head is the part of a stored session record Save and Delete need.
type head struct {
	Key     string    `json:"key"`
	Version uint64    `json:"version"`
	Due     time.Time `json:"due"`
}

// storedHead decodes the head of the session record v stored under key;
// the zero head when v is nil (no session).
func storedHead(key, v []byte) (head, error) {
	var h head
	if v == nil {
		return h, nil
	}
	if err := json.Unmarshal(v, &h); err != nil {
		return h, fmt.Errorf("boltstore: session %s: %w: decode session: %w", bot.LogKey(string(key)), ErrCorrupt, err)
	}
	if h.Key != string(key) {
		return h, fmt.Errorf("boltstore: session %s: %w: it holds key %s", bot.LogKey(string(key)), ErrCorrupt, bot.LogKey(h.Key))
	}
	return h, nil
}

// dueKey is key's entry in the due index for a session due at t.
func dueKey(t time.Time, key []byte) []byte {
	k := make([]byte, 8+len(key)) // must stay valid until commit
	binary.BigEndian.PutUint64(k[:8], timeKey(t))
	copy(k[8:], key)
	return k
}

// reindexDue moves key's due index entry from old to next (zero: none).
func reindexDue(tx *bbolt.Tx, key []byte, old, next time.Time) error {
	if old.Equal(next) {
		return nil
	}
	db, err := bucket(tx, dueBucket)
	if err != nil {
		return err
	}
	if !old.IsZero() {
		if err := db.Delete(dueKey(old, key)); err != nil {
			return fmt.Errorf("boltstore: due index of %s: %w", bot.LogKey(string(key)), err)
		}
	}
	if !next.IsZero() {
		if err := db.Put(dueKey(next, key), nil); err != nil {
			return fmt.Errorf("boltstore: due index of %s: %w", bot.LogKey(string(key)), err)
		}
	}
	return nil
}

// indexLegacySessions gives every conversation in progress saved before
// timers existed a due time (its last update, so the first sweep decides
// whether to remind or close it) and indexes it. Records that cannot be
// decoded are left as they are.
func indexLegacySessions(tx *bbolt.Tx) error {
	sb, err := bucket(tx, sessionsBucket)
	if err != nil {
		return err
	}
	type update struct {
		key, data []byte
		due       time.Time
	}
	var updates []update
	err = sb.ForEach(func(k, v []byte) error {
		s, err := bot.UnmarshalSession(v)
		if err != nil || s.Key != string(k) || s.Done || s.HandedOff || s.Guide == "" || !s.Due.IsZero() {
			return nil
		}
		s.Due = s.Updated
		data, err := bot.MarshalSession(s)
		if err != nil {
			return nil
		}
		updates = append(updates, update{append([]byte(nil), k...), data, s.Due})
		return nil
	})
	if err != nil {
		return err
	}
	for _, u := range updates {
		if err := sb.Put(u.key, u.data); err != nil {
			return err
		}
		if err := reindexDue(tx, u.key, time.Time{}, u.due); err != nil {
			return err
		}
	}
	return nil
}

// dropDueEntries deletes every due index entry of key.
func dropDueEntries(tx *bbolt.Tx, key []byte) error {
	db, err := bucket(tx, dueBucket)
	if err != nil {
		return err
	}
	var stale [][]byte
	c := db.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if len(k) >= 8 && string(k[8:]) == string(key) {
			stale = append(stale, append([]byte(nil), k...))
		}
	}
	for _, k := range stale {
		if err := db.Delete(k); err != nil {
			return fmt.Errorf("boltstore: due index of %s: %w", bot.LogKey(string(key)), err)
		}
	}
	return nil
}

// dueChunk is how many due keys Due reads per read transaction.
const dueChunk = 256

// Due calls fn with the key of every session whose Due is set and not
// after now, earliest first, as bot.Store describes. Keys are read in
// chunks, each in its own read transaction, and fn runs outside any
// transaction, so it may call the store.
func (st *Store) Due(ctx context.Context, now time.Time, fn func(key string) error) error {
	limit := timeKey(now)
	var after []byte
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if st.closed.Load() {
			return bot.ErrClosed
		}
		if err := st.broken(); err != nil {
			return err
		}
		var keys []string
		var last []byte
		err := st.view(func(tx *bbolt.Tx) error {
			b, err := bucket(tx, dueBucket)
			if err != nil {
				return err
			}
			c := b.Cursor()
			var k []byte
			if after == nil {
				k, _ = c.First()
			} else if k, _ = c.Seek(after); k != nil && string(k) == string(after) {
				k, _ = c.Next()
			}
			for ; k != nil && len(keys) < dueChunk; k, _ = c.Next() {
				last = append(last[:0], k...)
				if len(k) < 8 {
					continue // not an entry this code writes; skip it
				}
				if binary.BigEndian.Uint64(k[:8]) > limit {
					break
				}
				keys = append(keys, string(k[8:]))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := fn(k); err != nil {
				return err
			}
		}
		if len(keys) < dueChunk {
			return nil
		}
		after = last
	}
}

// Delete removes the session under key, durably, like Save. Deleting a
// missing key returns nil. Outcome records are history and are kept.
func (st *Store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if st.closed.Load() {
		return bot.ErrClosed
	}
	if err := st.broken(); err != nil {
		return err
	}
	if key == "" {
		return nil // bbolt has no empty keys, so nothing is stored there
	}
	return st.batch(func(tx *bbolt.Tx) error {
		b, err := bucket(tx, sessionsBucket)
		if err != nil {
			return err
		}
		k := []byte(key)
		h, err := storedHead(k, b.Get(k))
		switch {
		case err == nil && !h.Due.IsZero():
			if err := reindexDue(tx, k, h.Due, time.Time{}); err != nil {
				return err
			}
		case err != nil || b.Get(k) == nil:
			// A corrupt record is deleted all the same (that is how one
			// is cleared), and a missing one may have left an index entry
			// (the engine deletes keys the index lists but the store
			// lacks): find the entry by scanning. Rare, so a scan is fine.
			if err := dropDueEntries(tx, k); err != nil {
				return err
			}
		}
		return b.Delete(k)
	})
}

// Outcomes calls fn for every outcome record whose Ended is at or after
// since, ordered by Ended (records with equal Ended in the order they were
// saved), and stops at fn's first error, returning it. Records are read in
// chunks, each in its own short read transaction, and fn runs outside any
// transaction, so fn may call the store; records saved during the
// iteration may or may not be seen. ctx is checked before every chunk. A
// record that cannot be decoded stops the iteration with an error naming
// its key.
func (st *Store) Outcomes(ctx context.Context, since time.Time, fn func(bot.Outcome) error) error {
	var after []byte // last key handled; nil before the first chunk
	start := make([]byte, 8)
	binary.BigEndian.PutUint64(start, timeKey(since))
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if st.closed.Load() {
			return bot.ErrClosed
		}
		if err := st.broken(); err != nil {
			return err
		}
		chunk := make([]bot.Outcome, 0, outcomeChunk)
		scanned := 0
		err := st.view(func(tx *bbolt.Tx) error {
			b, err := bucket(tx, outcomesBucket)
			if err != nil {
				return err
			}
			c := b.Cursor()
			var k, v []byte
			if after == nil {
				k, v = c.Seek(start)
			} else if k, v = c.Seek(after); bytes.Equal(k, after) {
				k, v = c.Next()
			}
			for ; k != nil && scanned < outcomeChunk; k, v = c.Next() {
				scanned++
				after = append(after[:0], k...)
				if len(k) != 16 {
					return fmt.Errorf("boltstore: outcome %x: corrupt key", k)
				}
				var o bot.Outcome
				if err := json.Unmarshal(v, &o); err != nil {
					return fmt.Errorf("boltstore: outcome %x: %w", k, err)
				}
				// The key orders; the record decides. They differ only for
				// times outside the range of int64 nanoseconds.
				if o.Ended.Before(since) {
					continue
				}
				chunk = append(chunk, o)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, o := range chunk {
			if err := fn(o); err != nil {
				return err
			}
		}
		if scanned < outcomeChunk {
			return nil
		}
	}
}

// Close waits for running transactions, marks the file as closed cleanly
// (unless it is damaged), then closes it and releases its lock. Saves still
// waiting for their batch fail with bot.ErrClosed. Every later call,
// including another Close, returns bot.ErrClosed.
func (st *Store) Close() error {
	if !st.closed.CompareAndSwap(false, true) {
		return bot.ErrClosed
	}
	if st.broken() != nil {
		if err := st.release(); err != nil {
			return fmt.Errorf("boltstore: close %s: %w", st.path, err)
		}
		return nil
	}
	{
		// Best effort: without the mark the next Open checks the file.
		_ = st.update(func(tx *bbolt.Tx) error {
			if b := tx.Bucket(storeBucket); b != nil {
				return b.Put(cleanKey, []byte(time.Now().UTC().Format(time.RFC3339)))
			}
			return nil
		})
	}
	if err := guard(st.db.Close); err != nil {
		return fmt.Errorf("boltstore: close %s: %w", st.path, err)
	}
	return nil
}

// mapErr turns bbolt's "not open" into bot.ErrClosed; a Close can race with
// a call that already passed its own closed check.
func (st *Store) mapErr(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return bot.ErrClosed
	}
	return err
}

func bucket(tx *bbolt.Tx, name []byte) (*bbolt.Bucket, error) {
	b := tx.Bucket(name)
	if b == nil {
		return nil, fmt.Errorf("boltstore: bucket %s is missing", name)
	}
	return b, nil
}

// timeKey is the 8-byte outcome key prefix for t: its Unix time in
// nanoseconds, clamped to [0, MaxInt64] so that big-endian byte order is
// time order. (Clamping only affects times before 1970 or after 2262.)
func timeKey(t time.Time) uint64 {
	if t.Before(time.Unix(0, 0)) {
		return 0
	}
	if t.After(time.Unix(0, math.MaxInt64)) {
		return math.MaxInt64
	}
	return uint64(t.UnixNano())
}
