package discord

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// TestDeliveriesOrderBoundAndCleanup: work of one key runs in order, one
// at a time; keys run in parallel; the (max+1)th delivery waits for room
// and is counted; an idle key leaves nothing behind.
func TestDeliveriesOrderBoundAndCleanup(t *testing.T) {
	d := newDeliveries(2)
	release := map[string]chan struct{}{"a": make(chan struct{}), "b": make(chan struct{})}
	started := make(chan string, 10)
	var mu sync.Mutex
	var ran []string
	job := func(key string, k int) func() {
		return func() {
			started <- fmt.Sprint(key, k)
			if k == 0 {
				<-release[key]
			}
			mu.Lock()
			ran = append(ran, fmt.Sprint(key, k))
			mu.Unlock()
		}
	}
	if d.add("a", job("a", 0)) || d.add("b", job("b", 0)) {
		t.Fatal("waited with room in the queue")
	}
	// Both keys run at once: neither waits for the other.
	got := map[string]bool{<-started: true, <-started: true}
	if !got["a0"] || !got["b0"] {
		t.Fatalf("started %v, want a0 and b0 in parallel", got)
	}
	waited := make(chan bool)
	go func() { waited <- d.add("a", job("a", 1)) }()
	// The third delivery cannot be taken until one finishes.
	for d.fullWaits.Load() == 0 {
		runtime.Gosched()
		select {
		case w := <-waited:
			t.Fatalf("a third delivery was taken with 2 in progress (waited %v)", w)
		default:
		}
	}
	close(release["b"])
	if !<-waited {
		t.Error("add did not report its wait")
	}
	close(release["a"])
	if s := <-started; s != "a1" {
		t.Fatalf("started %s after a0, want a1", s)
	}
	for d.queued() != 0 {
		runtime.Gosched() // a1 finishing (a hang here is a lost delivery)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(ran) != "[b0 a0 a1]" {
		t.Errorf("ran %v, want [b0 a0 a1]: a1 after a0", ran)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.queues) != 0 {
		t.Errorf("idle keys left behind: %v", d.queues)
	}
}
