package slack

import (
	"strings"
	"testing"
)

func TestConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr []string
		wantAPI string
	}{
		{name: "socket default", cfg: Config{BotToken: "xoxb-1", AppToken: "xapp-1"}, wantAPI: DefaultAPIURL},
		{name: "http", cfg: Config{Mode: "http", BotToken: "xoxb-1", SigningSecret: "s", APIURL: "https://slack-gov.com/api"}, wantAPI: "https://slack-gov.com/api/"},
		{name: "no tokens", cfg: Config{}, wantErr: []string{"bot_token is empty", "app_token is empty"}},
		{name: "user token", cfg: Config{BotToken: "xoxp-1", AppToken: "xapp-1"}, wantErr: []string{"does not start with xoxb-"}},
		{name: "bot token as app token", cfg: Config{BotToken: "xoxb-1", AppToken: "xoxb-2"}, wantErr: []string{"app_token does not start with xapp-"}},
		{name: "http without secret", cfg: Config{Mode: "http", BotToken: "xoxb-1"}, wantErr: []string{"signing_secret is empty"}},
		{name: "bad mode", cfg: Config{Mode: "rtm", BotToken: "xoxb-1"}, wantErr: []string{`slack.mode is "rtm"`}},
		{name: "upper-case mode", cfg: Config{Mode: "HTTP", BotToken: "xoxb-1", SigningSecret: "s"}, wantErr: []string{`slack.mode is "HTTP"`}},
		{name: "bad url", cfg: Config{BotToken: "xoxb-1", AppToken: "xapp-1", APIURL: "slack.com/api"}, wantErr: []string{"not an absolute http(s) URL"}},
		{name: "support channel and group", cfg: Config{BotToken: "xoxb-1", AppToken: "xapp-1", SupportChannel: " C0123ABCD ", SupportGroup: "S0456EFGH"}, wantAPI: DefaultAPIURL},
		{name: "private support channel", cfg: Config{BotToken: "xoxb-1", AppToken: "xapp-1", SupportChannel: "G0123ABCD"}, wantAPI: DefaultAPIURL},
		{name: "support channel by name", cfg: Config{BotToken: "xoxb-1", AppToken: "xapp-1", SupportChannel: "#support"}, wantErr: []string{`slack.support_channel "#support" is not a channel id`, "Channel ID"}},
		{name: "lower-case support channel", cfg: Config{BotToken: "xoxb-1", AppToken: "xapp-1", SupportChannel: "c0123abcd"}, wantErr: []string{"slack.support_channel", "upper case"}},
		{name: "DM as support channel", cfg: Config{BotToken: "xoxb-1", AppToken: "xapp-1", SupportChannel: "D0123ABCD"}, wantErr: []string{"slack.support_channel"}},
		{name: "group by handle", cfg: Config{BotToken: "xoxb-1", AppToken: "xapp-1", SupportChannel: "C1", SupportGroup: "@support-team"}, wantErr: []string{`slack.support_group "@support-team" is not a user group id`}},
		{name: "posting bounds", cfg: Config{BotToken: "xoxb-1", AppToken: "xapp-1", MaxPostsInFlight: 8, MaxQueuedTurns: 100, APITimeout: 3e9}, wantAPI: DefaultAPIURL},
		{name: "negative in flight", cfg: Config{BotToken: "xoxb-1", AppToken: "xapp-1", MaxPostsInFlight: -1}, wantErr: []string{"slack.max_posts_in_flight is -1"}},
		{name: "negative queue", cfg: Config{BotToken: "xoxb-1", AppToken: "xapp-1", MaxQueuedTurns: -5}, wantErr: []string{"slack.max_queued_turns is -5"}},
		{name: "negative timeout", cfg: Config{BotToken: "xoxb-1", AppToken: "xapp-1", APITimeout: -1e9}, wantErr: []string{"slack.api_timeout is -1s"}},
		{name: "group without channel", cfg: Config{BotToken: "xoxb-1", AppToken: "xapp-1", SupportGroup: "S1"}, wantErr: []string{"support_group is set but slack.support_channel is empty"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := New(tc.cfg, nil)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if a.cfg.APIURL != tc.wantAPI || a.Name() != "slack" {
					t.Errorf("api url %q name %q", a.cfg.APIURL, a.Name())
				}
				// Unset bounds take their defaults; set ones are kept.
				wantInFlight, wantQueued, wantTimeout := tc.cfg.MaxPostsInFlight, tc.cfg.MaxQueuedTurns, tc.cfg.APITimeout
				if wantInFlight == 0 {
					wantInFlight = DefaultMaxPostsInFlight
				}
				if wantQueued == 0 {
					wantQueued = DefaultMaxQueuedTurns
				}
				if wantTimeout == 0 {
					wantTimeout = DefaultAPITimeout
				}
				if a.cfg.MaxPostsInFlight != wantInFlight || a.cfg.MaxQueuedTurns != wantQueued || a.cfg.APITimeout != wantTimeout {
					t.Errorf("bounds %d, %d, %s; want %d, %d, %s", a.cfg.MaxPostsInFlight, a.cfg.MaxQueuedTurns, a.cfg.APITimeout, wantInFlight, wantQueued, wantTimeout)
				}
				if cap(a.slots.ch) != wantInFlight || a.posts.max != wantQueued || a.hooks.Timeout != wantTimeout {
					t.Errorf("the adapter does not use its bounds: %d slots, %d queued, %s timeout", cap(a.slots.ch), a.posts.max, a.hooks.Timeout)
				}
				if a.HandsOff() != (tc.cfg.SupportChannel != "") || strings.TrimSpace(a.cfg.SupportChannel) != a.cfg.SupportChannel {
					t.Errorf("HandsOff() = %v with support_channel %q", a.HandsOff(), a.cfg.SupportChannel)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "xoxp-1") || strings.Contains(err.Error(), "xoxb-2") {
				t.Errorf("error leaks a token: %q", err)
			}
		})
	}
	if (Config{}).Enabled() || !(Config{BotToken: "xoxb-1"}).Enabled() {
		t.Error("Enabled")
	}
}
