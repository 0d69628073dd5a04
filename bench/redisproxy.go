package bench

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
)

// redisProxy is a loopback TCP proxy in front of Redis that counts round
// trips: a client's request, however many writes it takes, up to the
// server's answer. go-redis sends one command or one pipeline at a time
// on a connection and waits for the answer, so on each connection a
// round trip starts whenever the client writes after the server last
// wrote. The redis store does not expose its client, so the count is
// taken on the wire instead.
type redisProxy struct {
	// URL is the Redis URL to give the stores: the original with the
	// proxy's address.
	URL string
	// RoundTrips counts round trips over all connections so far.
	RoundTrips atomic.Int64

	ln       net.Listener
	upstream string
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
}

// startRedisProxy listens on a free loopback port and forwards to the
// Redis of redisURL (redis:// only: the proxy cannot see inside TLS).
func startRedisProxy(redisURL string) (*redisProxy, error) {
	u, err := url.Parse(redisURL)
	if err != nil || u.Scheme != "redis" || u.Host == "" {
		return nil, errors.New("bench: --redis-round-trips needs a redis:// REDIS_URL with a host")
	}
	upstream := u.Host
	if u.Port() == "" {
		upstream = net.JoinHostPort(u.Hostname(), "6379")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: redis proxy: %w", err)
	}
	u.Host = ln.Addr().String()
	p := &redisProxy{URL: u.String(), ln: ln, upstream: upstream, conns: make(map[net.Conn]struct{})}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

func (p *redisProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		s, err := net.Dial("tcp", p.upstream)
		if err != nil {
			c.Close() // the client sees a closed connection, as with Redis down
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[s] = struct{}{}, struct{}{}
		p.mu.Unlock()
		// serverLast is whether the server wrote last on this connection.
		var serverLast atomic.Bool
		serverLast.Store(true)
		p.wg.Add(2)
		go p.pipe(s, c, func() {
			if serverLast.Swap(false) {
				p.RoundTrips.Add(1)
			}
		})
		go p.pipe(c, s, func() { serverLast.Store(true) })
	}
}

// pipe copies from src to dst, calling onData before forwarding each
// read, until either side closes; then it closes both.
func (p *redisProxy) pipe(dst, src net.Conn, onData func()) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			onData()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	dst.Close()
	src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

// Close stops the proxy and closes its connections, then waits for its
// goroutines.
func (p *redisProxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

var _ io.Closer = (*redisProxy)(nil)
