package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"troubleshooter/bench"
)

// deliveryChildEnv makes the test binary run `serve` with the config file
// it names, as main does (SIGTERM and SIGINT stop it cleanly), for
// TestDeliveryUnderSignals.
const deliveryChildEnv = "TROUBLESHOOTER_DELIVERY_CHILD_CONFIG"

// TestDeliveryChild is the child process of TestDeliveryUnderSignals; it
// is skipped otherwise.
func TestDeliveryChild(t *testing.T) {
	cfg := os.Getenv(deliveryChildEnv)
	if cfg == "" {
		t.Skip("the child process of TestDeliveryUnderSignals")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() { <-ctx.Done(); stop() }()
	os.Exit(run(ctx, []string{"serve", "--config", cfg}, os.Stdin, os.Stdout, os.Stderr))
}

// slowSlack is a Slack Web API fake whose chat.postMessage takes 50–300 ms,
// as Slack's does, and records each post's channel and text.
type slowSlack struct {
	srv   *httptest.Server
	mu    sync.Mutex
	posts map[string][]string // channel → texts, in order
}

func newSlowSlack(t *testing.T) *slowSlack {
	f := &slowSlack{posts: map[string][]string{}}
	var ts atomic.Int64
	reply := func(w http.ResponseWriter, v map[string]any) {
		v["ok"] = true
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/auth.test", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]any{"user_id": "UBENCHBOT", "bot_id": "BBENCH", "team_id": "TBENCH"})
	})
	mux.HandleFunc("/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		time.Sleep(time.Duration(50+rand.IntN(250)) * time.Millisecond)
		f.mu.Lock()
		ch := r.Form.Get("channel")
		f.posts[ch] = append(f.posts[ch], r.Form.Get("text")+"\n"+r.Form.Get("blocks"))
		f.mu.Unlock()
		reply(w, map[string]any{"channel": r.Form.Get("channel"), "ts": fmt.Sprintf("1700000000.%06d", ts.Add(1))})
	})
	for _, m := range []string{"/chat.update", "/chat.postEphemeral", "/chat.getPermalink", "/conversations.replies"} {
		mux.HandleFunc(m, func(w http.ResponseWriter, r *http.Request) { reply(w, map[string]any{"messages": []any{}}) })
	}
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// answered is how many times channel was sent the reply containing want.
func (f *slowSlack) answered(channel, want string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, p := range f.posts[channel] {
		if strings.Contains(p, want) {
			n++
		}
	}
	return n
}

// botProcess is `serve` running as a child process.
type botProcess struct {
	cmd  *exec.Cmd
	addr string
	mu   sync.Mutex
	log  []string
	done chan error
}

var listeningRE = regexp.MustCompile(`http server listening"? addr=(\S+)`)

// warmUp retries try until the bot answers 200 (platform adapters answer
// 503 until they are ready), for at most 10 s.
func (p *botProcess) warmUp(t *testing.T, try func() (int, error)) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		code, err := try()
		if err == nil && code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the bot never accepted a delivery: %d %v\n%s", code, err, p.logText())
		}
	}
}

// sendConcurrently sends events 0..n-1 from senders goroutines, each by
// send, and returns which were acknowledged and how many were refused.
func sendConcurrently(n, senders int, send func(i int) bool) ([]atomic.Bool, int64) {
	acked := make([]atomic.Bool, n)
	var refused atomic.Int64
	var wg sync.WaitGroup
	var next atomic.Int64
	for range senders {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if send(i) {
					acked[i].Store(true)
				} else {
					refused.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return acked, refused.Load()
}

// startBot starts `serve` with config cfg and waits until it listens.
func startBot(t *testing.T, cfg string) *botProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDeliveryChild$")
	cmd.Env = append(os.Environ(), deliveryChildEnv+"="+cfg)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &botProcess{cmd: cmd, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log = append(p.log, line)
			p.mu.Unlock()
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				addr <- m[1]
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	select {
	case p.addr = <-addr:
	case <-time.After(15 * time.Second):
		t.Fatalf("the bot did not start listening:\n%s", p.logText())
	}
	return p
}

func (p *botProcess) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.log, "\n")
}

// wait waits up to d for the process to exit.
func (p *botProcess) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case err := <-p.done:
		return err
	case <-time.After(d):
		t.Fatalf("the bot did not exit within %v:\n%s", d, p.logText())
		return nil
	}
}

// TestDeliveryUnderSignals is issue 13's reproduction with a real process
// and a fake Slack whose posts take 50–300 ms: 400 signed DM events (each
// a new conversation) from 8 concurrent senders to `serve` over the HTTP
// Events API; right after the last one is acknowledged the process gets
// SIGTERM (a rolling deploy) or SIGKILL (a crash), then a new process
// starts over the same bolt file. Events that got no 2xx are redelivered,
// as Slack does. Every acknowledged event must get its reply (0 lost,
// posted by the stopping process within its grace, or by the new
// process's outbox sweeper), and none more than twice.
func TestDeliveryUnderSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) { deliveryUnderSignal(t, sig) })
	}
}

func deliveryUnderSignal(t *testing.T, sig syscall.Signal) {
	const events, senders = 400, 8
	const question = "allowed to use iCloud"
	api := newSlowSlack(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := `
store:
  kind: bolt
  path: ` + filepath.Join(dir, "bot.db") + `
conversation:
  sweep_every: 200ms
slack:
  mode: http
  bot_token: xoxb-delivery
  signing_secret: ` + bench.SlackSigningSecret + `
  api_url: ` + api.srv.URL + `/
  outbox_after: 2s
http:
  addr: 127.0.0.1:0
  shutdown_grace: 10s
throttle:
  per_minute: 100000
  burst: 100000
log:
  level: info
`
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	defer client.CloseIdleConnections()
	channel := func(i int) string { return fmt.Sprintf("D%d", i) }
	id := func(i int) string { return fmt.Sprintf("Ev%s%d", sig, i) }
	const text = "my whatsapp backup fails"

	bot := startBot(t, cfgPath)
	// 503 until the adapter has checked its token.
	bot.warmUp(t, func() (int, error) {
		return bench.PostSlackEvent(client, "http://"+bot.addr, "EvWarm"+sig.String(), "DWARM", text)
	})

	start := time.Now()
	acked, _ := sendConcurrently(events, senders, func(i int) bool {
		code, err := bench.PostSlackEvent(client, "http://"+bot.addr, id(i), channel(i), text)
		return err == nil && code >= 200 && code < 300
	})
	if err := bot.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	sent := time.Since(start)
	nAcked := 0
	postedBeforeSignal := 0
	for i := range events {
		if acked[i].Load() {
			nAcked++
		}
		if api.answered(channel(i), question) > 0 {
			postedBeforeSignal++
		}
	}
	err := bot.wait(t, 20*time.Second)
	stopLog := ""
	for _, l := range strings.Split(bot.logText(), "\n") {
		if strings.Contains(l, "slack adapter stopped") {
			stopLog = l
		}
	}
	if sig == syscall.SIGTERM {
		if err != nil {
			t.Errorf("after SIGTERM the bot exited with %v", err)
		}
		if stopLog == "" {
			t.Errorf("no shutdown summary logged after SIGTERM:\n%s", bot.logText())
		}
	}
	postedAtExit := 0
	for i := range events {
		if api.answered(channel(i), question) > 0 {
			postedAtExit++
		}
	}

	// The next process, over the same store: Slack redelivers what got no
	// 2xx (this test does it for Slack), and the sweeper posts what was
	// saved but not posted.
	bot2 := startBot(t, cfgPath)
	redelivered := 0
	for i := range events {
		if acked[i].Load() {
			continue
		}
		for attempt := 0; ; attempt++ {
			code, err := bench.PostSlackEvent(client, "http://"+bot2.addr, id(i), channel(i), text)
			if err == nil && code >= 200 && code < 300 {
				redelivered++
				break
			}
			if attempt > 100 {
				t.Fatalf("event %d was refused 100 times: %d %v", i, code, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	lost := func() int {
		n := 0
		for i := range events {
			if api.answered(channel(i), question) == 0 {
				n++
			}
		}
		return n
	}
	for deadline := time.Now().Add(15 * time.Second); lost() > 0 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2500 * time.Millisecond) // a second copy, if any, would come now
	_ = bot2.cmd.Process.Signal(syscall.SIGTERM)
	if err := bot2.wait(t, 20*time.Second); err != nil {
		t.Errorf("the second bot exited with %v", err)
	}
	twice, more := 0, 0
	for i := range events {
		switch n := api.answered(channel(i), question); {
		case n == 2:
			twice++
		case n > 2:
			more++
		}
	}
	nLost := lost()
	t.Logf("%s: %d events in %v from %d senders: %d acknowledged (2xx), %d refused and redelivered to the next process; replies posted before the signal %d, at exit %d; after the restart: %d lost, %d posted twice, %d more than twice",
		sig, events, sent.Round(time.Millisecond), senders, nAcked, redelivered, postedBeforeSignal, postedAtExit, nLost, twice, more)
	if stopLog != "" {
		t.Logf("%s: %s", sig, stopLog[strings.Index(stopLog, "msg="):])
	}
	if nLost > 0 {
		t.Errorf("%d of %d events never got their reply (%d had been acknowledged)", nLost, events, nAcked)
	}
	if more > 0 {
		t.Errorf("%d events got their reply more than twice", more)
	}
}
