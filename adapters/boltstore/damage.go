package boltstore

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"go.etcd.io/bbolt"

	"troubleshooter/bot"
)

// ErrDamaged is matched (with errors.Is) by every error caused by a
// damaged store file: Open refusing a file that fails its checks, and any
// call after bbolt panicked or faulted on a page it could not read. Once a
// Store has seen damage it refuses every later call with the same error and
// Ping reports it, so health checks go red; run `troubleshooter store
// recover` to copy what is readable into a new file.
var ErrDamaged = errors.New("store file is damaged")

// ErrCorrupt is matched by the error Load (and Save, which reads the stored
// version) returns for one session record that cannot be decoded or that
// holds another key. Only that conversation is affected: Delete clears it
// and the key is usable again. The rest of the store is fine.
var ErrCorrupt = bot.ErrCorrupt

// damagedError says what is wrong with the file and what to do about it.
type damagedError struct {
	path   string
	reason string
}

func damaged(path, reason string) *damagedError { return &damagedError{path: path, reason: reason} }

func (e *damagedError) Error() string {
	return fmt.Sprintf("the store file %s is damaged (%s): run `troubleshooter store check` for a report, "+
		"and `troubleshooter store recover --to NEW.db` to copy every readable session and outcome into a new file",
		e.path, e.reason)
}

func (e *damagedError) Is(target error) bool { return target == ErrDamaged }

// Reason is the short description of the damage, without the path or advice:
// safe for a health endpoint.
func (e *damagedError) Reason() string { return e.reason }

// panicError is a panic or memory fault inside bbolt, turned into an error.
type panicError struct{ v any }

func (p panicError) Error() string { return fmt.Sprintf("bbolt panicked: %v", p.v) }

// guard runs fn, turning a panic, or a memory fault (SIGSEGV or SIGBUS from
// a page past the end of a truncated file's map), into a panicError. Faults
// only become panics in the goroutine that asked (debug.SetPanicOnFault), so
// every bbolt call of this package runs on a goroutine that went through
// guard.
func guard(fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if v := recover(); v != nil {
			err = panicError{v}
		}
	}()
	return fn()
}

// broken returns the damage this store has seen, nil while it has seen none.
func (st *Store) broken() error {
	if e := st.damage.Load(); e != nil {
		return e
	}
	return nil
}

// trip records the first damage seen and returns the error callers get.
func (st *Store) trip(reason string) error {
	st.damage.CompareAndSwap(nil, damaged(st.path, reason))
	return st.damage.Load()
}

// run runs a bbolt call under guard; a panic marks the store damaged.
func (st *Store) run(fn func() error) error {
	err := guard(fn)
	var p panicError
	if errors.As(err, &p) {
		return st.trip(p.Error())
	}
	return st.mapErr(err)
}

func (st *Store) view(fn func(*bbolt.Tx) error) error {
	return st.run(func() error { return st.db.View(fn) })
}

func (st *Store) update(fn func(*bbolt.Tx) error) error {
	if err := st.broken(); err != nil {
		return err // see runBatch
	}
	return st.run(func() error { return st.db.Update(fn) })
}

// closeDamaged closes a store Open gave up on (see release).
func (st *Store) closeDamaged() {
	st.closed.Store(true)
	_ = st.release()
}

// release closes a damaged store's file. bbolt's DB.Close comes first, but
// a panic inside a write transaction can leave bbolt's writer lock held,
// and DB.Close would wait for it forever: after a second, the file's lock
// is released and the file closed directly (its memory map then stays
// until the process exits, and one goroutine stays blocked).
func (st *Store) release() error {
	done := make(chan error, 1)
	go func() { done <- guard(st.db.Close) }()
	select {
	case err := <-done:
		if err == nil {
			return nil
		}
	case <-time.After(time.Second):
	}
	unlockFile(st.file)
	return st.file.Close()
}

// Ping reports whether the store can be used: nil when it can, an error
// matching bot.ErrClosed after Close, and the damage (matching ErrDamaged)
// once a call has found the file damaged. It does not touch the file.
func (st *Store) Ping(ctx context.Context) error {
	if err := st.broken(); err != nil {
		return err
	}
	if st.closed.Load() {
		return bot.ErrClosed
	}
	return ctx.Err()
}

// maxBatchSize is how many Saves and Deletes one group commit takes at
// most (bbolt's default for DB.Batch).
const maxBatchSize = 1000

// errTrySolo asks a batch member to run again in its own transaction.
var errTrySolo = errors.New("boltstore: run the batch function alone")

// batchCall is one member of a group commit.
type batchCall struct {
	fn  func(*bbolt.Tx) error
	err chan error
}

// pendingBatch is a group commit being gathered.
type pendingBatch struct {
	once  sync.Once
	timer *time.Timer
	calls []batchCall
}

// batch is bbolt's DB.Batch, but with the commit run under guard: DB.Batch
// commits on a timer goroutine of its own, where a panic or a fault on a
// damaged page would take the process down. fn may run several times, as
// with DB.Batch; only its last run is committed.
func (st *Store) batch(fn func(*bbolt.Tx) error) error {
	errc := make(chan error, 1)
	st.batchMu.Lock()
	if st.pending == nil {
		p := &pendingBatch{}
		p.timer = time.AfterFunc(batchDelay, func() { st.runBatch(p) })
		st.pending = p
	}
	p := st.pending
	p.calls = append(p.calls, batchCall{fn: fn, err: errc})
	if len(p.calls) >= maxBatchSize {
		st.pending = nil
		go st.runBatch(p)
	}
	st.batchMu.Unlock()
	err := <-errc
	if err == errTrySolo {
		err = st.update(fn)
	}
	return err
}

func (st *Store) runBatch(p *pendingBatch) {
	p.once.Do(func() {
		st.batchMu.Lock()
		p.timer.Stop()
		if st.pending == p {
			st.pending = nil
		}
		st.batchMu.Unlock()
		for len(p.calls) > 0 {
			if err := st.broken(); err != nil {
				// A write that panicked may still hold bbolt's writer
				// lock: starting another would wait for it forever.
				for _, c := range p.calls {
					c.err <- err
				}
				return
			}
			failed := -1
			err := st.update(func(tx *bbolt.Tx) error {
				for i, c := range p.calls {
					if err := c.fn(tx); err != nil {
						failed = i
						return err
					}
				}
				return nil
			})
			if failed >= 0 && !errors.Is(err, ErrDamaged) {
				// Take the failing call out and let it run alone; the
				// others try again together.
				c := p.calls[failed]
				p.calls[failed] = p.calls[len(p.calls)-1]
				p.calls = p.calls[:len(p.calls)-1]
				c.err <- errTrySolo
				continue
			}
			for _, c := range p.calls {
				c.err <- err
			}
			if err == nil {
				st.committed()
			}
			return
		}
	})
}
