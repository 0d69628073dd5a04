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
	"path/filepath"
	"slices"
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

// CheckFiles lints the guide files alone, as loading them would: beside
// the built-in guides unless skipBuiltin, so that an id clash with a
// built-in guide is reported. It lists each good file's guide on stdout
// (not the built-in ones), or every problem on stderr.
func CheckFiles(files []string, skipBuiltin bool, stdout, stderr io.Writer) error {
	set, err := flows.LoadSet(files, nil, skipBuiltin)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return errors.New("guides have problems (listed above)")
	}
	for _, g := range set.Guides {
		if slices.Contains(files, g.Guide.File) {
			fmt.Fprintf(stdout, "ok  %s version %s (%s): %d steps\n", g.Guide.ID, g.Guide.Version, g.Guide.File, g.Steps())
		}
	}
	return nil
}

// GuideFor finds the guide a command names: a guide file when arg looks
// like one (it holds a '/' or ends in .yaml or .yml, which no guide id
// can), read and compiled alone with its own values; otherwise the
// loaded guide with that id, load being called only then, so that drawing
// one file needs no working config.
func GuideFor(arg string, load func() (*flows.Runner, error)) (*flows.Compiled, error) {
	if isGuideFile(arg) {
		g, err := flows.LoadFile(arg)
		if err != nil {
			return nil, err
		}
		return flows.Compile(g, nil)
	}
	runner, err := load()
	if err != nil {
		return nil, err
	}
	g := runner.Guide(arg)
	if g == nil {
		return nil, fmt.Errorf("no guide %q is loaded (loaded: %s); name a loaded guide's id or a guide file (.yaml)", arg, strings.Join(runner.IDs(), ", "))
	}
	return g, nil
}

// isGuideFile reports whether a command's argument names a file rather
// than a guide id.
func isGuideFile(arg string) bool {
	return strings.ContainsAny(arg, `/\`) || strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml")
}

// Graph writes the diagram of the guide g in format (flows.FormatMermaid
// or flows.FormatDot).
func Graph(g *flows.Compiled, format string, stdout io.Writer) error {
	out, err := g.Graph(format)
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, out)
	return err
}

// Paths writes the audit table of every path through the guide g
// (flows.WritePathsMarkdown): the answers, the fixes offered in order and
// the outcome of each.
func Paths(g *flows.Compiled, stdout io.Writer) error {
	return flows.WritePathsMarkdown(stdout, g)
}

// Test replays transcript files against the guides, each on a fresh
// in-memory store, and reports the first difference of each; with update
// it rewrites the files with what happens now instead. Every file is
// checked before any is replayed or written: a file that is not a
// transcript (a guide, a config, one without "> " input lines) or a
// transcript naming a guide that is not loaded is an error naming it, and
// no file is written. --update writes transcripts only, each through a
// temporary file and a rename, so a failed write leaves the old one whole.
func Test(ctx context.Context, runner *flows.Runner, cfg bot.EngineConfig, files []string, update bool, stdout io.Writer) error {
	srcs := make([][]byte, len(files))
	for i, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		if err := CheckTranscript(runner, file, data); err != nil {
			return err
		}
		srcs[i] = data
	}
	failed := 0
	for i, file := range files {
		want := srcs[i]
		got, err := Replay(ctx, runner, cfg, file, want)
		if err != nil {
			return err
		}
		switch {
		case bytes.Equal(got, want):
			fmt.Fprintf(stdout, "ok    %s\n", file)
		case update:
			if err := writeFileAtomic(file, got); err != nil {
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

// CheckTranscript reports why data, read from file, is not a transcript
// that can be replayed against runner's guides, or nil. A transcript has at
// least one "> " input line (anything else would be rewritten as its
// comments alone), is not a guide file, and every "#! guide ID" names a
// loaded guide: otherwise its words would be matched against whatever
// guides are loaded (from a folder without the config, the built-in ones)
// and the replay would test, or rewrite, the wrong conversation.
func CheckTranscript(runner *flows.Runner, file string, data []byte) error {
	// A transcript is seldom valid YAML, so a parse error is the expected
	// answer here: only a file that parses into a guide is refused as one.
	if g, err := flows.Parse(file, data); err == nil && (g.ID != "" || len(g.Steps) > 0) {
		return fmt.Errorf("%s is a guide file (id %s), not a transcript: flows test replays transcripts (lines \"> what the person types\"); to check a guide run: flows check %s", file, g.ID, file)
	}
	inputs := 0
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		switch {
		case line == ">" || strings.HasPrefix(line, "> "):
			inputs++
		case strings.HasPrefix(line, "#!"):
			args := strings.Fields(line[2:])
			if len(args) == 2 && args[0] == "guide" && runner.Guide(args[1]) == nil {
				return fmt.Errorf("%s:%d: #! guide %s: no guide %q is loaded (loaded: %s); pass --config with the config that loads it, or add it to guides.files",
					file, n+1, args[1], args[1], strings.Join(runner.IDs(), ", "))
			}
		}
	}
	if inputs == 0 {
		return fmt.Errorf("%s has no input lines (\"> what the person types\"), so it is not a transcript; nothing was replayed or written", file)
	}
	return nil
}

// writeFileAtomic replaces file with data through a temporary file in the
// same folder, keeping the file's permissions.
func writeFileAtomic(file string, data []byte) error {
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(file); err == nil {
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
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
