package discord

import (
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"
)

// TestRESTBucketsAreForgotten: 50 people's /troubleshoot start over HTTP
// interactions leave no bucket in discordgo's own rate limiter (it kept
// one per interaction token, for ever: 500 interactions, 500 buckets), and
// the adapter's buckets are forgotten once idle for bucketIdle.
func TestRESTBucketsAreForgotten(t *testing.T) {
	const n = 50
	b := newHTTPBot(t)
	f := b.f
	var clock atomic.Int64
	clock.Store(time.Unix(1_000_000, 0).UnixNano())
	b.a.buckets.now = func() time.Time { return time.Unix(0, clock.Load()) }
	for k := range n {
		ia := f.overHTTP(f.slash("", fmt.Sprintf("76%017d", k), fmt.Sprintf("75%017d", k)))
		if code, _ := b.post(t, mustJSON(t, ia), now(), b.priv, nil); code != 200 {
			t.Fatalf("interaction %d: %d", k, code)
		}
		f.waitCall(0, "PATCH", "/api/v9/webhooks/"+f.appID+"/"+ia["token"].(string)+"/messages/@original")
	}
	// The fake records a call before answering it: wait for the turns.
	for deadline := time.Now().Add(10 * time.Second); b.a.work.active() > 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d turns still running", b.a.work.active())
		}
	}
	if got := b.a.buckets.len(); got < n {
		t.Fatalf("%d buckets after %d interactions within bucketIdle; each token's should still be known", got, n)
	}
	if got := reflect.ValueOf(b.a.session.Ratelimiter).Elem().FieldByName("buckets").Len(); got != 0 {
		t.Errorf("discordgo's rate limiter holds %d buckets, want none (they are never forgotten)", got)
	}
	// Once every route has been idle long enough, the next call sweeps.
	clock.Add(int64(bucketIdle))
	b.a.buckets.get("next")
	b.a.buckets.put("next")
	if got := b.a.buckets.len(); got != 1 {
		t.Errorf("%d buckets remembered after %v idle, want just the one in use", got, bucketIdle)
	}
}

// TestRESTBucketInUseIsKept: a bucket a call holds is never swept, even
// when its route has been busy longer than bucketIdle.
func TestRESTBucketInUseIsKept(t *testing.T) {
	r := newRESTBuckets()
	t0 := time.Unix(1_000_000, 0)
	r.now = func() time.Time { return t0 }
	held := r.get("held")
	r.get("done")
	r.put("done")
	t0 = t0.Add(2 * bucketIdle)
	r.get("other")
	if r.len() != 2 {
		t.Errorf("%d buckets, want the held one and the new one", r.len())
	}
	if again := r.get("held"); again != held {
		t.Error("a bucket in use was replaced: two calls on one route would run at once")
	}
}
