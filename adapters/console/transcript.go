package console

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"troubleshooter/bot"
)

// Harness is what a transcript runs against: a handler that can be
// "restarted" (a new process over the same store) and a clock that can be
// moved forward.
type Harness interface {
	// Handler is the current process's message handler.
	Handler() bot.Handler
	// Restart replaces the process: new engine, same store.
	Restart() error
	// Advance moves the clock forward by d.
	Advance(d time.Duration)
}

// A transcript is a conversation written as the plain console shows it:
//
//	# comments and directives (lines starting with '#') are kept
//	#! user alice        (talk as another user from here on)
//	#! guide ID          (new conversations use this guide)
//	#! restart           (kill the process; a new one uses the same store)
//	#! advance 25h       (move the clock forward)
//	> what the person types
//	what the bot says, choices as numbered lines
//	= step <step id>     (or "= done <outcome>" when it ended)
//
// RunTranscript replays the inputs of src and returns the transcript as it
// happens now. The caller compares it with src (a golden file) or writes it
// back (-update). Output lines in src are ignored, so a new transcript can be
// written as inputs only. Errors are malformed directives or handler
// failures, with the line number.
func RunTranscript(ctx context.Context, name string, src []byte, h Harness) ([]byte, error) {
	var out bytes.Buffer
	var turnOut bytes.Buffer
	c := New(strings.NewReader(""), &turnOut, Config{User: "transcript", Mode: Plain}, nil)
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#!"):
			out.WriteString(line + "\n")
			if err := directive(strings.Fields(line[2:]), c, h); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, n, err)
			}
		case strings.HasPrefix(line, "#"):
			out.WriteString(line + "\n")
		case line == ">" || strings.HasPrefix(line, "> "):
			input := strings.TrimPrefix(strings.TrimPrefix(line, ">"), " ")
			out.WriteString(line + "\n")
			turnOut.Reset()
			if err := c.Say(ctx, h.Handler(), input); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, n, err)
			}
			out.Write(bytes.TrimRight(turnOut.Bytes(), "\n"))
			out.WriteByte('\n')
			if c.lastHandled.Done {
				fmt.Fprintf(&out, "= done %s\n\n", c.lastHandled.Outcome)
			} else {
				fmt.Fprintf(&out, "= step %s\n\n", c.lastHandled.Step)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out.Bytes(), nil
}

func directive(args []string, c *Console, h Harness) error {
	if len(args) == 0 {
		return fmt.Errorf("empty directive (want user, guide, restart or advance)")
	}
	switch args[0] {
	case "user", "guide":
		if len(args) != 2 {
			return fmt.Errorf("#! %s takes one argument", args[0])
		}
		if args[0] == "user" {
			c.cfg.User = args[1]
		} else {
			c.cfg.Guide = args[1]
		}
		c.last = bot.Result{}
	case "restart":
		if err := h.Restart(); err != nil {
			return fmt.Errorf("restart: %w", err)
		}
		c.last = bot.Result{}
	case "advance":
		if len(args) != 2 {
			return fmt.Errorf("#! advance takes a duration such as 25h")
		}
		d, err := time.ParseDuration(args[1])
		if err != nil || d <= 0 {
			return fmt.Errorf("#! advance: %q is not a positive duration", args[1])
		}
		h.Advance(d)
	default:
		return fmt.Errorf("unknown directive %q (want user, guide, restart or advance)", args[0])
	}
	return nil
}
