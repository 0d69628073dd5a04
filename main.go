// Command troubleshooter is a chat bot that walks people through fixing a
// problem, step by step, from guides written as data. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"troubleshooter/adapters/boltstore"
	"troubleshooter/adapters/console"
	"troubleshooter/adapters/redisstore"
	"troubleshooter/bench"
	"troubleshooter/bot"
	"troubleshooter/flows"
	"troubleshooter/flowscli"
	"troubleshooter/report"
	"troubleshooter/sim"
)

func main() {
	ctx := context.Background()
	if longRunning(os.Args[1:]) {
		// The first SIGINT/SIGTERM asks for a clean stop; a second one
		// kills, as it would any other program.
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		go func() { <-ctx.Done(); stop() }()
	}
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// longRunning reports whether the command line runs until stopped (chat,
// serve, bench); short commands keep the default signal behaviour.
func longRunning(args []string) bool {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return true
	}
	switch args[0] {
	case "chat", "serve", "bench":
		return true
	}
	return false
}

// exitUsage is the exit code for a command line that could not be parsed.
const exitUsage = 2

const usage = `troubleshooter: a chat bot that walks people through fixing a problem.

Usage:
  troubleshooter [chat]             chat in the terminal (the default when no platform is configured)
  troubleshooter serve              run the configured chat platforms
  troubleshooter flows check [FILE...]   lint guides (default: built-in and configured)
  troubleshooter flows graph GUIDE [--format mermaid|dot]
  troubleshooter flows paths GUIDE       every path: answers → fixes offered → outcome
  troubleshooter flows test FILE...      replay transcript files and compare
  troubleshooter report [--since 7d] [--guide ID] [--format text|json|csv]
  troubleshooter bench [--store memory|bolt] [--conversations N] [--duration D] [--floor] [--preload N]
  troubleshooter simulate [--users N] [--seed S]   how well it diagnoses, with simulated users
  troubleshooter store check | recover --to NEW.db   check the bolt store file; copy what is readable
  troubleshooter version

Every command takes --config PATH (default config.yaml) and --help.
`

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := defaultCommand(args)
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	} else if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		fmt.Fprint(stdout, usage)
		return 0
	}
	var err error
	switch cmd {
	case "chat":
		err = cmdChat(ctx, args, stdin, stdout, stderr)
	case "serve":
		err = cmdServe(ctx, args, stderr)
	case "flows":
		err = cmdFlows(ctx, args, stdout, stderr)
	case "version":
		err = cmdVersion(args, stdout, stderr)
	case "bench":
		err = cmdBench(ctx, args, stdout, stderr)
	case "simulate":
		err = cmdSimulate(ctx, args, stdout, stderr)
	case "report":
		err = cmdReport(ctx, args, stdout, stderr)
	case "store":
		err = cmdStore(ctx, args, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return exitUsage
	default:
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
}

// defaultCommand is what a bare `troubleshooter` does: serve when a chat
// platform is configured, chat in the terminal otherwise. A config that
// cannot be read picks chat, which then reports the problem.
func defaultCommand(args []string) string {
	path, explicit := defaultConfigPath, false
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			path, explicit = v, true
		} else if (a == "--config" || a == "-config") && i+1 < len(args) {
			path, explicit = args[i+1], true
		}
	}
	if cfg, err := loadConfig(path, explicit); err == nil && cfg.platformConfigured() {
		return "serve"
	}
	return "chat"
}

// errUsage marks a command line error whose message was already printed.
var errUsage = errors.New("usage")

// newFlags makes a flag set that prints its usage to stderr and reports
// parse errors as errUsage.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: troubleshooter %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

// configFlag adds --config; explicit reports whether it was given.
func configFlag(fs *flag.FlagSet) func() (path string, explicit bool) {
	p := fs.String("config", defaultConfigPath, "config file (a missing default file means built-in defaults)")
	return func() (string, bool) {
		explicit := false
		fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "config" })
		return *p, explicit
	}
}

// app is the wired bot: config, logger, guides, store and engine.
type app struct {
	cfg    Config
	log    *slog.Logger
	runner *flows.Runner
	store  bot.Store
	engine *bot.Engine
}

func newLogger(cfg LogConfig, stderr io.Writer) *slog.Logger {
	level, _ := parseLevel(cfg.Level) // validated with the config
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(stderr, opts))
	}
	return slog.New(slog.NewTextHandler(stderr, opts))
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("config: log.level %q is not one of debug, info, warn, error", s)
	}
	return l, nil
}

// loadGuides loads the built-in and configured guides and builds a runner.
func loadGuides(cfg Config) (*flows.Runner, error) {
	set, err := flows.LoadSet(cfg.Guides.Files, cfg.Guides.Values, cfg.Guides.SkipBuiltin)
	if err != nil {
		return nil, fmt.Errorf("guides:\n%w", err)
	}
	return flows.NewRunner(set.Guides, cfg.Guides.Default)
}

// openStore opens the configured store.
func openStore(ctx context.Context, cfg StoreConfig) (bot.Store, error) {
	switch cfg.Kind {
	case "memory":
		return bot.NewMemoryStore(), nil
	case "redis":
		return redisstore.Open(ctx, cfg.Redis)
	default:
		st, err := boltstore.Open(cfg.Path)
		if err != nil {
			return nil, err
		}
		return st, nil
	}
}

func newApp(configPath string, explicit bool, stderr io.Writer) (*app, error) {
	cfg, err := loadConfig(configPath, explicit)
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, log: newLogger(cfg.Log, stderr)}
	if a.runner, err = loadGuides(cfg); err != nil {
		return nil, err
	}
	if a.store, err = openStore(context.Background(), cfg.Store); err != nil {
		return nil, err
	}
	a.engine = bot.NewEngine(a.store, a.runner, cfg.Conversation, a.log)
	return a, nil
}

// openApp wires the app from the config file a --config flag names.
func openApp(config func() (string, bool), stderr io.Writer) (*app, error) {
	path, explicit := config()
	return newApp(path, explicit, stderr)
}

func (a *app) close() {
	if err := a.store.Close(); err != nil {
		a.log.Error("closing the store", "err", err)
	}
}

func cmdChat(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("chat", "chat [--json] [--user ID] [--guide ID] [--config PATH]", stderr)
	jsonMode := fs.Bool("json", false, "scripting interface: JSON lines in and out (see README)")
	user := fs.String("user", "", "conversation user id; the same id later resumes the conversation (default: your login name)")
	guide := fs.String("guide", "", "guide id for new conversations (default: the configured default)")
	config := configFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "chat takes no arguments (got %q)\n", fs.Args())
		return errUsage
	}
	a, err := openApp(config, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	if *guide != "" && a.runner.Guide(*guide) == nil {
		return fmt.Errorf("no guide %q is loaded (loaded: %s)", *guide, strings.Join(a.runner.IDs(), ", "))
	}
	mode := console.Plain
	switch {
	case *jsonMode:
		mode = console.JSON
	case isTerminal(stdin) && isTerminal(stdout):
		mode = console.Interactive
	}
	if *user == "" {
		*user = defaultUser()
	}
	c := console.New(stdin, stdout, console.Config{User: *user, Guide: *guide, Mode: mode}, a.log)
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, a.engine) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		// Reading a terminal cannot be interrupted; every finished turn is
		// already saved, so leaving now loses nothing.
		return nil
	}
}

func defaultUser() string {
	for _, v := range []string{"USER", "USERNAME", "LOGNAME"} {
		if u := os.Getenv(v); u != "" {
			return u
		}
	}
	return "local"
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func cmdServe(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("serve", "serve [--http ADDR] [--config PATH]", stderr)
	httpAddr := fs.String("http", "", `HTTP server address (default: http.addr from config, ":8080"); "off" disables it`)
	config := configFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	a, err := openApp(config, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	if *httpAddr != "" {
		a.cfg.HTTP.Addr = *httpAddr
	}
	return a.serve(ctx, nil)
}

func cmdFlows(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, "Usage: troubleshooter flows check|graph|paths|test ...\n")
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
	case "paths":
		return cmdFlowsPaths(rest, stdout, stderr)
	case "test":
		return cmdFlowsTest(ctx, rest, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "unknown flows command %q (want check, graph, paths or test)\n", sub)
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
	if fs.NArg() > 0 {
		return flowscli.Check(fs.Args(), nil, true, stdout, stderr)
	}
	cfg, err := loadConfig(config())
	if err != nil {
		return err
	}
	return flowscli.Check(cfg.Guides.Files, cfg.Guides.Values, cfg.Guides.SkipBuiltin, stdout, stderr)
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
	return flowscli.Graph(runner, fs.Arg(0), *format, stdout)
}

// cmdFlowsPaths writes the audit table of every path through a guide.
func cmdFlowsPaths(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("flows paths", "flows paths GUIDE [--config PATH]", stderr)
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
	return flowscli.Paths(runner, fs.Arg(0), stdout)
}

// cmdFlowsTest replays transcript files against the configured guides.
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
	return flowscli.Test(ctx, runner, cfg.Conversation, fs.Args(), *update, stdout)
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

// configAndGuides reads the config named by a --config flag and loads its
// guides: what the commands that need guides but no store start with.
func configAndGuides(config func() (string, bool)) (Config, *flows.Runner, error) {
	cfg, err := loadConfig(config())
	if err != nil {
		return cfg, nil, err
	}
	runner, err := loadGuides(cfg)
	return cfg, runner, err
}

func cmdReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("report", "report [--since 7d] [--guide ID] [--format text|json|csv] [--config PATH]", stderr)
	sinceFlag := fs.String("since", "7d", "report window: a duration (7d, 36h), a date (2026-01-31) or all")
	guide := fs.String("guide", "", "only this guide")
	format := fs.String("format", "text", "text, json or csv")
	config := configFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	since, err := report.ParseSince(*sinceFlag, time.Now())
	if err != nil {
		return err
	}
	if err := report.CheckFormat(*format); err != nil {
		return err
	}
	a, err := openApp(config, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	fun, err := report.Funnels(ctx, a.store, a.runner, since, *guide)
	if err != nil {
		return err
	}
	return report.Write(stdout, fun, since, *format)
}

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

func cmdVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", "version", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	version, revision := "(devel)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	fmt.Fprintf(stdout, "troubleshooter %s", version)
	if revision != "" {
		fmt.Fprintf(stdout, " (%s)", revision)
	}
	fmt.Fprintln(stdout)
	guides, err := flows.Builtin()
	if err != nil {
		return err
	}
	for _, g := range guides {
		fmt.Fprintf(stdout, "guide %s version %s (built in)\n", g.ID, g.Version)
	}
	return nil
}
