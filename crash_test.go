package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"troubleshooter/adapters/boltstore"
	"troubleshooter/adapters/redisstore"
	"troubleshooter/adapters/redisstore/redistest"
	"troubleshooter/bot"
)

// crashChildEnv makes the test binary act as a bot process for
// TestCrashRecovery: it reads "conversation\tevent id\ttext" lines, handles
// each through the real engine over the store named by the variable
// ("bolt:PATH" or "redis:PREFIX", with REDIS_URL), and writes
// "event id\tstep\tduplicate" once the turn is saved (the ack).
const crashChildEnv = "TROUBLESHOOTER_CRASH_CHILD_STORE"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		if err := crashChild(path, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// openCrashStore opens the store a crash test names.
func openCrashStore(spec string) (bot.Store, error) {
	kind, arg, _ := strings.Cut(spec, ":")
	switch kind {
	case "bolt":
		return boltstore.Open(arg)
	case "redis":
		return redisstore.Open(context.Background(), redisstore.Config{URL: os.Getenv("REDIS_URL"), Prefix: arg})
	}
	return nil, fmt.Errorf("unknown store %q", spec)
}

func crashChild(spec string, in io.Reader, out io.Writer) error {
	cfg := defaultConfig()
	cfg.Guides.Default = "whatsapp-icloud" // the scripts greet with "hi"
	runner, err := loadGuides(cfg)
	if err != nil {
		return err
	}
	st, err := openCrashStore(spec)
	if err != nil {
		return err
	}
	defer st.Close()
	// No turn deadline: the test floods each conversation with a burst
	// (no throttle in front), and checks durability, not latency.
	e := bot.NewEngine(st, runner, bot.EngineConfig{TurnTimeout: -1}, nil)
	var outMu sync.Mutex
	var redelivered atomic.Int64
	w := bufio.NewWriter(out)
	queues := map[string]chan [2]string{}
	var wg sync.WaitGroup
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), "\t", 3)
		if len(f) != 3 {
			return fmt.Errorf("bad line %q", sc.Text())
		}
		q := queues[f[0]]
		if q == nil {
			// One worker per conversation keeps its messages in order;
			// conversations run in parallel, so saves group-commit.
			q = make(chan [2]string, 64)
			queues[f[0]] = q
			wg.Add(1)
			go func(conv string) {
				defer wg.Done()
				for msg := range q {
					m := bot.Message{Address: bot.Address{Platform: "crash", User: conv}, ID: msg[0], Text: msg[1]}
					res, err := e.Handle(context.Background(), m)
					// A failed turn changed nothing; platforms redeliver it,
					// and so does this child, for up to 30 s. (After a
					// SIGKILL on Redis, the dead process's leases hold
					// their conversations until the lease TTL runs out.)
					for deadline := time.Now().Add(30 * time.Second); err != nil && time.Now().Before(deadline); {
						redelivered.Add(1)
						time.Sleep(100 * time.Millisecond)
						res, err = e.Handle(context.Background(), m)
					}
					if err != nil {
						fmt.Fprintln(os.Stderr, "handle:", err)
						os.Exit(1)
					}
					outMu.Lock()
					fmt.Fprintf(w, "%s\t%s\t%v\n", msg[0], res.Step, res.Duplicate)
					w.Flush()
					outMu.Unlock()
				}
			}(f[0])
		}
		q <- [2]string{f[1], f[2]}
	}
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	fmt.Fprintf(os.Stderr, "crash child: %d failed turns redelivered\n", redelivered.Load())
	return sc.Err()
}

// TestCrashRecovery runs the bot as a child process over a bolt file and
// over Redis, feeds 1,000 live conversations, kills it with SIGKILL
// mid-stream, restarts it and redelivers everything not acknowledged plus
// the last acknowledged message of each conversation (as platforms
// redeliver): no session is lost or corrupted, no acknowledged step is
// applied twice, and every conversation ends where a sequential run ends.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	t.Run("bolt", func(t *testing.T) {
		crashRecovery(t, "bolt:"+filepath.Join(t.TempDir(), "crash.db"))
	})
	t.Run("redis", func(t *testing.T) {
		url := redistest.URL(t)
		prefix := fmt.Sprintf("crash-test-%d:", time.Now().UnixNano())
		openRedis(t, url, prefix, time.Second) // deletes the prefix afterwards
		crashRecovery(t, "redis:"+prefix)
	})
}

func crashRecovery(t *testing.T, store string) {
	runner := builtinGuides(t)
	ends := make([]string, len(scripts))
	for i, s := range scripts {
		ends[i], _ = sequentialEnd(t, runner, s)
	}
	const conversations = 1000
	type msg struct{ conv, id, text string }
	var all []msg // round-robin over conversations, in each one's order
	for i := 0; ; i++ {
		added := false
		for c := range conversations {
			if s := scripts[c%len(scripts)]; i < len(s) {
				all = append(all, msg{fmt.Sprintf("c%d", c), fmt.Sprintf("c%d-m%d", c, i), s[i]})
				added = true
			}
		}
		if !added {
			break
		}
	}

	start := func() (*exec.Cmd, io.WriteCloser, *bufio.Scanner) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+store)
		in, out := startPiped(t, cmd)
		return cmd, in, bufio.NewScanner(out)
	}

	// First process: send everything, kill it after a third is acknowledged.
	acked := map[string]bool{}
	lastAcked := map[string]msg{}
	byID := map[string]msg{}
	for _, m := range all {
		byID[m.id] = m
	}
	cmd, in, out := start()
	go func() {
		w := bufio.NewWriter(in)
		for _, m := range all {
			fmt.Fprintf(w, "%s\t%s\t%s\n", m.conv, m.id, m.text)
		}
		w.Flush() // the pipe may already be broken by the kill
	}()
	killAt := len(all) / 3
	for out.Scan() {
		f := strings.Split(out.Text(), "\t")
		acked[f[0]] = true
		lastAcked[byID[f[0]].conv] = byID[f[0]]
		if len(acked) == killAt {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	_ = cmd.Wait() // killed
	t.Logf("killed after %d of %d messages were acknowledged", len(acked), len(all))

	// Second process: redeliver the last acknowledged message of each
	// conversation, then everything unacknowledged, in order.
	var resend []msg
	for c := range conversations {
		if m, ok := lastAcked[fmt.Sprintf("c%d", c)]; ok {
			resend = append(resend, m)
		}
	}
	for _, m := range all {
		if !acked[m.id] {
			resend = append(resend, m)
		}
	}
	cmd, in, out = start()
	go func() {
		w := bufio.NewWriter(in)
		for _, m := range resend {
			fmt.Fprintf(w, "%s\t%s\t%s\n", m.conv, m.id, m.text)
		}
		w.Flush()
		in.Close()
	}()
	applied := 0
	for out.Scan() {
		f := strings.Split(out.Text(), "\t")
		dup, _ := strconv.ParseBool(f[2])
		if acked[f[0]] && !dup {
			t.Errorf("acknowledged event %s was applied again after the restart", f[0])
		}
		if !dup {
			applied++
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("second process: %v", err)
	}

	st, err := openCrashStore(store)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for c := range conversations {
		s, err := st.Load(context.Background(), bot.Address{Platform: "crash", User: fmt.Sprintf("c%d", c)}.Key())
		if err != nil {
			t.Errorf("conversation %d lost or corrupt: %v", c, err)
			continue
		}
		if want := ends[c%len(scripts)]; s.Step != want {
			t.Errorf("conversation %d ended at %s, a sequential run at %s", c, s.Step, want)
		}
	}
	t.Logf("after the restart: %d redeliveries, %d applied for the first time, 0 applied twice", len(resend), applied)
}
