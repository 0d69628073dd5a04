// Package flowscli is the logic of the `flows` commands, the tools for
// people who write guides: check lints guides, graph draws one, and test
// replays transcript files against them. The command line itself (flags,
// config) is main's.
package flowscli

import (
	"bytes"
	"context"
	"errors"
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

// Check lints guides: the built-in ones unless skipBuiltin, then files,
// with values overriding the guides' values. It lists each good guide on
// stdout, or every problem on stderr.
func Check(files []string, values map[string]map[string]string, skipBuiltin bool, stdout, stderr io.Writer) error {
	set, err := flows.LoadSet(files, values, skipBuiltin)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return errors.New("guides have problems (listed above)")
	}
	for _, g := range set.Guides {
		fmt.Fprintf(stdout, "ok  %s version %s (%s): %d steps\n", g.Guide.ID, g.Guide.Version, g.Guide.File, g.Steps())
	}
	return nil
}

// Graph writes the diagram of the guide id in format (flows.FormatMermaid
// or flows.FormatDot).
func Graph(runner *flows.Runner, id, format string, stdout io.Writer) error {
	g := runner.Guide(id)
	if g == nil {
		return fmt.Errorf("no guide %q is loaded (loaded: %s)", id, strings.Join(runner.IDs(), ", "))
	}
	out, err := g.Graph(format)
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, out)
	return err
}

// Paths writes the audit table of every path through the loaded guide id
// (flows.WritePathsMarkdown): the answers, the fixes offered in order and
// the outcome of each.
func Paths(runner *flows.Runner, id string, stdout io.Writer) error {
	g := runner.Guide(id)
	if g == nil {
		return fmt.Errorf("no guide %q is loaded (loaded: %s)", id, strings.Join(runner.IDs(), ", "))
	}
	return flows.WritePathsMarkdown(stdout, g)
}

// Test replays transcript files against the guides, each on a fresh
// in-memory store, and reports the first difference of each; with update
// it rewrites the files with what happens now instead.
func Test(ctx context.Context, runner *flows.Runner, cfg bot.EngineConfig, files []string, update bool, stdout io.Writer) error {
	failed := 0
	for _, file := range files {
		want, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		got, err := Replay(ctx, runner, cfg, file, want)
		if err != nil {
			return err
		}
		switch {
		case bytes.Equal(got, want):
			fmt.Fprintf(stdout, "ok    %s\n", file)
		case update:
			if err := os.WriteFile(file, got, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "wrote %s\n", file)
		default:
			failed++
			fmt.Fprintf(stdout, "FAIL  %s\n%s", file, FirstDifference(want, got))
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d transcripts differ (run with --update to accept what happens now)", failed, len(files))
	}
	return nil
}

// Replay runs the transcript want (read from file) through an engine over
// a fresh in-memory store and returns the transcript of what happens now.
func Replay(ctx context.Context, runner *flows.Runner, cfg bot.EngineConfig, file string, want []byte) ([]byte, error) {
	return console.RunTranscript(ctx, file, want, newHarness(runner, cfg))
}

// FirstDifference shows the first differing line of two transcripts with a
// little context.
func FirstDifference(want, got []byte) string {
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
