package discord

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"troubleshooter/bot"
)

// Platform is the Address.Platform of Discord conversations.
const Platform = "discord"

// Where conversations live (Config.Mode).
const (
	// ModeThread opens a public thread per conversation (the default).
	ModeThread = "thread"
	// ModeEphemeral answers with ephemeral messages only the asker sees.
	ModeEphemeral = "ephemeral"
	// ModeDM moves the conversation to the person's direct messages.
	ModeDM = "dm"
)

// When the bot pings the person (Config.Ping).
const (
	PingFirst  = "first"
	PingAlways = "always"
	PingNever  = "never"
)

// DefaultAPIURL is Discord's REST base URL.
const DefaultAPIURL = "https://discord.com"

// Config configures the Discord adapter. Only main reads the file; secrets
// come from the environment through ${VAR} references. The zero value is a
// disabled adapter (see Enabled).
type Config struct {
	// Token is the bot token, e.g. ${DISCORD_TOKEN}. With or without the
	// "Bot " prefix.
	Token string `yaml:"token"`
	// ApplicationID is the application's id (a snowflake), for command
	// registration and interaction webhooks.
	ApplicationID string `yaml:"application_id"`
	// PublicKey is the application's hex Ed25519 public key, required when
	// HTTPInteractions is set.
	PublicKey string `yaml:"public_key"`
	// GuildIDs, when set, registers the slash command on these guilds
	// (instant updates) instead of globally.
	GuildIDs []string `yaml:"guild_ids"`
	// Mode is where conversations live: "thread" (default), "ephemeral" or
	// "dm".
	Mode string `yaml:"mode"`
	// MessageContent says the privileged Message Content intent is enabled
	// in the developer portal; plain typed answers in the bot's threads then
	// work without mentioning the bot.
	MessageContent bool `yaml:"message_content"`
	// APIURL is the REST base URL (default https://discord.com), e.g. a
	// nirn-proxy. The gateway URL is whatever its /api/v9/gateway returns.
	APIURL string `yaml:"api_url"`
	// ShardID and ShardCount select this process's gateway shard; a zero
	// ShardCount means 1 shard. DMs arrive on shard 0 only.
	ShardID    int `yaml:"shard_id"`
	ShardCount int `yaml:"shard_count"`
	// HTTPInteractions says interactions arrive over HTTP at
	// /discord/interactions (InteractionsHandler) instead of the gateway.
	// The gateway is still used for DMs and mentions.
	HTTPInteractions bool `yaml:"http_interactions"`
	// SupportChannel is the id of the channel where escalated
	// conversations are handed to staff (PostHandoff), each post with a
	// Close button. Empty disables handoffs: an escalation just ends the
	// conversation. The bot needs View Channel, Send Messages and Embed
	// Links there (SETUP.md).
	SupportChannel string `yaml:"support_channel"`
	// SupportRole, optional, is the id of the role mentioned (and so
	// notified) on each handoff post; it is the only thing the bot ever
	// pings besides a conversation's own person. When set, only members
	// with this role (or Manage Messages) may close handoffs. Requires
	// SupportChannel.
	SupportRole string `yaml:"support_role"`
	// Ping is when the bot's messages notify (ping) the person whose
	// conversation it is, in a server: "first" (default) pings on the
	// first message of a thread the bot opened for them (which also adds
	// them to the thread) and on notices about a handoff to staff (closed,
	// or failed); reminders and the closing notice in their own
	// conversation do not ping. "always" pings on every notice as well;
	// "never" pings no one (people then may not be added to their
	// thread's notifications). DMs never ping.
	Ping string `yaml:"ping"`
	// OutboxAfter is how long a turn's replies, saved with the turn, may
	// wait to be sent and confirmed before the engine's sweeper posts them
	// itself (after a crash or a deploy cut sending short), in the
	// conversation's thread or channel. Default 30s.
	OutboxAfter time.Duration `yaml:"outbox_after"`
	// MaxInFlight bounds the REST calls in flight at once, across all
	// conversations (default 256); calls past it wait for a slot. It is a
	// memory and socket bound, not the rate limit: the REST client keeps
	// this many keep-alive connections, and at 300 ms a call it carries
	// about 850 calls a second, mostly interaction followups and edits,
	// which Discord does not count against the global limit.
	MaxInFlight int `yaml:"max_in_flight"`
	// RequestsPerSecond paces the REST calls that count against Discord's
	// global limit (everything but interaction responses, followups and
	// their edits) to at most this many a second across the process,
	// default 50, Discord's limit for a bot; raise it only if Discord
	// raised your bot's limit. Several replicas of one bot share Discord's
	// limit: give each its share.
	RequestsPerSecond float64 `yaml:"requests_per_second"`
	// MaxQueued bounds the gateway messages and interactions taken but
	// not yet finished (queued behind their conversation's earlier
	// messages, or running), default 4096. When it is reached, reading the
	// gateway pauses, and an HTTP interaction's request waits, until a
	// turn finishes (counted in Stats and logged), rather than holding
	// unbounded memory; Discord keeps gateway events meanwhile.
	MaxQueued int `yaml:"max_queued"`
}

// Defaults of the throughput settings.
const (
	DefaultMaxInFlight       = 256
	DefaultRequestsPerSecond = 50
	DefaultMaxQueued         = 4096
)

// Enabled reports whether the adapter is configured at all: a token is set.
func (c Config) Enabled() bool { return strings.TrimSpace(c.Token) != "" }

// validate checks c and fills defaults; errors name the config key.
func (c Config) validate() (Config, error) {
	var errs []error
	c.Token = strings.TrimSpace(c.Token)
	if c.Token == "" {
		errs = append(errs, errors.New("discord.token is empty (set DISCORD_TOKEN)"))
	}
	if !isSnowflake(c.ApplicationID) {
		errs = append(errs, fmt.Errorf("discord.application_id %q is not a Discord id (digits, from the developer portal's General Information page)", c.ApplicationID))
	}
	for _, g := range c.GuildIDs {
		if !isSnowflake(g) {
			errs = append(errs, fmt.Errorf("discord.guild_ids: %q is not a Discord id", g))
		}
	}
	switch c.Mode {
	case "":
		c.Mode = ModeThread
	case ModeThread, ModeEphemeral, ModeDM:
	default:
		errs = append(errs, fmt.Errorf("discord.mode %q: want thread, ephemeral or dm", c.Mode))
	}
	switch c.Ping {
	case "":
		c.Ping = PingFirst
	case PingFirst, PingAlways, PingNever:
	default:
		errs = append(errs, fmt.Errorf("discord.ping %q: want first, always or never", c.Ping))
	}
	if c.OutboxAfter < 0 {
		errs = append(errs, fmt.Errorf("discord.outbox_after is %s; want a positive duration such as 30s", c.OutboxAfter))
	}
	if c.OutboxAfter == 0 {
		c.OutboxAfter = bot.DefaultOutboxAfter
	}
	switch {
	case c.MaxInFlight == 0:
		c.MaxInFlight = DefaultMaxInFlight
	case c.MaxInFlight < 0:
		errs = append(errs, fmt.Errorf("discord.max_in_flight is %d; want a positive number such as %d", c.MaxInFlight, DefaultMaxInFlight))
	}
	switch {
	case c.RequestsPerSecond == 0:
		c.RequestsPerSecond = DefaultRequestsPerSecond
	case c.RequestsPerSecond < 0:
		errs = append(errs, fmt.Errorf("discord.requests_per_second is %v; want a positive number such as %d", c.RequestsPerSecond, DefaultRequestsPerSecond))
	}
	switch {
	case c.MaxQueued == 0:
		c.MaxQueued = DefaultMaxQueued
	case c.MaxQueued < 0:
		errs = append(errs, fmt.Errorf("discord.max_queued is %d; want a positive number such as %d", c.MaxQueued, DefaultMaxQueued))
	}
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("discord.api_url %q: want an http(s) URL such as %s", c.APIURL, DefaultAPIURL))
	}
	if c.ShardCount == 0 {
		c.ShardCount = 1
	}
	if c.ShardCount < 1 || c.ShardID < 0 || c.ShardID >= c.ShardCount {
		errs = append(errs, fmt.Errorf("discord.shard_id %d / shard_count %d: want 0 <= shard_id < shard_count", c.ShardID, c.ShardCount))
	}
	c.SupportChannel, c.SupportRole = strings.TrimSpace(c.SupportChannel), strings.TrimSpace(c.SupportRole)
	if c.SupportChannel != "" && !isSnowflake(c.SupportChannel) {
		errs = append(errs, fmt.Errorf("discord.support_channel %q is not a Discord channel id (digits: right-click the channel → Copy Channel ID, with Developer Mode on)", c.SupportChannel))
	}
	if c.SupportRole != "" {
		if !isSnowflake(c.SupportRole) {
			errs = append(errs, fmt.Errorf("discord.support_role %q is not a Discord role id (digits: Server Settings → Roles → right-click the role → Copy Role ID; not the role's name or <@&…>)", c.SupportRole))
		}
		if c.SupportChannel == "" {
			errs = append(errs, errors.New("discord.support_role is set but discord.support_channel is empty: handoffs need a channel to go to"))
		}
	}
	if c.HTTPInteractions || c.PublicKey != "" {
		if _, err := parsePublicKey(c.PublicKey); err != nil {
			errs = append(errs, fmt.Errorf("discord.public_key: %w", err))
		}
	}
	return c, errors.Join(errs...)
}

func parsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("want the application's public key: 64 hex digits")
	}
	return ed25519.PublicKey(b), nil
}
