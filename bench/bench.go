// Package bench is the load harness behind `troubleshooter bench`: it
// drives synthetic conversations through the real engine and guide (or,
// with the slack-http path, through the Slack adapter over loopback HTTP)
// and reports throughput, latency and memory as one JSON line. See
// BENCHMARKS.md.
package bench

import (
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
	// Path is the code path: engine or slack-http.
	Path string
	// Floor measures the same driver with a handler that does nothing.
	Floor bool
	// Preload is how many sessions are saved before measuring.
	Preload int

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
	case o.Path != "engine" && o.Path != "slack-http":
		return fmt.Errorf("bench: --path %q is not one of engine, slack-http", o.Path)
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
	switch opts.Store {
	case "memory":
		store = bot.NewMemoryStore()
	case "redis":
		if opts.RedisURL == "" {
			return errors.New("bench: --store redis needs REDIS_URL (e.g. redis://127.0.0.1:6379/0)")
		}
		prefix := fmt.Sprintf("troubleshooter-bench-%d:", time.Now().UnixNano())
		for range opts.Replicas {
			st, err := redisstore.Open(ctx, redisstore.Config{URL: opts.RedisURL, Prefix: prefix})
			if err != nil {
				return err
			}
			defer st.Close()
			extra = append(extra, st)
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
	res := Result{Store: opts.Store, Path: opts.Path, Conversations: opts.Conversations, Floor: opts.Floor, Replicas: opts.Replicas}
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
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var lat *histogram
	var total int64
	var elapsed time.Duration
	if opts.Path == "slack-http" {
		lat, total, elapsed, err = driveSlackHTTP(ctx, handlers[0], opts.Conversations, opts.Duration, progress)
	} else {
		lat, total, elapsed, err = drive(ctx, handlers, opts.Conversations, opts.Duration, progress)
	}
	if err != nil {
		return err
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

// rssMB is the process's resident set size from /proc (Linux), or the
// Go runtime's view of memory obtained from the OS elsewhere.
func rssMB() float64 {
	if data, err := os.ReadFile("/proc/self/status"); err == nil {
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
