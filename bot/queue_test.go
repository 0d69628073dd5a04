package bot

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestTurnQueueIsFIFO(t *testing.T) {
	q := newTurnQueue()
	ctx := context.Background()
	if err := q.acquire(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := q.acquire(ctx, "k"); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			q.release("k")
		}()
		// Wait until waiter i is in line before starting the next, so the
		// arrival order is known.
		for waiting(q, "k") != i+1 {
			time.Sleep(100 * time.Microsecond)
		}
	}
	q.release("k")
	wg.Wait()
	for i, v := range order {
		if v != i {
			t.Fatalf("turns ran in order %v, want arrival order", order)
		}
	}
	if waiting(q, "k") != -1 {
		t.Error("the key was not freed after the last turn")
	}
}

func waiting(q *turnQueue, key string) int {
	sh := q.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	l := sh.lines[key]
	if l == nil {
		return -1
	}
	return len(l.waiting)
}

func TestTurnQueueWaiterGivesUp(t *testing.T) {
	q := newTurnQueue()
	if err := q.acquire(context.Background(), "k"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := q.acquire(ctx, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("acquire on a held key with an expiring context = %v, want deadline exceeded", err)
	}
	q.release("k")
	if err := q.acquire(context.Background(), "k"); err != nil {
		t.Fatalf("key stuck after a waiter gave up: %v", err)
	}
}
