package report

import (
	"context"
	"errors"
	"runtime"
	"testing"
)

// TestCoalescerLeaderGoneAway: when the request whose read others share
// goes away mid-read, the others read for themselves rather than fail; a
// waiter whose own request goes away stops waiting.
func TestCoalescerLeaderGoneAway(t *testing.T) {
	var c coalescer
	leaderIn, leaderOut := make(chan struct{}), make(chan struct{})
	go func() {
		_, err := c.do(context.Background(), "k", func(context.Context) ([]byte, error) {
			close(leaderIn)
			<-leaderOut
			return nil, context.Canceled // its client went away
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("leader: %v", err)
		}
	}()
	<-leaderIn
	gone, cancel := context.WithCancel(context.Background())
	goneErr := make(chan error, 1)
	go func() {
		_, err := c.do(gone, "k", func(context.Context) ([]byte, error) { return nil, errors.New("must not be called") })
		goneErr <- err
	}()
	own := make(chan []byte, 1)
	go func() {
		rep, err := c.do(context.Background(), "k", func(context.Context) ([]byte, error) { return []byte("mine"), nil })
		if err != nil {
			t.Errorf("waiter: %v", err)
		}
		own <- rep
	}()
	for c.waiters() < 2 {
		runtime.Gosched()
	}
	cancel()
	if err := <-goneErr; !errors.Is(err, context.Canceled) {
		t.Errorf("a waiter whose request went away: %v", err)
	}
	close(leaderOut)
	if rep := <-own; string(rep) != "mine" {
		t.Error("the waiter got no report after the leader went away")
	}
}
