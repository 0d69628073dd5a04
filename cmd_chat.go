package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"troubleshooter/adapters/console"
)

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
