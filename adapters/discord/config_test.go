package discord

import (
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	good := Config{Token: "t", ApplicationID: "123"}
	tests := []struct {
		name    string
		mut     func(*Config)
		wantErr string
	}{
		{"minimal", func(*Config) {}, ""},
		{"no token", func(c *Config) { c.Token = " " }, "discord.token is empty"},
		{"bad app id", func(c *Config) { c.ApplicationID = "my-app" }, "discord.application_id"},
		{"bad guild", func(c *Config) { c.GuildIDs = []string{"x"} }, "discord.guild_ids"},
		{"bad mode", func(c *Config) { c.Mode = "channel" }, "discord.mode"},
		{"modes", func(c *Config) { c.Mode = ModeDM }, ""},
		{"bad api url", func(c *Config) { c.APIURL = "discord.com" }, "discord.api_url"},
		{"proxy", func(c *Config) { c.APIURL = "http://nirn:8080" }, ""},
		{"bad shard", func(c *Config) { c.ShardID, c.ShardCount = 2, 2 }, "discord.shard_id"},
		{"http without key", func(c *Config) { c.HTTPInteractions = true }, "discord.public_key"},
		{"http with key", func(c *Config) { c.HTTPInteractions, c.PublicKey = true, strings.Repeat("ab", 32) }, ""},
		{"support channel", func(c *Config) { c.SupportChannel = "800000000000000009" }, ""},
		{"support channel and role", func(c *Config) { c.SupportChannel, c.SupportRole = "800000000000000009", " 600000000000000001 " }, ""},
		{"support channel name", func(c *Config) { c.SupportChannel = "#support" }, "discord.support_channel"},
		{"support role mention", func(c *Config) { c.SupportChannel, c.SupportRole = "8", "<@&600000000000000001>" }, "discord.support_role"},
		{"support role name", func(c *Config) { c.SupportChannel, c.SupportRole = "8", "Support" }, "not a Discord role id"},
		{"support role without channel", func(c *Config) { c.SupportRole = "6" }, "support_channel is empty"},
		{"in flight", func(c *Config) { c.MaxInFlight = 16 }, ""},
		{"negative in flight", func(c *Config) { c.MaxInFlight = -1 }, "discord.max_in_flight"},
		{"rate", func(c *Config) { c.RequestsPerSecond = 0.5 }, ""},
		{"negative rate", func(c *Config) { c.RequestsPerSecond = -50 }, "discord.requests_per_second"},
		{"queued", func(c *Config) { c.MaxQueued = 1 }, ""},
		{"negative queued", func(c *Config) { c.MaxQueued = -1 }, "discord.max_queued"},
	}
	for _, tt := range tests {
		c := good
		tt.mut(&c)
		_, err := New(c, nil)
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: New error = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
	c, _ := good.validate()
	if c.Mode != ModeThread || c.APIURL != DefaultAPIURL || c.ShardCount != 1 ||
		c.MaxInFlight != DefaultMaxInFlight || c.RequestsPerSecond != DefaultRequestsPerSecond || c.MaxQueued != DefaultMaxQueued {
		t.Errorf("defaults: %+v", c)
	}
	for _, tt := range []struct {
		channel string
		want    bool
	}{{"", false}, {"800000000000000009", true}} {
		c := good
		c.SupportChannel = tt.channel
		if a, err := New(c, nil); err != nil || a.HandsOff() != tt.want {
			t.Errorf("support_channel %q: HandsOff = %v, %v; want %v", tt.channel, a != nil && a.HandsOff(), err, tt.want)
		}
	}
	if (Config{}).Enabled() || !good.Enabled() {
		t.Error("Enabled should follow the token")
	}
}
