package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"troubleshooter/adapters/console"
	"troubleshooter/bot"
	"troubleshooter/flows"
)

func cmdFlows(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, "Usage: troubleshooter flows check|graph|test ...\n")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return flag.ErrHelp
		}
		return errUsage
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "check":
		return cmdFlowsCheck(rest, stdout, stderr)
	case "graph":
		return cmdFlowsGraph(rest, stdout, stderr)
	case "test":
		return cmdFlowsTest(ctx, rest, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "unknown flows command %q (want check, graph or test)\n", sub)
		return errUsage
	}
}

// cmdFlowsCheck lints guides: the given files alone, or the built-in and
// configured guides with the configured values.
func cmdFlowsCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("flows check", "flows check [--config PATH] [FILE...]", stderr)
	config := configFlag(fs)
	if err := parseFlags(fs, interspersed(args)); err != nil {
		return err
	}
	var set *flows.Set
	var err error
	if fs.NArg() > 0 {
		set, err = flows.LoadSet(fs.Args(), nil, true)
	} else {
		p, explicit := config()
		cfg, cerr := loadConfig(p, explicit)
		if cerr != nil {
			return cerr
		}
		set, err = flows.LoadSet(cfg.Guides.Files, cfg.Guides.Values, cfg.Guides.SkipBuiltin)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return errors.New("guides have problems (listed above)")
	}
	for _, g := range set.Guides {
		fmt.Fprintf(stdout, "ok  %s version %s (%s): %d steps\n", g.Guide.ID, g.Guide.Version, g.Guide.File, g.Steps())
	}
	return nil
}

func cmdFlowsGraph(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("flows graph", "flows graph GUIDE [--format mermaid|dot] [--config PATH]", stderr)
	format := fs.String("format", flows.FormatMermaid, "diagram format: mermaid or dot")
	config := configFlag(fs)
	if err := parseFlags(fs, interspersed(args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	_, runner, err := configAndGuides(config)
	if err != nil {
		return err
	}
	g := runner.Guide(fs.Arg(0))
	if g == nil {
		return fmt.Errorf("no guide %q is loaded (loaded: %s)", fs.Arg(0), strings.Join(runner.IDs(), ", "))
	}
	out, err := g.Graph(*format)
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, out)
	return err
}

// cmdFlowsTest replays transcript files against the configured guides, each
// on a fresh in-memory store, and reports the first difference of each.
func cmdFlowsTest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("flows test", "flows test [--update] [--config PATH] FILE...", stderr)
	update := fs.Bool("update", false, "rewrite the files with what happens now")
	config := configFlag(fs)
	if err := parseFlags(fs, interspersed(args)); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	cfg, runner, err := configAndGuides(config)
	if err != nil {
		return err
	}
	failed := 0
	for _, file := range fs.Args() {
		want, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		got, err := console.RunTranscript(ctx, file, want, newHarness(runner, cfg.Conversation))
		if err != nil {
			return err
		}
		switch {
		case bytes.Equal(got, want):
			fmt.Fprintf(stdout, "ok    %s\n", file)
		case *update:
			if err := os.WriteFile(file, got, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "wrote %s\n", file)
		default:
			failed++
			fmt.Fprintf(stdout, "FAIL  %s\n%s", file, firstDifference(want, got))
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d transcripts differ (run with --update to accept what happens now)", failed, fs.NArg())
	}
	return nil
}

// firstDifference shows the first differing line of two transcripts with a
// little context.
func firstDifference(want, got []byte) string {
	w := strings.Split(string(want), "\n")
	g := strings.Split(string(got), "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl || i >= len(w) || i >= len(g) {
			return fmt.Sprintf("  line %d\n  want: %q\n  got:  %q\n", i+1, wl, gl)
		}
	}
	return ""
}

// interspersed moves flags after positional arguments to the front, so
// "flows graph GUIDE --format dot" works as people type it.
func interspersed(args []string) []string {
	var flagsOut, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			return append(append(flagsOut, "--"), pos...)
		case strings.HasPrefix(a, "-") && len(a) > 1:
			flagsOut = append(flagsOut, a)
			if !strings.Contains(a, "=") && i+1 < len(args) && takesValue(a) {
				flagsOut = append(flagsOut, args[i+1])
				i++
			}
		default:
			pos = append(pos, a)
		}
	}
	return append(append(flagsOut, "--"), pos...)
}

// takesValue reports whether a flag is one of ours that takes a value.
func takesValue(flagArg string) bool {
	switch strings.TrimLeft(flagArg, "-") {
	case "config", "format", "user", "guide":
		return true
	}
	return false
}

// harness runs transcripts: an engine over a shared in-memory store, with
// a clock the transcript can move.
type harness struct {
	runner *flows.Runner
	cfg    bot.EngineConfig
	store  bot.Store

	mu     sync.Mutex
	now    time.Time
	engine *bot.Engine
}

func newHarness(runner *flows.Runner, cfg bot.EngineConfig) *harness {
	h := &harness{runner: runner, cfg: cfg, store: bot.NewMemoryStore(),
		now: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
	h.engine = h.newEngine()
	return h
}

func (h *harness) newEngine() *bot.Engine {
	e := bot.NewEngine(h.store, h.runner, h.cfg, nil)
	e.SetClock(h.clock)
	return e
}

// clock advances a second per reading so that turns are ordered in time.
func (h *harness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now = h.now.Add(time.Second)
	return h.now
}

// Handler implements console.Harness.
func (h *harness) Handler() bot.Handler { return h.engine }

// Restart implements console.Harness: the old engine is dropped as a killed
// process would be; only what the store holds survives.
func (h *harness) Restart() error {
	h.engine = h.newEngine()
	return nil
}

// Advance implements console.Harness.
func (h *harness) Advance(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now = h.now.Add(d)
}

// configAndGuides reads the config named by a --config flag and loads its
// guides: what the commands that need guides but no store start with.
func configAndGuides(config func() (string, bool)) (Config, *flows.Runner, error) {
	p, explicit := config()
	cfg, err := loadConfig(p, explicit)
	if err != nil {
		return cfg, nil, err
	}
	runner, err := loadGuides(cfg)
	return cfg, runner, err
}
