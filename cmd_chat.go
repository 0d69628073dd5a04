package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"troubleshooter/adapters/console"
)

// cmdChat chats in the terminal: interactive on a terminal, one message a
// line from a pipe, or JSON lines with --json.
func cmdChat(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("chat", "chat [--json] [--user ID] [--guide ID] [--config PATH]", stderr)
	jsonMode := fs.Bool("json", false, "scripting interface: JSON lines in and out (see README)")
	user := fs.String("user", "", "conversation user id; the same id later resumes the conversation (default: your login name)")
	guide := fs.String("guide", "", "guide id for new conversations (default: the configured default)")
	logLevel := fs.String("log-level", "", "log debug, info, warn or error to stderr (default: log.level; in an interactive chat, logs go to "+chatLogName+" in the data folder)")
	config := configFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "chat takes no arguments (got %q)\n", fs.Args())
		return errUsage
	}
	mode := console.Plain
	switch {
	case *jsonMode:
		mode = console.JSON
	case terminal(stdin) && terminal(stdout):
		mode = console.Interactive
	}
	path, explicit := config()
	cfg, err := loadConfig(path, explicit)
	if err != nil {
		return err
	}
	logOut, closeLog, err := chatLog(&cfg, mode, *logLevel, stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	a, err := newAppFrom(cfg, logOut)
	if err != nil {
		return err
	}
	defer a.close()
	if *guide != "" && a.runner.Guide(*guide) == nil {
		return fmt.Errorf("no guide %q is loaded (loaded: %s)", *guide, strings.Join(a.runner.IDs(), ", "))
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

// chatLogName is the interactive chat's log file, in the data folder.
const chatLogName = "chat.log"

// terminal reports whether v is a terminal; a variable so tests can
// pretend.
var terminal = isTerminal

// chatLog decides where the chat's logs go. Log lines printed between a
// question and its answer ("level=INFO msg=\"conversation ended\"") read
// as part of the conversation, so an interactive chat logs to chat.log in
// the data folder (the store file's folder) and says so once; if that
// file cannot be opened, only warnings and errors go to stderr. A
// --log-level (which also sets the level) and the scripting modes (plain
// lines from a pipe, --json) log to stderr, which stays apart from the
// replies on stdout. The returned func closes the file.
func chatLog(cfg *Config, mode console.Mode, level string, stderr io.Writer) (io.Writer, func(), error) {
	nothing := func() {}
	if level != "" {
		if _, err := parseLevel(level); err != nil {
			return nil, nothing, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
		}
		cfg.Log.Level = level
		return stderr, nothing, nil
	}
	if mode != console.Interactive {
		return stderr, nothing, nil
	}
	dir := filepath.Dir(cfg.Store.Path)
	name := filepath.Join(dir, chatLogName)
	f, err := openChatLog(dir, name)
	if err != nil {
		fmt.Fprintf(stderr, "(logs: warnings only, here; %s could not be opened: %v)\n", name, err)
		cfg.Log.Level = "warn"
		return stderr, nothing, nil
	}
	fmt.Fprintf(stderr, "(logs go to %s)\n", name)
	return f, func() {
		if err := f.Close(); err != nil {
			fmt.Fprintf(stderr, "closing %s: %v\n", name, err)
		}
	}, nil
}

// openChatLog opens the chat log for appending, making its folder.
func openChatLog(dir, name string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	return os.OpenFile(name, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
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
