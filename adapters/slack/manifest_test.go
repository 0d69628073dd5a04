package slack

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"testing"

	"github.com/goccy/go-yaml"
)

// appManifest is the part of a Slack app manifest the adapter depends on.
type appManifest struct {
	Features struct {
		AppHome struct {
			MessagesTabEnabled         bool `yaml:"messages_tab_enabled"`
			MessagesTabReadOnlyEnabled bool `yaml:"messages_tab_read_only_enabled"`
		} `yaml:"app_home"`
		BotUser struct {
			DisplayName string `yaml:"display_name"`
		} `yaml:"bot_user"`
		SlashCommands []struct {
			Command      string `yaml:"command"`
			URL          string `yaml:"url"`
			ShouldEscape bool   `yaml:"should_escape"`
		} `yaml:"slash_commands"`
	} `yaml:"features"`
	OAuth struct {
		Scopes struct {
			Bot []string `yaml:"bot"`
		} `yaml:"scopes"`
	} `yaml:"oauth_config"`
	Settings struct {
		Events struct {
			RequestURL string   `yaml:"request_url"`
			BotEvents  []string `yaml:"bot_events"`
		} `yaml:"event_subscriptions"`
		Interactivity struct {
			IsEnabled  bool   `yaml:"is_enabled"`
			RequestURL string `yaml:"request_url"`
		} `yaml:"interactivity"`
		SocketMode bool `yaml:"socket_mode_enabled"`
	} `yaml:"settings"`
}

// TestManifests: both manifests parse and ask for exactly what the adapter
// needs; the HTTP one points at the paths HTTPHandler serves.
func TestManifests(t *testing.T) {
	for _, tc := range []struct {
		file   string
		socket bool
	}{{"manifest.yaml", true}, {"manifest-http.yaml", false}} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			var m appManifest
			if err := yaml.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			if m.Settings.SocketMode != tc.socket {
				t.Errorf("socket_mode_enabled = %v", m.Settings.SocketMode)
			}
			for _, s := range []string{"app_mentions:read", "channels:history", "groups:history", "im:history", "chat:write", "commands"} {
				if !slices.Contains(m.OAuth.Scopes.Bot, s) {
					t.Errorf("missing bot scope %s", s)
				}
			}
			if slices.Contains(m.OAuth.Scopes.Bot, "chat:write.public") {
				t.Error("chat:write.public lets the bot open threads whose replies it never receives (message events need membership)")
			}
			for _, ev := range []string{"app_mention", "message.channels", "message.groups", "message.im"} {
				if !slices.Contains(m.Settings.Events.BotEvents, ev) {
					t.Errorf("missing bot event %s", ev)
				}
			}
			if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != "/troubleshoot" || m.Features.SlashCommands[0].ShouldEscape {
				t.Errorf("slash commands = %+v", m.Features.SlashCommands)
			}
			if !m.Settings.Interactivity.IsEnabled || !m.Features.AppHome.MessagesTabEnabled || m.Features.AppHome.MessagesTabReadOnlyEnabled {
				t.Error("interactivity and a writable messages tab are needed")
			}
			urls := []string{m.Features.SlashCommands[0].URL, m.Settings.Events.RequestURL, m.Settings.Interactivity.RequestURL}
			if tc.socket {
				for _, u := range urls {
					if u != "" {
						t.Errorf("socket mode manifest has a request URL %q", u)
					}
				}
				return
			}
			ad, err := New(Config{Mode: ModeHTTP, BotToken: "xoxb-x", SigningSecret: "s"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			h := ad.HTTPHandler(nil)
			for _, u := range urls {
				pu, err := url.Parse(u)
				if err != nil || pu.Scheme != "https" {
					t.Fatalf("request URL %q", u)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, pu.Path, nil))
				if w.Code != http.StatusUnauthorized {
					t.Errorf("POST %s (unsigned) = %d, want 401: the handler does not serve it", pu.Path, w.Code)
				}
			}
		})
	}
}
