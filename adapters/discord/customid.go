package discord

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"troubleshooter/bot"
)

// A component's custom id carries everything needed to continue the
// conversation after a restart or redeploy, without any state in memory:
//
//	ts1|<kind>|<owner user id>|<step>|<choice>
//
// <step> is "step@guideversion" when the version is known (stepRef), so a
// click on a question from another guide version is recognised.
//
// "ts1" names the format (bump it when the layout changes, so old buttons
// are recognised as expired rather than misread). The conversation key is
// the owner plus where the component lives (guild, channel, thread), which
// the interaction itself carries. Step and choice are percent-escaped for
// '|' and '%'. Discord caps custom ids at 100 characters.
const (
	customIDPrefix = "ts1"
	maxCustomID    = 100
)

// Component kinds in a custom id.
const (
	kindChoice = "c" // a button answering with its choice
	kindSelect = "s" // a select menu; the picked value is the choice
	kindType   = "t" // a button opening the typed-answer modal
	kindModal  = "m" // the modal's submit; its text input is the answer
	// kindClose is the Close button on a handoff post in the support
	// channel. It names the person's conversation rather than a step:
	// Owner is the person, Step the conversation's channel (or DM) id,
	// Choice "<guild>.<thread>" (either may be empty). With 20-digit ids
	// that is at most 89 characters, inside Discord's 100.
	kindClose = "x"
)

// customID is the decoded form of a component's custom id.
type customID struct {
	Kind   string
	Owner  string // the Discord user id of the person the conversation belongs to
	Step   string // the step the component answers
	Choice string // the choice id for kindChoice; the menu's page for kindSelect; the input kind for kindType and kindModal; "<guild>.<thread>" for kindClose
}

var errNotOurs = errors.New("not a troubleshooter custom id")

// encode returns the custom id string, or an error when a part is invalid
// or the result would exceed Discord's 100-character limit.
func (c customID) encode() (string, error) {
	if err := c.validate(); err != nil {
		return "", err
	}
	s := strings.Join([]string{customIDPrefix, c.Kind, c.Owner, bot.EscapeRefField(c.Step), bot.EscapeRefField(c.Choice)}, "|")
	if len(s) > maxCustomID {
		return "", fmt.Errorf("custom id for step %q choice %q is %d characters; Discord allows %d", c.Step, c.Choice, len(s), maxCustomID)
	}
	return s, nil
}

func (c customID) validate() error {
	switch c.Kind {
	case kindChoice:
		if c.Choice == "" {
			return errors.New("custom id: a choice button needs a choice")
		}
	case kindSelect:
		// Choice is an optional page number, keeping the ids of several
		// select menus in one message distinct.
	case kindType, kindModal:
		// Choice is the kind of typed answer ("size", "version", …), so
		// the modal can be labelled without any state.
	case kindClose:
		if !isSnowflake(c.Step) {
			return fmt.Errorf("custom id: close button channel %q is not a Discord id", c.Step)
		}
		place := strings.Split(c.Choice, ".")
		if len(place) == 3 {
			// The handoff's start, Unix seconds in base 36.
			if sec, err := strconv.ParseInt(place[2], 36, 64); err != nil || sec <= 0 || strconv.FormatInt(sec, 36) != place[2] {
				return fmt.Errorf("custom id: close button place %q is not <guild>.<thread>[.<start>]: bad start", c.Choice)
			}
			place = place[:2]
		}
		if len(place) != 2 {
			return fmt.Errorf("custom id: close button place %q is not <guild>.<thread>[.<start>]", c.Choice)
		}
		guild, thread := place[0], place[1]
		if guild != "" && !isSnowflake(guild) || thread != "" && !isSnowflake(thread) || guild == "" && thread != "" {
			return fmt.Errorf("custom id: close button place %q is not <guild>.<thread>", c.Choice)
		}
	default:
		return fmt.Errorf("custom id: unknown kind %q", c.Kind)
	}
	if !isSnowflake(c.Owner) {
		return fmt.Errorf("custom id: owner %q is not a Discord user id", c.Owner)
	}
	if c.Step == "" {
		return errors.New("custom id: empty step")
	}
	return nil
}

// parseCustomID decodes a custom id written by encode. Ids of other
// formats (older versions, other bots' components) return an error
// wrapping errNotOurs; malformed ids of our format return another error.
func parseCustomID(s string) (customID, error) {
	if len(s) > maxCustomID {
		return customID{}, fmt.Errorf("custom id longer than %d characters", maxCustomID)
	}
	parts := strings.Split(s, "|")
	if parts[0] != customIDPrefix {
		return customID{}, errNotOurs
	}
	if len(parts) != 5 {
		return customID{}, fmt.Errorf("custom id has %d parts, want 5", len(parts))
	}
	step, err := bot.UnescapeRefField(parts[3])
	if err != nil {
		return customID{}, fmt.Errorf("custom id step: %w", err)
	}
	choice, err := bot.UnescapeRefField(parts[4])
	if err != nil {
		return customID{}, fmt.Errorf("custom id choice: %w", err)
	}
	c := customID{Kind: parts[1], Owner: parts[2], Step: step, Choice: choice}
	if err := c.validate(); err != nil {
		return customID{}, err
	}
	return c, nil
}

// isSnowflake reports whether s looks like a Discord id: 1 to 20 digits.
func isSnowflake(s string) bool {
	if len(s) == 0 || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// stepRef joins a step id and the guide version it belongs to for a custom
// id. Step ids are lower-case letters, digits and '_', so '@' cannot occur
// in them.
func stepRef(step, version string) string {
	if version == "" {
		return step
	}
	return step + "@" + version
}

// stepOf and versionOf split what stepRef joined.
func stepOf(ref string) string {
	step, _, _ := strings.Cut(ref, "@")
	return step
}

func versionOf(ref string) string {
	_, version, _ := strings.Cut(ref, "@")
	return version
}

// closeCustomID is the custom id of the Close button for the conversation
// at a (a Discord address: the ids are snowflakes).
func closeCustomID(a bot.Address) (string, error) {
	return closeCustomIDAt(a, time.Time{})
}

// closeCustomIDAt is closeCustomID carrying the handoff's start, so that
// the button closes only the handoff it was posted for. Worst case, with
// 20-digit ids: 96 characters of Discord's 100.
func closeCustomIDAt(a bot.Address, started time.Time) (string, error) {
	// "." separates the place's parts, so ids must be checked before they
	// are joined: a "guild" of "." would otherwise read back differently.
	if a.Workspace != "" && !isSnowflake(a.Workspace) || a.Thread != "" && !isSnowflake(a.Thread) {
		return "", fmt.Errorf("custom id: close button place %q is not a Discord <guild>.<thread>", a.Workspace+"."+a.Thread)
	}
	place := a.Workspace + "." + a.Thread
	if !started.IsZero() && started.Unix() > 0 {
		place += "." + strconv.FormatInt(started.Unix(), 36)
	}
	return customID{Kind: kindClose, Owner: a.User, Step: a.Channel, Choice: place}.encode()
}

// closeAddress is the conversation a parsed Close button names.
func closeAddress(c customID) bot.Address {
	place := strings.Split(c.Choice, ".")
	guild, thread := place[0], ""
	if len(place) > 1 {
		thread = place[1]
	}
	return bot.Address{Platform: Platform, Workspace: guild, Channel: c.Step, Thread: thread, User: c.Owner}
}

// closeStarted is the handoff start a parsed Close button carries; zero
// for none (buttons posted before it was added).
func closeStarted(c customID) time.Time {
	place := strings.Split(c.Choice, ".")
	if len(place) != 3 {
		return time.Time{}
	}
	sec, err := strconv.ParseInt(place[2], 36, 64)
	if err != nil || sec <= 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0)
}
