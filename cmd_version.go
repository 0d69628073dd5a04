package main

import (
	"fmt"
	"io"
	"runtime/debug"

	"troubleshooter/flows"
)

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
