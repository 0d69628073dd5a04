// Package bench is the load harness behind `troubleshooter bench`: it
// drives synthetic conversations through the real engine and guide (or,
// with the slack-http and discord-http paths, through the real Slack or
// Discord adapter over loopback HTTP, replying to fake platform APIs that
// add latency and enforce the platforms' rate limits) and reports
// throughput, latency and memory as one JSON line. See BENCHMARKS.md.
package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"troubleshooter/adapters/boltstore"
	"troubleshooter/adapters/redisstore"
	"troubleshooter/bot"
)

// Script is one pass through the WhatsApp guide per conversation: a first
// message routed by the matcher, the storage fix, the iPhone space, the
// update fix, Apple's status, then a restart. It exercises routing and
// parsing (choices, sizes, versions, yes/no), checks, templates and saves.
var Script = []string{"my whatsapp backup keeps failing", "on", "fails", "3 GB", "5 GB", "no", "yes", "17.4.1", "2.24.21.77", "no", "green", "restart"}

// Result is the harness's last line.
type Result struct {
	// Store is the store measured; "external" with --target, whose bot
	// has its own.
	Store         string  `json:"store"`
	Path          string  `json:"path"`
	Conversations int     `json:"conversations"`
	Messages      int64   `json:"messages"`
	MsgsPerS      float64 `json:"msgs_per_s"`
	P50us         float64 `json:"p50_us"`
	P99us         float64 `json:"p99_us"`
	AllocsPerMsg  float64 `json:"allocs_per_msg"`
	RSSMB         float64 `json:"rss_mb"`
	Floor         bool    `json:"floor,omitempty"`
	Replicas      int     `json:"replicas,omitempty"`
	// Preloaded sessions and the heap they take, when --preload is used.
	Preloaded       int     `json:"preloaded,omitempty"`
	HeapPerSessionB float64 `json:"heap_per_session_bytes,omitempty"`

	// The HTTP paths: on them Messages counts replies the fake platform
	// API accepted (not deliveries), and the latencies are times to ack.
	// Target is the external bot driven (--target), if any.
	Target string `json:"target,omitempty"`
	// Turns is messages per conversation on the slack-http path, when
	// above 1, and ThinkMs the pause after each answer.
	Turns   int     `json:"turns,omitempty"`
	ThinkMs float64 `json:"think_ms,omitempty"`
	// APILatencyMs and APIJitterMs are the fake API's added latency.
	APILatencyMs float64 `json:"api_latency_ms,omitempty"`
	APIJitterMs  float64 `json:"api_jitter_ms,omitempty"`
	// Acked is deliveries acknowledged with a 200; Refused the others.
	Acked   int64 `json:"acked,omitempty"`
	Refused int64 `json:"refused,omitempty"`
	// API429s is calls the fake API refused with 429 (nil off the HTTP
	// paths; 0 is a figure).
	API429s *int64 `json:"api_429s,omitempty"`
	// Limits says whether the fake API enforced the platform's limits.
	Limits *bool `json:"api_limits,omitempty"`
	// CPUPct is the bot's CPU time over the run, in percent of one core:
	// the bench process itself (bot, load generator and fake API), or the
	// --target-pid process. Nil when /proc could not tell.
	CPUPct *float64 `json:"cpu_pct,omitempty"`
	// RedisRoundTripsPerMsg is Redis round trips per incoming message as
	// the redis stores count them (redisstore.Store.RoundTrips: commands,
	// scripts and pipelines sent), over all replicas; nil off Redis.
	RedisRoundTripsPerMsg *float64 `json:"redis_round_trips_per_msg,omitempty"`
	// RedisWireRoundTripsPerMsg is the same counted on the wire by a
	// proxy (--redis-round-trips), connection set-up included: a check
	// of the stores' own count. Nil when not asked.
	RedisWireRoundTripsPerMsg *float64 `json:"redis_wire_round_trips_per_msg,omitempty"`
}

// Options are what `troubleshooter bench` measures, and what it measures
// with.
type Options struct {
	// Store is the session store: memory, bolt (a temporary file, fsync
	// on) or redis (keys under a throwaway prefix at RedisURL).
	Store string
	// Replicas is, with the redis store, how many engines share it, each
	// with its own connection pool; conversations are spread over them.
	Replicas int
	// Conversations is how many conversations talk at once, each with its
	// own goroutine.
	Conversations int
	// Duration is how long to measure.
	Duration time.Duration
	// Path is the code path: engine, slack-http or discord-http.
	Path string
	// Floor measures the same driver with a handler that does nothing.
	Floor bool
	// Preload is how many sessions are saved before measuring.
	Preload int

	// APILatency is the HTTP paths' fake platform API latency.
	APILatency Latency
	// NoLimits turns off the fake API's rate limits (on by default).
	NoLimits bool
	// SlackWorkspacePostsPerMinute, when above zero, adds a workspace-wide
	// chat.postMessage limit to the fake Slack API.
	SlackWorkspacePostsPerMinute int
	// SlackChannelBurst, when above zero, is the fake Slack API's burst
	// of posts per channel (Slack publishes none; default 4).
	SlackChannelBurst int
	// Turns, on the slack-http path, is how many messages each
	// conversation sends before its sender opens a new one (0 or 1: one,
	// a first message). With more, a sender waits for the bot's answer,
	// and then Think, before each next message (the rest of Script).
	Turns int
	Think time.Duration
	// IDs is how users, channels and events are named: IDsRandom (the
	// default when empty) or IDsCounter.
	IDs string
	// Target, with the slack-http path, drives the bot at this Events API
	// URL instead of an in-process adapter (a peer, or a `serve`); the
	// store, replicas and floor do not apply. APIListen is then where the
	// fake Web API listens, for the bot to post to; TargetPID, when above
	// zero, is the bot's process, whose CPU time is reported.
	Target    string
	APIListen string
	TargetPID int
	// RedisRoundTrips also counts Redis round trips on the wire, through
	// a loopback proxy in front of Redis (which adds a hop to each), to
	// check the stores' own count.
	RedisRoundTrips bool

	// Flow is the guides the engines run; Engine configures the engines.
	Flow   bot.Flow
	Engine bot.EngineConfig
	// RedisURL is the Redis server of the redis store (main passes
	// REDIS_URL).
	RedisURL string
	// Progress receives progress lines as the run goes; nil discards
	// them.
	Progress io.Writer
}

// validate checks the options' bounds; the messages name the bench
// command's flags.
func (o Options) validate() error {
	switch {
	case o.Conversations < 1 || o.Conversations > 100000:
		return errors.New("bench: --conversations must be between 1 and 100000")
	case o.Duration <= 0 || o.Duration > 10*time.Minute:
		return errors.New("bench: --duration must be between 0 and 10m")
	case o.Preload < 0 || o.Preload > 10_000_000:
		return errors.New("bench: --preload must be between 0 and 10000000")
	case o.Replicas < 1 || o.Replicas > 64 || (o.Replicas > 1 && o.Store != "redis"):
		return errors.New("bench: --replicas must be between 1 and 64, and above 1 only with --store redis")
	case o.Path != "engine" && o.Path != "slack-http" && o.Path != "discord-http":
		return fmt.Errorf("bench: --path %q is not one of engine, slack-http, discord-http", o.Path)
	case o.APILatency.Base < 0 || o.APILatency.Jitter < 0 || o.APILatency.Base > 10*time.Second || o.APILatency.Jitter > 10*time.Second:
		return errors.New("bench: --api-latency and --api-jitter must be between 0 and 10s")
	case (o.APILatency != Latency{} || o.NoLimits || o.SlackWorkspacePostsPerMinute != 0) && o.Path == "engine":
		return errors.New("bench: --api-latency, --api-jitter, --no-limits and --slack-workspace-posts apply to the slack-http and discord-http paths")
	case o.SlackWorkspacePostsPerMinute < 0 || (o.SlackWorkspacePostsPerMinute > 0 && o.Path != "slack-http"):
		return errors.New("bench: --slack-workspace-posts must be 0 or more, and is for the slack-http path")
	case o.SlackChannelBurst < 0 || o.SlackChannelBurst > 1000 || (o.SlackChannelBurst > 0 && o.Path != "slack-http"):
		return errors.New("bench: --slack-channel-burst must be between 0 and 1000, and is for the slack-http path")
	case o.Turns < 0 || o.Turns > 1000 || (o.Turns > 1 && o.Path != "slack-http"):
		return errors.New("bench: --turns must be between 1 and 1000, and above 1 only on the slack-http path")
	case o.Think < 0 || o.Think > time.Minute || (o.Think > 0 && o.Turns < 2):
		return errors.New("bench: --think must be between 0 and 1m, and goes with --turns above 1")
	case o.IDs != "" && o.IDs != IDsRandom && o.IDs != IDsCounter:
		return fmt.Errorf("bench: --ids %q is not one of random, counter", o.IDs)
	case (o.Target != "" || o.APIListen != "" || o.TargetPID != 0) && o.Path != "slack-http":
		return errors.New("bench: --target, --api-listen and --target-pid are for the slack-http path")
	case o.Target != "" && (o.Floor || o.Store != "memory" || o.Replicas > 1 || o.Preload > 0):
		return errors.New("bench: with --target the bot is elsewhere: --floor, --store, --replicas and --preload do not apply")
	case (o.APIListen != "" || o.TargetPID != 0) && o.Target == "":
		return errors.New("bench: --api-listen and --target-pid go with --target")
	case o.Target != "" && !strings.HasPrefix(o.Target, "http://") && !strings.HasPrefix(o.Target, "https://"):
		return fmt.Errorf("bench: --target %q is not an http(s) URL", o.Target)
	case o.TargetPID < 0:
		return errors.New("bench: --target-pid must be a process id")
	case o.RedisRoundTrips && o.Store != "redis":
		return errors.New("bench: --redis-round-trips is for --store redis")
	}
	return nil
}

// Run measures as opts say and writes the result to out as one JSON line
// (a Result).
func Run(ctx context.Context, opts Options, out io.Writer) error {
	if err := opts.validate(); err != nil {
		return err
	}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	var store bot.Store
	var err error
	var extra []bot.Store // the other replicas' stores
	var proxy *redisProxy // counts Redis round trips, when asked
	var redisStores []*redisstore.Store
	switch opts.Store {
	case "memory":
		store = bot.NewMemoryStore()
	case "redis":
		if opts.RedisURL == "" {
			return errors.New("bench: --store redis needs REDIS_URL (e.g. redis://127.0.0.1:6379/0)")
		}
		prefix := fmt.Sprintf("troubleshooter-bench-%d:", time.Now().UnixNano())
		redisURL := opts.RedisURL
		if opts.RedisRoundTrips {
			if proxy, err = startRedisProxy(opts.RedisURL); err != nil {
				return err
			}
			defer proxy.Close()
			redisURL = proxy.URL
		}
		for range opts.Replicas {
			st, err := redisstore.Open(ctx, redisstore.Config{URL: redisURL, Prefix: prefix})
			if err != nil {
				return err
			}
			defer st.Close()
			extra = append(extra, st)
			redisStores = append(redisStores, st)
		}
		store, extra = extra[0], extra[1:]
		defer cleanupRedis(store.(*redisstore.Store), progress)
	case "bolt":
		dir, err := os.MkdirTemp("", "troubleshooter-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		st, err := boltstore.Open(filepath.Join(dir, "bench.db"))
		if err != nil {
			return err
		}
		store = st
		defer func() { store.Close() }()
	default:
		return fmt.Errorf("bench: --store %q is not one of memory, bolt, redis", opts.Store)
	}
	res := Result{Store: opts.Store, Path: opts.Path, Conversations: opts.Conversations, Floor: opts.Floor, Replicas: opts.Replicas, Target: opts.Target}
	if opts.Turns > 1 {
		res.Turns, res.ThinkMs = opts.Turns, float64(opts.Think.Milliseconds())
	}
	if opts.Preload > 0 {
		heap, err := preloadSessions(ctx, store, opts.Preload, progress)
		if err != nil {
			return err
		}
		res.Preloaded, res.HeapPerSessionB = opts.Preload, heap
		if bs, ok := store.(*boltstore.Store); ok {
			// Measure as a restarted bot would run: the sessions are on
			// disk, and only the pages of active conversations are read.
			if err := bs.Close(); err != nil {
				return err
			}
			if store, err = boltstore.Open(bs.Path()); err != nil {
				return err
			}
			fmt.Fprintf(progress, "bench: reopened the store as a restart would; RSS %.1f MB\n", rssMB())
		}
	}
	var handlers []bot.Handler
	for _, st := range append([]bot.Store{store}, extra...) {
		var h bot.Handler = bot.NewEngine(st, opts.Flow, opts.Engine, nil)
		if opts.Floor {
			h = floorHandler{}
		}
		handlers = append(handlers, h)
	}

	fmt.Fprintf(progress, "bench: %d conversations, store %s, path %s%s, for %s\n",
		opts.Conversations, opts.Store, opts.Path, map[bool]string{true: " (floor)"}[opts.Floor], opts.Duration)
	if opts.Path != "engine" {
		fmt.Fprintf(progress, "bench: fake %s API: latency %s ± %s, platform rate limits %s; ids %s\n", strings.TrimSuffix(opts.Path, "-http"),
			opts.APILatency.Base, opts.APILatency.Jitter, map[bool]string{true: "off", false: "on"}[opts.NoLimits], cmp.Or(opts.IDs, IDsRandom))
	}
	trips := func() int64 {
		var n int64
		for _, st := range redisStores {
			n += st.RoundTrips()
		}
		return n
	}
	rt0, wire0 := trips(), int64(0)
	if proxy != nil {
		wire0 = proxy.RoundTrips.Load()
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var lat *histogram
	var total, incoming int64
	var elapsed time.Duration
	switch opts.Path {
	case "slack-http", "discord-http":
		drive := driveSlackHTTP
		if opts.Path == "discord-http" {
			drive = driveDiscordHTTP
		}
		var st loadStats
		if lat, st, err = drive(ctx, handlers[0], opts, progress); err != nil {
			return err
		}
		total, incoming, elapsed = st.Replies, st.Acked, st.Elapsed
		res.Acked, res.Refused, res.API429s = st.Acked, st.Refused, &st.Limited
		limits := !opts.NoLimits
		res.Limits = &limits
		res.APILatencyMs = round1(float64(opts.APILatency.Base.Microseconds()) / 1000)
		res.APIJitterMs = round1(float64(opts.APILatency.Jitter.Microseconds()) / 1000)
		if st.CPUPct >= 0 {
			res.CPUPct = &st.CPUPct
		}
		fmt.Fprintf(progress, "bench: %d replies accepted by the fake API, %d answers to 429 (the bot's replies refused for going over the platform's limits)\n", st.Replies, st.Limited)
	default:
		cpu0, cpuOK := cpuTicks(0)
		if lat, total, elapsed, err = drive(ctx, handlers, opts.Conversations, opts.Duration, progress); err != nil {
			return err
		}
		incoming = total
		if cpu1, ok := cpuTicks(0); ok && cpuOK {
			pct := round1(float64(cpu1-cpu0) / clockTicks / elapsed.Seconds() * 100)
			res.CPUPct = &pct
		}
	}
	if len(redisStores) > 0 && incoming > 0 {
		per := round2(float64(trips()-rt0) / float64(incoming))
		res.RedisRoundTripsPerMsg = &per
		fmt.Fprintf(progress, "bench: redis round trips: %.2f per message (%d messages in, the stores' own count)\n", per, incoming)
		if proxy != nil {
			wire := round2(float64(proxy.RoundTrips.Load()-wire0) / float64(incoming))
			res.RedisWireRoundTripsPerMsg = &wire
			fmt.Fprintf(progress, "bench: redis round trips on the wire: %.2f per message (a loopback proxy, which adds a hop to each)\n", wire)
		}
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)

	res.Messages = total
	res.MsgsPerS = round1(float64(total) / elapsed.Seconds())
	res.P50us = round1(lat.quantile(0.50))
	res.P99us = round1(lat.quantile(0.99))
	if total > 0 {
		res.AllocsPerMsg = round1(float64(after.Mallocs-before.Mallocs) / float64(total))
	}
	res.RSSMB = round1(rssMB())
	if opts.Target != "" {
		// This process is only the load generator and the fake API: its
		// allocations and memory say nothing of the bot.
		res.AllocsPerMsg, res.RSSMB, res.Store = 0, 0, "external"
		if opts.TargetPID > 0 {
			res.RSSMB = round1(rssOf(opts.TargetPID))
		}
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, string(b))
	return err
}

// floorHandler does nothing: the driver's own cost, for ratios.
type floorHandler struct{}

func (floorHandler) Handle(context.Context, bot.Message) (bot.Result, error) {
	return bot.Result{Replies: []bot.Reply{{Text: "ok"}}}, nil
}

// histogram counts latencies in log-linear buckets (32 per power of two,
// about 3% resolution), so a long run's memory stays flat and RSS measures
// the bot rather than the harness.
type histogram [64 * 32]uint64

func (h *histogram) add(d time.Duration) {
	ns := uint64(max(d.Nanoseconds(), 1))
	exp := 63 - bits.LeadingZeros64(ns)
	var sub uint64
	if exp >= 5 {
		sub = (ns >> (exp - 5)) & 31
	} else {
		sub = (ns << (5 - exp)) & 31
	}
	h[exp*32+int(sub)]++
}

// mergeHistograms adds per-sender histograms into one.
func mergeHistograms(hists []histogram) *histogram {
	var all histogram
	for c := range hists {
		for i, n := range hists[c] {
			all[i] += n
		}
	}
	return &all
}

// quantile returns the lower bound of the bucket holding quantile p, in µs.
func (h *histogram) quantile(p float64) float64 {
	var total uint64
	for _, c := range h {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := uint64(float64(total-1) * p)
	var seen uint64
	for i, c := range h {
		seen += c
		if seen > rank {
			exp, sub := i/32, uint64(i%32)
			var ns float64
			if exp >= 5 {
				ns = float64((32 + sub) << (exp - 5))
			} else {
				ns = float64((32 + sub) >> (5 - exp))
			}
			return ns / 1000
		}
	}
	return 0
}

// drive runs conversations until duration has passed, each sending the
// script in a loop to handlers[c % len(handlers)], and returns the latency
// histogram.
func drive(ctx context.Context, handlers []bot.Handler, conversations int, duration time.Duration, progress io.Writer) (*histogram, int64, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	var total atomic.Int64
	var wg sync.WaitGroup
	hists := make([]histogram, conversations)
	errs := make(chan error, conversations)
	start := time.Now()
	for c := range conversations {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := bot.Address{Platform: "bench", Channel: "c", User: "u" + strconv.Itoa(c)}
			lat := &hists[c]
			h := handlers[c%len(handlers)]
			for i := 0; ctx.Err() == nil; i++ {
				t0 := time.Now()
				_, err := h.Handle(ctx, bot.Message{Address: a, ID: strconv.Itoa(i), Text: Script[i%len(Script)]})
				d := time.Since(t0)
				if err != nil {
					if ctx.Err() != nil {
						break
					}
					errs <- err
					return
				}
				lat.add(d)
				total.Add(1)
			}
		}()
	}
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	last := int64(0)
loop:
	for {
		select {
		case <-ticker.C:
			n := total.Load()
			fmt.Fprintf(progress, "bench: %5.1fs  %d messages  %d/s\n", time.Since(start).Seconds(), n, n-last)
			last = n
		case <-done:
			break loop
		}
	}
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return nil, 0, 0, fmt.Errorf("bench: a message failed: %w", err)
	}
	all := mergeHistograms(hists)
	return all, total.Load(), elapsed, nil
}

// preloadSessions saves n finished-looking sessions (mid-guide, with a few
// answers, as real ones are) and returns the heap they added per session.
func preloadSessions(ctx context.Context, store bot.Store, n int, progress io.Writer) (float64, error) {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	now := time.Now()
	const workers = 64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				a := bot.Address{Platform: "preload", Channel: "c", User: "p" + strconv.Itoa(i)}
				s := &bot.Session{Key: a.Key(), Address: a, Guide: "whatsapp-icloud", GuideVersion: "2",
					Step: "ios_version", Started: now, Updated: now}
				s.SetAnswer("icloud_access", "icloud_access", "on")
				s.SetAnswer("backup_size", "backup_size", "3000000000")
				s.SetAnswer("free_space", "free_space", "8000000000")
				s.RememberEvent("ev-" + strconv.Itoa(i))
				if err := store.Save(ctx, s, nil); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, fmt.Errorf("bench: preload: %w", err)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	per := (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / float64(n)
	fmt.Fprintf(progress, "bench: preloaded %d sessions in %s; heap %.0f bytes per session; RSS %.1f MB\n",
		n, time.Since(now).Round(time.Millisecond), per, rssMB())
	return round1(per), nil
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

// rssMB is the process's resident set size from /proc (Linux), or the
// Go runtime's view of memory obtained from the OS elsewhere.
func rssMB() float64 { return rssOf(0) }

// rssOf is process pid's resident set size from /proc (pid 0: this
// process), or, for this process off Linux, the Go runtime's view.
func rssOf(pid int) float64 {
	path := "/proc/self/status"
	if pid > 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/status"
	}
	data, err := os.ReadFile(path)
	if err != nil && pid > 0 {
		return 0
	}
	if err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				if kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64); err == nil {
					return kb / 1024
				}
			}
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.Sys) / (1 << 20)
}

// cleanupRedis deletes the bench's keys.
func cleanupRedis(st *redisstore.Store, log io.Writer) {
	if err := st.DeletePrefix(context.Background()); err != nil {
		fmt.Fprintf(log, "bench: could not delete the bench's Redis keys: %v\n", err)
	}
}
