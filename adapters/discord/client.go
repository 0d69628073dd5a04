package discord

import (
	"net"
	"net/http"
	"time"
)

// Timeouts of the REST client. Every call also has restCallTimeout as its
// deadline (http.Client.Timeout, which covers the wait for a slot and for
// pacing too), so nothing waits on Discord forever.
const (
	restCallTimeout     = 20 * time.Second
	restDialTimeout     = 5 * time.Second
	restTLSTimeout      = 5 * time.Second
	restHeaderTimeout   = 15 * time.Second
	restIdleConnTimeout = 90 * time.Second
)

// newRESTTransport is the one transport of the adapter's REST client,
// sized for maxInFlight calls at once: as many keep-alive connections are
// kept per host, so a burst does not end in a TLS handshake per call (Go's
// default keeps 2 per host), and HTTP/2 is tried first, which Discord
// offers. Every phase has a timeout.
func newRESTTransport(maxInFlight int) *http.Transport {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   restDialTimeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          maxInFlight,
		MaxIdleConnsPerHost:   maxInFlight,
		IdleConnTimeout:       restIdleConnTimeout,
		TLSHandshakeTimeout:   restTLSTimeout,
		ResponseHeaderTimeout: restHeaderTimeout,
		ExpectContinueTimeout: time.Second,
	}
}
