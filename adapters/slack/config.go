package slack

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"troubleshooter/bot"
)

// Modes of connection, the values of Config.Mode.
const (
	// ModeSocket connects out to Slack over Socket Mode (the default).
	ModeSocket = "socket"
	// ModeHTTP receives Slack's requests on HTTPHandler's routes.
	ModeHTTP = "http"
)

// Config configures the Slack adapter. Only main reads the config file;
// secrets come from the environment through ${VAR}.
type Config struct {
	// Mode is "socket" (the default when empty) or "http".
	Mode string `yaml:"mode"`
	// BotToken is the bot user OAuth token, xoxb-…, from ${SLACK_BOT_TOKEN}.
	BotToken string `yaml:"bot_token"`
	// AppToken is the app-level token, xapp-… with connections:write, from
	// ${SLACK_APP_TOKEN}; required in socket mode.
	AppToken string `yaml:"app_token"`
	// SigningSecret verifies HTTP requests, from ${SLACK_SIGNING_SECRET};
	// required in http mode.
	SigningSecret string `yaml:"signing_secret"`
	// APIURL is the Web API base, default https://slack.com/api/ (set it for
	// GovSlack or an egress proxy). Socket Mode connects to whatever
	// websocket URL this base's apps.connections.open returns.
	APIURL string `yaml:"api_url"`
	// SupportChannel is the id (C…) of the channel where escalated
	// conversations are handed to staff; empty means no handoffs (an
	// escalation just ends the conversation). The bot must be a member.
	SupportChannel string `yaml:"support_channel"`
	// SupportGroup is the id (S…) of a user group mentioned on every
	// handoff post, so that its members are notified; optional, and only
	// with SupportChannel.
	SupportGroup string `yaml:"support_group"`
	// OutboxAfter is how long a turn's replies, saved with the turn, may
	// wait to be posted and confirmed before the engine's sweeper posts
	// them itself (after a crash or a deploy cut posting short). Default
	// 30s; longer than posting normally takes (about one message a second
	// per channel).
	OutboxAfter time.Duration `yaml:"outbox_after"`
	// MaxPostsInFlight bounds the Web API calls running at once, all
	// conversations together (default 256). The shared HTTP transport keeps
	// as many connections alive, so a busy bot reuses them instead of
	// opening (and TLS-handshaking) new ones. A call beyond the bound waits
	// for a free slot after the delivery was acknowledged: acks never wait
	// on it.
	MaxPostsInFlight int `yaml:"max_posts_in_flight"`
	// MaxQueuedTurns bounds the acknowledged turns whose replies wait to be
	// posted, all conversations together (default 4096; it bounds memory).
	// At the bound new deliveries are refused (HTTP 503, or no Socket Mode
	// ack) so that Slack delivers them again later; none is dropped.
	MaxQueuedTurns int `yaml:"max_queued_turns"`
	// APITimeout is the deadline of each Web API call (one attempt;
	// default 10s). A call that takes longer fails, and its reply is left
	// to the outbox sweeper.
	APITimeout time.Duration `yaml:"api_timeout"`
}

// Defaults of the posting bounds, used when the key is unset (zero).
const (
	// DefaultMaxPostsInFlight is Config.MaxPostsInFlight's default: at
	// 50–300 ms a call, a few hundred to a few thousand posts a second.
	DefaultMaxPostsInFlight = 256
	// DefaultMaxQueuedTurns is Config.MaxQueuedTurns's default: a few KB
	// each, some MB in all.
	DefaultMaxQueuedTurns = 4096
	// DefaultAPITimeout is Config.APITimeout's default: far above Slack's
	// usual 50–300 ms, well below the outbox sweeper's 30 s.
	DefaultAPITimeout = 10 * time.Second
)

// Enabled reports whether Slack is configured at all: a bot token is set.
// main runs the adapter only when it is.
func (c Config) Enabled() bool { return strings.TrimSpace(c.BotToken) != "" }

// validate checks c and returns it with defaults filled in. Errors name the
// config key and say what is expected, never the secret itself.
func (c Config) validate() (Config, error) {
	if c.Mode == "" {
		c.Mode = ModeSocket
	}
	var errs []error
	switch c.Mode {
	case ModeSocket, ModeHTTP:
	default:
		errs = append(errs, fmt.Errorf("slack.mode is %q; want %q or %q (lower case)", c.Mode, ModeSocket, ModeHTTP))
	}
	switch {
	case c.BotToken == "":
		errs = append(errs, errors.New("slack.bot_token is empty; set it to the bot token (xoxb-…), e.g. ${SLACK_BOT_TOKEN}"))
	case !strings.HasPrefix(c.BotToken, "xoxb-"):
		errs = append(errs, errors.New("slack.bot_token does not start with xoxb-: use the Bot User OAuth Token from OAuth & Permissions, not a user (xoxp-) or app (xapp-) token"))
	}
	if c.Mode == ModeSocket {
		switch {
		case c.AppToken == "":
			errs = append(errs, errors.New("slack.app_token is empty; socket mode needs an app-level token (xapp-…) with the connections:write scope, e.g. ${SLACK_APP_TOKEN}"))
		case !strings.HasPrefix(c.AppToken, "xapp-"):
			errs = append(errs, errors.New("slack.app_token does not start with xapp-: create an app-level token under Basic Information → App-Level Tokens"))
		}
	}
	if c.Mode == ModeHTTP && c.SigningSecret == "" {
		errs = append(errs, errors.New("slack.signing_secret is empty; http mode needs the Signing Secret from Basic Information, e.g. ${SLACK_SIGNING_SECRET}"))
	}
	if c.OutboxAfter < 0 {
		errs = append(errs, fmt.Errorf("slack.outbox_after is %s; want a positive duration such as 30s", c.OutboxAfter))
	}
	if c.OutboxAfter == 0 {
		c.OutboxAfter = bot.DefaultOutboxAfter
	}
	switch {
	case c.MaxPostsInFlight < 0:
		errs = append(errs, fmt.Errorf("slack.max_posts_in_flight is %d; want a positive number such as %d", c.MaxPostsInFlight, DefaultMaxPostsInFlight))
	case c.MaxPostsInFlight == 0:
		c.MaxPostsInFlight = DefaultMaxPostsInFlight
	}
	switch {
	case c.MaxQueuedTurns < 0:
		errs = append(errs, fmt.Errorf("slack.max_queued_turns is %d; want a positive number such as %d", c.MaxQueuedTurns, DefaultMaxQueuedTurns))
	case c.MaxQueuedTurns == 0:
		c.MaxQueuedTurns = DefaultMaxQueuedTurns
	}
	switch {
	case c.APITimeout < 0:
		errs = append(errs, fmt.Errorf("slack.api_timeout is %s; want a positive duration such as %s", c.APITimeout, DefaultAPITimeout))
	case c.APITimeout == 0:
		c.APITimeout = DefaultAPITimeout
	}
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	u, err := url.Parse(c.APIURL)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("slack.api_url: %w", err))
	case (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		errs = append(errs, fmt.Errorf("slack.api_url %q is not an absolute http(s) URL", c.APIURL))
	}
	if !strings.HasSuffix(c.APIURL, "/") {
		c.APIURL += "/" // slack-go appends method names directly
	}
	c.SupportChannel = strings.TrimSpace(c.SupportChannel)
	c.SupportGroup = strings.TrimSpace(c.SupportGroup)
	if c.SupportChannel != "" && !validID(c.SupportChannel, "CG") {
		errs = append(errs, fmt.Errorf("slack.support_channel %q is not a channel id: use the id (C…, upper case) from the channel's details → About → Channel ID, not its name, and invite the bot there (/invite @Troubleshooter)", clip(c.SupportChannel, 40)))
	}
	if c.SupportGroup != "" {
		switch {
		case !validID(c.SupportGroup, "S"):
			errs = append(errs, fmt.Errorf("slack.support_group %q is not a user group id: use the group's id (S…, upper case): People → User groups → the group → ⋯ → Copy group ID; not its @handle", clip(c.SupportGroup, 40)))
		case c.SupportChannel == "":
			errs = append(errs, errors.New("slack.support_group is set but slack.support_channel is empty: the group is mentioned on handoff posts, which go to the support channel"))
		}
	}
	return c, errors.Join(errs...)
}

// validID reports whether id looks like a Slack id starting with one of
// prefixes: upper-case letters and digits, 2 to 32 characters. Catching a
// channel name or a lower-cased id at start-up beats a channel_not_found
// on the first escalation.
func validID(id, prefixes string) bool {
	if len(id) < 2 || len(id) > 32 || !strings.ContainsRune(prefixes, rune(id[0])) {
		return false
	}
	for i := 1; i < len(id); i++ {
		if c := id[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
