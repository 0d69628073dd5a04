package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"troubleshooter/bench"
	"troubleshooter/sim"
)

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", "bench [--store memory|bolt|redis] [--replicas K] [--conversations N] [--duration D] [--path engine|slack-http|discord-http] [--floor] [--preload N] [--api-latency D] [--api-jitter D] [--no-limits] [--turns N [--think D]] [--ids random|counter] [--target URL --api-listen ADDR [--target-pid PID]] [--redis-round-trips] [--cpuprofile FILE]", stderr)
	// The bench runs the built-in guides with the default conversation
	// settings, whatever config.yaml says, so that runs compare.
	def := defaultConfig()
	opts := bench.Options{Engine: def.Conversation, RedisURL: os.Getenv(envRedisURL), Progress: stderr}
	fs.StringVar(&opts.Store, "store", "memory", "session store: memory, bolt (a temporary file, fsync on) or redis (REDIS_URL; keys under a throwaway prefix)")
	fs.IntVar(&opts.Replicas, "replicas", 1, "with --store redis: engines sharing the Redis, each with its own connection pool; conversations are spread over them")
	fs.IntVar(&opts.Conversations, "conversations", 64, "conversations talking at once, each with its own goroutine")
	fs.DurationVar(&opts.Duration, "duration", 5*time.Second, "how long to measure (bounded to 10m)")
	fs.StringVar(&opts.Path, "path", "engine", "code path: engine (the engine, guide and store in-process), slack-http (signed Events API requests over loopback into the real Slack adapter, replies to a local fake Web API) or discord-http (signed HTTP interactions into the real Discord adapter, replies to a local fake REST API)")
	fs.BoolVar(&opts.Floor, "floor", false, "measure the same driver with a handler that does nothing, for ratios")
	fs.IntVar(&opts.Preload, "preload", 0, "sessions saved before measuring (for memory and RSS per stored session)")
	fs.DurationVar(&opts.APILatency.Base, "api-latency", 0, "HTTP paths: the fake platform API waits this long before answering each call (real calls take 50-300ms)")
	fs.DurationVar(&opts.APILatency.Jitter, "api-jitter", 0, "HTTP paths: plus or minus up to this much, uniformly, on each call's latency")
	fs.BoolVar(&opts.NoLimits, "no-limits", false, "HTTP paths: the fake API accepts every call instead of answering 429 beyond the platform's rate limits")
	fs.IntVar(&opts.SlackWorkspacePostsPerMinute, "slack-workspace-posts", 0, "slack-http: also limit chat.postMessage to this many a minute across the workspace (Slack says 'several hundred'; 0: not enforced)")
	fs.IntVar(&opts.SlackChannelBurst, "slack-channel-burst", 0, "slack-http: posts one channel may take at once before the 1/s limit (Slack publishes none; default 4, the adapter's own guess)")
	fs.IntVar(&opts.Turns, "turns", 1, "slack-http: messages per conversation (the guide's script); above 1 each sender waits for the bot's answer before its next message, so the per-channel limit and the adapter's pacing come into play")
	fs.DurationVar(&opts.Think, "think", 0, "with --turns: how long a sender waits after each answer before replying (a person reading)")
	fs.StringVar(&opts.IDs, "ids", bench.IDsRandom, "HTTP paths: user, channel and event ids: random (platform-like) or counter (derived from a counter)")
	fs.StringVar(&opts.Target, "target", "", "slack-http: drive the bot at this Events API URL (e.g. http://127.0.0.1:3000/slack/events) instead of an in-process adapter; it must post to --api-listen")
	fs.StringVar(&opts.APIListen, "api-listen", "", "with --target: where the fake Slack Web API listens (e.g. 127.0.0.1:7771); the bot's API URL is http://ADDR/")
	fs.IntVar(&opts.TargetPID, "target-pid", 0, "with --target: the bot's process id, whose CPU use is reported (from /proc)")
	fs.BoolVar(&opts.RedisRoundTrips, "redis-round-trips", false, "with --store redis: also count Redis round trips on the wire, through a loopback proxy (adds a hop to each), to check the store's own count")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof FILE), to see where a gap to a target goes")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var err error
	if opts.Flow, err = loadGuides(def); err != nil {
		return err
	}
	if *cpuProfile == "" {
		return bench.Run(ctx, opts, stdout)
	}
	f, err := os.Create(*cpuProfile)
	if err != nil {
		return fmt.Errorf("bench: --cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("bench: --cpuprofile: %w", err)
	}
	runErr := bench.Run(ctx, opts, stdout)
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("bench: --cpuprofile: %w", err)
	}
	return runErr
}

// cmdSimulate runs the simulated-user harness (package sim) over the
// built-in WhatsApp guide and prints its report.
func cmdSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("simulate", "simulate [--users N] [--seed S]", stderr)
	users := fs.Int("users", 1000, "simulated users (1 to 100000)")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same report")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *users < 1 || *users > 100000 {
		fmt.Fprintf(stderr, "--users must be between 1 and 100000, not %d\n", *users)
		return errUsage
	}
	rep, err := sim.Run(ctx, sim.Options{Users: *users, Seed: *seed})
	if err != nil {
		return err
	}
	return rep.Write(stdout)
}
