// Package discord is the Discord adapter: people troubleshoot in a support
// server with the /troubleshoot slash command, buttons, select menus and
// modals, or by mentioning or DMing the bot. It uses discordgo over the
// gateway and can also receive interactions over HTTP
// (Adapter.InteractionsHandler). Escalated conversations can be handed to
// staff in a support channel (PostHandoff, with a Close button), and the
// engine's notices reach people through Send. Setup for server admins is
// in SETUP.md.
package discord

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

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
}

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

// Adapter is the Discord adapter. Create it with New; it is safe for
// concurrent use. Run connects to the gateway; InteractionsHandler serves
// HTTP interactions; both may be used at once.
type Adapter struct {
	cfg       Config
	log       *slog.Logger
	publicKey ed25519.PublicKey
	session   *discordgo.Session
	guides    []string
	// limits is the REST transport's rate-limit guard, which also reports
	// failed calls (SetAPIErrorHook).
	limits *boundedRateLimits

	// now is the clock for timestamp freshness checks.
	now func() time.Time

	mu sync.Mutex
	// base is Run's context without its cancellation.
	base context.Context
	// botID is the bot's user id, known after READY.
	botID string
	// channels caches what the bot learned about channels (threads and
	// their parents, thread owners).
	channels map[string]channelInfo
	// lastStep is the step each conversation was last seen on, a fallback
	// for stale-click detection when the handler cannot tell (see Resumer).
	lastStep map[string]string
	// questions is each conversation's last question with controls, so a
	// typed answer can disable them.
	questions map[string]question

	locks keyedLocks
	work  tracker
}

// channelInfo is what the adapter knows about one channel.
type channelInfo struct {
	Thread bool   // a thread
	Parent string // for a thread, its parent channel
	Ours   bool   // a thread the bot created
	Owner  string // for our threads, the person whose conversation it holds ("" if unknown)
}

var _ bot.Adapter = (*Adapter)(nil)

// New validates cfg and returns an Adapter; it does not connect (Run does).
// Errors name the offending config keys. A nil log discards logs.
func New(cfg Config, log *slog.Logger) (*Adapter, error) {
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	token := cfg.Token
	if !strings.HasPrefix(token, "Bot ") {
		token = "Bot " + token
	}
	s, err := discordgo.New(token)
	if err != nil {
		return nil, fmt.Errorf("discord: %w", err)
	}
	a := &Adapter{
		cfg:       cfg,
		log:       log.With("adapter", Platform),
		session:   s,
		now:       time.Now,
		channels:  make(map[string]channelInfo),
		lastStep:  make(map[string]string),
		questions: make(map[string]question),
	}
	if cfg.PublicKey != "" {
		a.publicKey, _ = parsePublicKey(cfg.PublicKey)
	}
	base, _ := url.Parse(cfg.APIURL)
	a.limits = newBoundedRateLimits(rewriteTransport(base, http.DefaultTransport))
	s.Client = &http.Client{Timeout: 20 * time.Second, Transport: a.limits}
	s.ShardID, s.ShardCount = cfg.ShardID, cfg.ShardCount
	s.StateEnabled = true
	s.Identify.Intents = discordgo.IntentsGuilds | discordgo.IntentsGuildMessages | discordgo.IntentsDirectMessages
	if cfg.MessageContent {
		s.Identify.Intents |= discordgo.IntentsMessageContent
	}
	// discordgo logs request URLs, which hold interaction tokens, at its
	// informational level; keep it at errors whatever its default.
	s.LogLevel = discordgo.LogError
	s.MaxRestRetries = 3
	s.ShouldRetryOnRateLimit = true
	return a, nil
}

// Name returns "discord", the Address.Platform of its conversations.
func (a *Adapter) Name() string { return Platform }

// HandsOff reports whether escalations can be handed to staff: a
// support_channel is configured. main registers the adapter as the
// platform's bot.HandoffPoster only then.
func (a *Adapter) HandsOff() bool { return a.cfg.SupportChannel != "" }

// SetAPIErrorHook makes the adapter call hook after every failed Discord
// REST call (a transport error or a status of 400 or more; each retry
// counts), with rateLimited true for a 429. hook runs on the calling
// goroutine, so it must be fast and safe for concurrent use (a metrics
// counter). A nil hook removes it. Safe to call at any time.
func (a *Adapter) SetAPIErrorHook(hook func(rateLimited bool)) {
	if hook == nil {
		a.limits.onFail.Store(nil)
		return
	}
	a.limits.onFail.Store(&hook)
}

// SetGuides lists the guide ids the handler knows, so that /troubleshoot
// offers a "guide" option when there are several. Call it before Run; it
// only affects command registration.
func (a *Adapter) SetGuides(ids []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.guides = append([]string(nil), ids...)
}

// rewriteTransport sends requests meant for discord.com to base instead
// (scheme, host and a path prefix), for REST proxies and tests. discordgo
// computes its endpoints at init, so this is the way to move them.
func rewriteTransport(base *url.URL, next http.RoundTripper) http.RoundTripper {
	if base.Scheme == "https" && base.Host == "discord.com" && strings.Trim(base.Path, "/") == "" {
		return next
	}
	prefix := strings.TrimRight(base.Path, "/")
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Host != "discord.com" {
			return next.RoundTrip(r)
		}
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host = base.Scheme, base.Host
		r.URL.Path = prefix + r.URL.Path
		if r.URL.RawPath != "" {
			r.URL.RawPath = prefix + r.URL.RawPath
		}
		r.Host = base.Host
		return next.RoundTrip(r)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// keyedLocks serializes work per conversation key: a turn's replies are
// sent before the next turn of the same conversation starts.
type keyedLocks struct {
	mu sync.Mutex
	m  map[string]*keyedLock
}

type keyedLock struct {
	ch   chan struct{}
	refs int
}

func (k *keyedLocks) lock(key string) (unlock func()) {
	unlock, _ = k.lockCtx(context.Background(), key)
	return unlock
}

// lockCtx is lock that gives up when ctx is done first.
func (k *keyedLocks) lockCtx(ctx context.Context, key string) (unlock func(), err error) {
	k.mu.Lock()
	if k.m == nil {
		k.m = make(map[string]*keyedLock)
	}
	l := k.m[key]
	if l == nil {
		l = &keyedLock{ch: make(chan struct{}, 1)}
		k.m[key] = l
	}
	l.refs++
	k.mu.Unlock()
	release := func() {
		k.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}

// tracker counts in-flight work so shutdown can wait for it.
type tracker struct {
	mu      sync.Mutex
	closing bool
	wg      sync.WaitGroup
}

// start registers one piece of work; false once shutdown began.
func (t *tracker) start() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return false
	}
	t.wg.Add(1)
	return true
}

func (t *tracker) done() { t.wg.Done() }

// reopen allows work again (a later Run after a shutdown).
func (t *tracker) reopen() {
	t.mu.Lock()
	t.closing = false
	t.mu.Unlock()
}

// shutdown refuses new work and waits up to d for work in flight.
func (t *tracker) shutdown(d time.Duration) bool {
	t.mu.Lock()
	t.closing = true
	t.mu.Unlock()
	ch := make(chan struct{})
	go func() { t.wg.Wait(); close(ch) }()
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}
