package report

import (
	"context"
	"errors"
	"sync"
)

// coalescer shares one rendered report among requests for the same window,
// guide and format that arrive while it is made: a report costs the same
// whoever asks, and a dashboard opened by a team at once (or a page
// reloaded by 8 tabs) should cost one read of the running counts and one
// rendering, not 8 on 2 cores. The bytes it shares are never changed, so
// callers may write them at the same time.
type coalescer struct {
	mu       sync.Mutex
	inFlight map[string]*flight
	// waiting counts callers waiting on another's result, for tests.
	waiting int
}

type flight struct {
	done chan struct{}
	body []byte
	err  error
}

// do returns fn's result for key: the one in the making for key when there
// is one, else from calling fn. A caller whose context ends stops waiting
// with its error; when the shared call failed because its own caller's
// context ended, the others call fn for themselves.
func (c *coalescer) do(ctx context.Context, key string, fn func(context.Context) ([]byte, error)) ([]byte, error) {
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
		return f.body, f.err
	}
	if c.inFlight == nil {
		c.inFlight = map[string]*flight{}
	}
	f := &flight{done: make(chan struct{})}
	c.inFlight[key] = f
	c.mu.Unlock()

	f.body, f.err = fn(ctx)
	c.mu.Lock()
	delete(c.inFlight, key)
	c.mu.Unlock()
	close(f.done)
	return f.body, f.err
}

// waiters is how many callers wait on another's result.
func (c *coalescer) waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.waiting
}
