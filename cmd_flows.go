package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"troubleshooter/flows"
	"troubleshooter/flowscli"
)

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
	cfg, err := loadConfig(config())
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		// Beside the built-in guides, as loading the files would be, so
		// that an id clash is found now rather than at start-up.
		return flowscli.CheckFiles(fs.Args(), cfg.Guides.SkipBuiltin, stdout, stderr)
	}
	return flowscli.Check(cfg.Guides.Files, cfg.Guides.Values, cfg.Guides.SkipBuiltin, stdout, stderr)
}

func cmdFlowsGraph(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("flows graph", "flows graph GUIDE|FILE [--format mermaid|dot] [--config PATH]", stderr)
	format := fs.String("format", flows.FormatMermaid, "diagram format: mermaid or dot")
	config := configFlag(fs)
	if err := parseFlags(fs, interspersed(args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	g, err := flowscli.GuideFor(fs.Arg(0), guidesLoader(config))
	if err != nil {
		return err
	}
	return flowscli.Graph(g, *format, stdout)
}

// cmdFlowsPaths writes the audit table of every path through a guide.
func cmdFlowsPaths(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("flows paths", "flows paths GUIDE|FILE [--config PATH]", stderr)
	config := configFlag(fs)
	if err := parseFlags(fs, interspersed(args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	g, err := flowscli.GuideFor(fs.Arg(0), guidesLoader(config))
	if err != nil {
		return err
	}
	return flowscli.Paths(g, stdout)
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

// guidesLoader loads the configured guides when called: a command given a
// guide file needs neither.
func guidesLoader(config func() (string, bool)) func() (*flows.Runner, error) {
	return func() (*flows.Runner, error) {
		_, runner, err := configAndGuides(config)
		return runner, err
	}
}
