package discord

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// barrierServer is a REST API on loopback that answers followups only
// once n requests are waiting together (so n calls are truly in flight at
// once), and counts the TCP connections clients open to it.
type barrierServer struct {
	srv   *httptest.Server
	n     int
	conns atomic.Int64
	mu    sync.Mutex
	wave  chan struct{}
	count int
}

func newBarrierServer(t *testing.T, n int) *barrierServer {
	b := &barrierServer{n: n, wave: make(chan struct{})}
	b.srv = httptest.NewUnstartedServer(http.HandlerFunc(b.serve))
	b.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			b.conns.Add(1)
		}
	}
	b.srv.Start()
	t.Cleanup(b.srv.Close)
	return b
}

func (b *barrierServer) serve(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	b.mu.Lock()
	wave := b.wave
	b.count++
	if b.count == b.n {
		close(wave)
		b.count, b.wave = 0, make(chan struct{})
	}
	b.mu.Unlock()
	select {
	case <-wave:
	case <-time.After(10 * time.Second): // a hang guard: the test then fails on its count
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"id":"1100000000000000001","channel_id":"1","content":"ok"}`)
}

// TestRESTClientKeepsConnections is issue 14's check of the REST client's
// sizing: two waves of 32 followups in flight at once open 32 connections
// in all — the second wave reuses the first's. Go's default transport
// keeps 2 idle connections per host, so it opened 62 (a TLS handshake
// each against the real Discord).
func TestRESTClientKeepsConnections(t *testing.T) {
	const n = 32
	b := newBarrierServer(t, n)
	a, err := New(Config{Token: fakeToken, ApplicationID: "900000000000000001", APIURL: b.srv.URL}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	for wave := range 2 {
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for k := range n {
			wg.Go(func() {
				i := &discordgo.Interaction{ID: fmt.Sprint(k), AppID: "900000000000000001", Token: fmt.Sprintf("tok-%d-%d", wave, k)}
				if _, err := a.followup(i, &discordgo.WebhookParams{Content: "hi"}); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("wave %d: %v", wave, err)
		}
	}
	if got := b.conns.Load(); got > n {
		t.Errorf("two waves of %d concurrent followups opened %d connections; want at most %d (the second wave reuses them)", n, got, n)
	}
}
