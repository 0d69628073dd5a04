package main

import (
	"fmt"
	"io"

	"troubleshooter/flows"
)

// cmdVersion prints the build (version, commit, its time, whether the tree
// was modified, the Go version) and the built-in guides.
func cmdVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", "version", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, readBuild())
	guides, err := flows.Builtin()
	if err != nil {
		return err
	}
	for _, g := range guides {
		fmt.Fprintf(stdout, "guide %s version %s (built in)\n", g.ID, g.Version)
	}
	return nil
}
