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
	"strings"
	"syscall"

	"troubleshooter/adapters/boltstore"
	"troubleshooter/adapters/redisstore"
	"troubleshooter/bot"
	"troubleshooter/flows"
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
	// adminReady, when set, receives the operator endpoints' address
	// once they listen (for tests, as serve's ready does the main one).
	adminReady chan<- string
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
	return newAppFrom(cfg, stderr)
}

// newAppFrom wires the app from a loaded config; logs go to logOut.
func newAppFrom(cfg Config, logOut io.Writer) (*app, error) {
	var err error
	a := &app{cfg: cfg, log: newLogger(cfg.Log, logOut)}
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
