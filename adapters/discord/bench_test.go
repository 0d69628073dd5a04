package discord

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkHTTPInteractions drives /troubleshoot start over signed HTTP
// interactions, in DMs (a new conversation each), from 32 concurrent
// senders into the adapter over the real engine and a memory store, with
// every REST call taking 50 ms on the fake. Each sender sends its next
// interaction once the previous one is acknowledged, as the bench's
// discord-http path does. It reports acks a second and the ack's p50 and
// p99, and waits for every reply.
func BenchmarkHTTPInteractions(b *testing.B) {
	for _, latency := range []time.Duration{0, 50 * time.Millisecond, 300 * time.Millisecond} {
		b.Run(fmt.Sprintf("rest=%v", latency), func(b *testing.B) { benchHTTP(b, latency) })
	}
}

func benchHTTP(b *testing.B, latency time.Duration) {
	const senders = 32
	hb := newHTTPBot(b)
	// Keep a connection per sender, as the bench's driver does.
	hb.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	f := hb.f
	if latency > 0 {
		for _, m := range []string{"POST", "PATCH", "DELETE", "GET"} {
			f.delay(m, "/", latency)
		}
	}
	bodies := make([][]byte, b.N)
	for k := range bodies {
		user, dm := fmt.Sprintf("74%017d", k), fmt.Sprintf("75%017d", k)
		bodies[k] = mustJSON(b, f.overHTTP(f.slash("", dm, user)))
	}
	lat := make([]time.Duration, b.N)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for s := range senders {
		wg.Go(func() {
			for k := s; k < b.N; k += senders {
				t0 := time.Now()
				if code, _ := hb.post(b, bodies[k], now(), hb.priv, nil); code != 200 {
					b.Errorf("interaction %d: %d", k, code)
				}
				lat[k] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	f.waitFor("every reply", func() bool {
		n := 0
		for _, c := range f.calls {
			if c.Method == "PATCH" {
				n++
			}
		}
		return n >= b.N
	})
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "acks/s")
	b.ReportMetric(float64(lat[b.N/2].Microseconds())/1000, "ack-p50-ms")
	b.ReportMetric(float64(lat[b.N*99/100].Microseconds())/1000, "ack-p99-ms")
}
