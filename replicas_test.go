package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"troubleshooter/adapters/redisstore"
	"troubleshooter/adapters/redisstore/redistest"
	"troubleshooter/bot"
	"troubleshooter/flows"
)

func openRedis(t *testing.T, url, prefix string, timeout time.Duration) *redisstore.Store {
	t.Helper()
	st, err := redisstore.Open(context.Background(), redisstore.Config{URL: url, Prefix: prefix, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.DeletePrefix(context.Background()); err != nil && err != bot.ErrClosed {
			t.Logf("cleanup: %v", err)
		}
		st.Close()
	})
	return st
}

// scripts are conversations of different shapes, with commands and
// re-asks, so that ordering mistakes change where they end.
var scripts = [][]string{
	{"hi", "on", "3 GB", "5 GB", "no", "17.4.1", "2.24.21.77", "no", "yes"},
	{"hi", "off", "no", "1 GB", "back", "2 GB", "50 GB", "26.1", "25.33.75", "no", "green", "no", "on", "no", "no"},
	{"it says not enough iCloud storage", "no", "skip", "skip", "no", "status", "yes"},
	{"hi", "purple", "on", "lots", "3 GB", "not sure", "6 GB", "16", "2.2", "no", "restart", "off", "yes"},
}

// sequentialEnd runs a script on a fresh memory store, one message at a
// time, and returns where the conversation ends.
func sequentialEnd(t *testing.T, runner *flows.Runner, script []string) (string, string) {
	t.Helper()
	e := bot.NewEngine(bot.NewMemoryStore(), runner, bot.EngineConfig{}, nil)
	var res bot.Result
	for i, text := range script {
		var err error
		res, err = e.Handle(context.Background(), bot.Message{Address: bot.Address{Platform: "seq", User: "u"}, ID: strconv.Itoa(i), Text: text})
		if err != nil {
			t.Fatal(err)
		}
	}
	return res.Step, res.Outcome
}

// TestTwoReplicasOneRedis: 200 conversations whose messages are spread at
// random over two engines, each message delivered twice (to either
// replica): every conversation ends where a sequential run ends, and every
// event is answered exactly once.
func TestTwoReplicasOneRedis(t *testing.T) {
	url := redistest.URL(t)
	runner := builtinGuides(t)
	prefix := fmt.Sprintf("tstest-replicas-%d:", time.Now().UnixNano())
	engines := [2]*bot.Engine{
		bot.NewEngine(openRedis(t, url, prefix, 0), runner, bot.EngineConfig{}, nil),
		bot.NewEngine(openRedis(t, url, prefix, 0), runner, bot.EngineConfig{}, nil),
	}
	type want struct{ step, outcome string }
	wants := make([]want, len(scripts))
	for i, s := range scripts {
		wants[i].step, wants[i].outcome = sequentialEnd(t, runner, s)
	}

	const conversations = 200
	var answered, duplicates atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32) // bounded concurrency
	results := make([]bot.Result, conversations)
	for c := range conversations {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			addr := bot.Address{Platform: "replica-test", Channel: "c", User: "u" + strconv.Itoa(c)}
			for i, text := range scripts[c%len(scripts)] {
				m := bot.Message{Address: addr, ID: fmt.Sprintf("c%d-m%d", c, i), Text: text}
				var got [2]bot.Result
				var inner sync.WaitGroup
				targets := [2]*bot.Engine{engines[rng.IntN(2)], engines[rng.IntN(2)]}
				for d := range 2 {
					inner.Add(1)
					go func() {
						defer inner.Done()
						res, err := targets[d].Handle(context.Background(), m)
						if err != nil {
							t.Errorf("conversation %d message %d: %v", c, i, err)
						}
						got[d] = res
					}()
				}
				inner.Wait()
				n := 0
				for _, r := range got {
					if r.Duplicate {
						duplicates.Add(1)
					} else {
						n++
						results[c] = r
					}
				}
				answered.Add(int64(n))
				if n != 1 {
					t.Errorf("conversation %d message %d answered %d times", c, i, n)
				}
			}
		}()
	}
	wg.Wait()
	for c, r := range results {
		w := wants[c%len(scripts)]
		if r.Step != w.step || r.Outcome != w.outcome {
			t.Errorf("conversation %d ended at %s/%s, a sequential run at %s/%s", c, r.Step, r.Outcome, w.step, w.outcome)
		}
	}
	t.Logf("%d events answered once each; %d redeliveries recognised", answered.Load(), duplicates.Load())
}

// stallFlow stalls its first Respond, as a replica that pauses (GC, a
// slow disk) past its lease would.
type stallFlow struct {
	bot.Flow
	once  sync.Once
	stall time.Duration
}

func (f *stallFlow) Respond(s *bot.Session, m bot.Message) (bot.Turn, error) {
	f.once.Do(func() { time.Sleep(f.stall) })
	return f.Flow.Respond(s, m)
}

// TestLeaseExpiryMidTurn: replica A stalls past its lease while handling a
// message; replica B takes over the conversation. Nothing is lost and
// nothing is applied twice.
func TestLeaseExpiryMidTurn(t *testing.T) {
	url := redistest.URL(t)
	runner := builtinGuides(t)
	prefix := fmt.Sprintf("tstest-lease-%d:", time.Now().UnixNano())
	cfg := bot.EngineConfig{LeaseTTL: 50 * time.Millisecond}
	storeA, storeB := openRedis(t, url, prefix, 0), openRedis(t, url, prefix, 0)
	a := bot.NewEngine(storeA, &stallFlow{Flow: runner, stall: 300 * time.Millisecond}, cfg, nil)
	b := bot.NewEngine(storeB, runner, cfg, nil)
	addr := bot.Address{Platform: "lease-test", User: "u"}
	ctx := context.Background()

	// The same event, redelivered to B while A stalls on it.
	var resA bot.Result
	var errA error
	done := make(chan struct{})
	go func() {
		resA, errA = a.Handle(ctx, bot.Message{Address: addr, ID: "e1", Text: "hi"})
		close(done)
	}()
	time.Sleep(100 * time.Millisecond) // A holds the lease, then it expires
	resB, err := b.Handle(ctx, bot.Message{Address: addr, ID: "e1", Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	<-done
	if errA != nil {
		t.Fatal(errA)
	}
	if resA.Duplicate == resB.Duplicate {
		t.Fatalf("event e1 answered %d times, want once (A dup %v, B dup %v)", 2-btoi(resA.Duplicate)-btoi(resB.Duplicate), resA.Duplicate, resB.Duplicate)
	}

	// Two different messages: A stalls on one while B applies the next;
	// both must be applied, once each.
	a = bot.NewEngine(storeA, &stallFlow{Flow: runner, stall: 300 * time.Millisecond}, cfg, nil)
	done = make(chan struct{})
	go func() {
		resA, errA = a.Handle(ctx, bot.Message{Address: addr, ID: "e2", Text: "on"})
		close(done)
	}()
	time.Sleep(100 * time.Millisecond)
	if _, err := b.Handle(ctx, bot.Message{Address: addr, ID: "e3", Text: "status"}); err != nil {
		t.Fatal(err)
	}
	<-done
	if errA != nil || resA.Duplicate {
		t.Fatalf("A's message: %+v, %v", resA, errA)
	}
	s, err := storeB.Load(ctx, addr.Key())
	if err != nil {
		t.Fatal(err)
	}
	if s.Answers["icloud_access"] != "on" || s.Step != "symptom" || len(s.History) != 1 {
		t.Errorf("after the takeover: step %s answers %v history %d; want the answer applied once", s.Step, s.Answers, len(s.History))
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestRedisOutageMidConversation stops the Redis server mid-conversation:
// the person is told within 2 s, nothing crashes, and the conversation
// continues where it was once Redis is back.
func TestRedisOutageMidConversation(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("TROUBLESHOOTER_REQUIRE_REDIS") != "" {
			t.Fatal("redis-server is not installed but TROUBLESHOOTER_REQUIRE_REDIS is set")
		}
		t.Skip("redis-server is not installed (apt-get install redis-server)")
	}
	dir := t.TempDir()
	port := freePort(t)
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
			"--appendonly", "yes", "--appendfsync", "always", "--save", "")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitPort(t, port)
		return cmd
	}
	srv := start()
	// A cleanup, not a defer: it must run after openRedis's cleanup, which
	// deletes the test's keys from this server.
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })

	runner := builtinGuides(t)
	st := openRedis(t, fmt.Sprintf("redis://127.0.0.1:%d/0", port), "outage:", 500*time.Millisecond)
	e := bot.NewEngine(st, runner, bot.EngineConfig{StoreTimeout: time.Second}, nil)
	const people = 20
	say := func(p int, id, text string) (bot.Result, error) {
		addr := bot.Address{Platform: "outage-test", User: fmt.Sprint("u", p)}
		return e.Handle(context.Background(), bot.Message{Address: addr, ID: id, Text: text})
	}
	for p := range people {
		if _, err := say(p, "1", "hi"); err != nil {
			t.Fatal(err)
		}
		if res, err := say(p, "2", "on"); err != nil || res.Step != "symptom" {
			t.Fatalf("%+v %v", res, err)
		}
		if res, err := say(p, "2b", "fails"); err != nil || res.Step != "backup_size" {
			t.Fatalf("%+v %v", res, err)
		}
	}

	_ = srv.Process.Kill() // a crash, not a clean shutdown
	_ = srv.Wait()
	// Everyone answers during the outage: each must be told (an error,
	// which adapters turn into bot.TroubleReply) promptly, not hang.
	waits := make([]time.Duration, people)
	var wg sync.WaitGroup
	for p := range people {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			if _, err := say(p, "3", "3 GB"); err == nil {
				t.Errorf("person %d: a turn succeeded with Redis down", p)
			}
			waits[p] = time.Since(t0)
		}()
	}
	wg.Wait()
	slowest := slices.Max(waits)
	if slowest > 2*time.Second {
		t.Errorf("the slowest of %d people waited %s to be told", people, slowest)
	}

	srv = start()
	recovered := time.Now()
	for p := range people {
		var res bot.Result
		deadline := time.Now().Add(5 * time.Second)
		for {
			res, err = say(p, "3", "3 GB") // the platform redelivers
			if err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("person %d: no recovery after Redis came back: %v", p, err)
		}
		if res.Step != "free_space" {
			t.Errorf("person %d: after the outage the conversation is at %s, want free_space (state lost?)", p, res.Step)
		}
	}
	t.Logf("outage: %d people mid-flow, all told within %s (limit 2s); all %d continued where they were within %s of Redis returning",
		people, slowest.Round(time.Millisecond), people, time.Since(recovered).Round(time.Millisecond))
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitPort(t *testing.T, port int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 100*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("redis-server did not start on port %d", port)
}
