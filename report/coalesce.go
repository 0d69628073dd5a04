package report

import (
	"context"
	"errors"
	"sync"
)

// coalescer shares one Build among requests for the same window and guide
// that arrive while it runs: a report costs the same whoever asks, and a
// dashboard opened by a team at once (or a page reloaded by 8 tabs) should
// cost one read of the running counts, not 8 on 2 cores. The report it
// shares is never changed after Build returns, so callers may render it at
// the same time.
type coalescer struct {
	mu       sync.Mutex
	inFlight map[string]*flight
	// waiting counts callers waiting on another's Build, for tests.
	waiting int
}

type flight struct {
	done chan struct{}
	rep  *Report
	err  error
}

// do returns fn's result for key: from the Build in flight for key when
// there is one, else from calling fn. A caller whose context ends stops
// waiting with its error; when the shared Build failed because its own
// caller's context ended, the others build for themselves.
func (c *coalescer) do(ctx context.Context, key string, fn func(context.Context) (*Report, error)) (*Report, error) {
	c.mu.Lock()
	if f := c.inFlight[key]; f != nil {
		c.waiting++
		c.mu.Unlock()
		defer func() {
			c.mu.Lock()
			c.waiting--
			c.mu.Unlock()
		}()
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if f.err != nil && (errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) && ctx.Err() == nil {
			return fn(ctx)
		}
		return f.rep, f.err
	}
	if c.inFlight == nil {
		c.inFlight = map[string]*flight{}
	}
	f := &flight{done: make(chan struct{})}
	c.inFlight[key] = f
	c.mu.Unlock()

	f.rep, f.err = fn(ctx)
	c.mu.Lock()
	delete(c.inFlight, key)
	c.mu.Unlock()
	close(f.done)
	return f.rep, f.err
}

// waiters is how many callers wait on another's Build.
func (c *coalescer) waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.waiting
}
