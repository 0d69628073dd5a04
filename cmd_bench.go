package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"troubleshooter/bench"
	"troubleshooter/sim"
)

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", "bench [--store memory|bolt|redis] [--replicas K] [--conversations N] [--duration D] [--path engine] [--floor] [--preload N]", stderr)
	// The bench runs the built-in guides with the default conversation
	// settings, whatever config.yaml says, so that runs compare.
	def := defaultConfig()
	opts := bench.Options{Engine: def.Conversation, RedisURL: os.Getenv(envRedisURL), Progress: stderr}
	fs.StringVar(&opts.Store, "store", "memory", "session store: memory, bolt (a temporary file, fsync on) or redis (REDIS_URL; keys under a throwaway prefix)")
	fs.IntVar(&opts.Replicas, "replicas", 1, "with --store redis: engines sharing the Redis, each with its own connection pool; conversations are spread over them")
	fs.IntVar(&opts.Conversations, "conversations", 64, "conversations talking at once, each with its own goroutine")
	fs.DurationVar(&opts.Duration, "duration", 5*time.Second, "how long to measure (bounded to 10m)")
	fs.StringVar(&opts.Path, "path", "engine", "code path: engine (the engine, guide and store in-process) or slack-http (signed Events API requests over loopback into the real Slack adapter, replies to a local fake Web API)")
	fs.BoolVar(&opts.Floor, "floor", false, "measure the same driver with a handler that does nothing, for ratios")
	fs.IntVar(&opts.Preload, "preload", 0, "sessions saved before measuring (for memory and RSS per stored session)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var err error
	if opts.Flow, err = loadGuides(def); err != nil {
		return err
	}
	return bench.Run(ctx, opts, stdout)
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
