package redisstore

import (
	"context"
	"syscall"
	"testing"
	"time"

	"troubleshooter/adapters/redisstore/redistest"
)

// A lease whose SETNX reached Redis but whose reply was lost (Redis hung
// mid-outage) is released once Redis answers again, instead of blocking the
// conversation for the lease's whole ttl.
func TestLostLeaseIsReleasedAfterAnOutage(t *testing.T) {
	t.Run("Lock", func(t *testing.T) {
		testLostLease(t, func(st *Store, ctx context.Context) error {
			_, err := st.Lock(ctx, "conv", 10*time.Second)
			return err
		})
	})
	// LockLoad goes through the pipelined connection: the same holds.
	t.Run("LockLoad", func(t *testing.T) {
		testLostLease(t, func(st *Store, ctx context.Context) error {
			_, _, err := st.LockLoad(ctx, "conv", 10*time.Second)
			return err
		})
	})
}

func testLostLease(t *testing.T, lease func(st *Store, ctx context.Context) error) {
	url, proc := redistest.Start(t)
	st, err := Open(context.Background(), Config{URL: url, Prefix: "lease:", Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := proc.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	err = lease(st, ctx)
	cancel()
	if err == nil {
		t.Fatal("took a lease while Redis was stopped")
	}
	if err := proc.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// Redis now runs the SETNX it had queued: the lease exists, held by
	// nobody. It must be gone well before its 10 s ttl.
	deadline := time.Now().Add(3 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		unlock, err := st.Lock(ctx, "conv", 10*time.Second)
		cancel()
		if err == nil {
			unlock()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the conversation is still leased 3 s after Redis came back: %v", err)
		}
	}
}
