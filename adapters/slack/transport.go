package slack

import (
	"net"
	"net/http"
	"time"
)

// Connection tuning of the shared transport. Slack answers in 50–300 ms,
// so a busy bot has up to MaxPostsInFlight calls open at once: each needs
// a kept-alive connection, or it pays a TCP and TLS handshake per call.
const (
	dialTimeout         = 5 * time.Second
	tlsHandshakeTimeout = 5 * time.Second
	idleConnTimeout     = 90 * time.Second
	// connHeadroom is the connections allowed beyond the posting bound:
	// auth.test, Socket Mode's apps.connections.open, and response URLs
	// on the API host (tests, proxies) do not take a posting slot.
	connHeadroom = 16
)

// newTransport is the one HTTP transport of every Slack Web API call and
// response URL post of an adapter, sized for inFlight calls at once:
// slack-go's default client (http.DefaultClient) keeps only 2 idle
// connections per host, so without this every burst of posts beyond 2
// opened new connections and threw them away.
func newTransport(inFlight int) *http.Transport {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment, // an egress proxy, as with the default
		DialContext: (&net.Dialer{
			Timeout:   dialTimeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		// Slack offers HTTP/2; with it, calls share a few multiplexed
		// connections. A custom DialContext turns HTTP/2 off unless asked.
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          inFlight + connHeadroom,
		MaxIdleConnsPerHost:   inFlight + connHeadroom,
		MaxConnsPerHost:       inFlight + connHeadroom,
		IdleConnTimeout:       idleConnTimeout,
		TLSHandshakeTimeout:   tlsHandshakeTimeout,
		ExpectContinueTimeout: time.Second,
	}
}
