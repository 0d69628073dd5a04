package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestConfigNestingIsBounded: a config.yaml nested thousands deep is
// refused before the YAML parser sees it (40 KB of "- " cost the parser
// 2-9 s and 633 MB), with the line; ordinary configs pass.
func TestConfigNestingIsBounded(t *testing.T) {
	cases := []struct{ name, body, want string }{
		{"dash run", "store:\n  kind: memory\nguides:\n  files:\n  " + strings.Repeat("- ", 20_000) + "x\n", "[5:1] lists and maps nested 20002 deep; at most 32 levels are allowed"},
		{"brackets", "guides:\n  files: " + strings.Repeat("[", 50_000) + "\n", "[2:1] brackets nested 50000 deep; at most 32 levels are allowed"},
		{"shipped", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := c.body
			if c.name == "shipped" {
				body = shippedConfig(t)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			cfg := defaultConfig()
			err := decodeConfig([]byte(body), &cfg)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			t.Logf("%d bytes: %v, %.1f MB allocated: %v", len(body), took, float64(after.TotalAlloc-before.TotalAlloc)/(1<<20), err)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %.200v, want %q", err, c.want)
			}
			if took > time.Second || after.TotalAlloc-before.TotalAlloc > 50<<20 {
				t.Errorf("refusing took %v and %d MB", took, (after.TotalAlloc-before.TotalAlloc)>>20)
			}
		})
	}
}

func shippedConfig(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile("config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestScrubConfigError covers the scrubbing rules one by one.
func TestScrubConfigError(t *testing.T) {
	cases := []struct {
		name, data, msg string
		line            int
		want            string
	}{
		{"plain key kept", "store:\n  pth: x\n", `[2:3] unknown field "pth"`, 2, `[2:3] unknown field "pth"`},
		{"secret value removed", "slack:\n  bot_token: xoxb-1-abc\n", `[2:14] bad value xoxb-1-abc`, 2, `[2:14] bot_token: bad value (hidden) (line 2 holds a secret written out: put it in the environment and write bot_token: ${NAME})`},
		{"secret from the env is no hint", "slack:\n  bot_token: ${SLACK_BOT_TOKEN}\n", `[2:14] bad`, 2, `[2:14] bot_token: bad`},
		{"userinfo removed", "store:\n  redis:\n    url: redis://me:hunter22@h/0\n", `[3:10] x me:hunter22 y`, 3, `[3:10] url: x (hidden) y`},
		{"odd quoted text hidden", "a: 1\n", `[1:1] unknown field "Zx9-Q"`, 1, `[1:1] a: unknown field (hidden)`},
		{"short value kept", "conversation:\n  idle_timeout: 1x\n", `[2:17] time: invalid duration "1x"`, 2, `[2:17] idle_timeout: time: invalid duration "1x"`},
		{"no line", "a: 1\n", `the YAML could not be decoded`, 0, `the YAML could not be decoded`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := scrubConfigError([]byte(c.data), c.msg, c.line).Error(); got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

// FuzzConfigErrorsHideSecrets puts a literal secret into arbitrary YAML,
// as the value of a secret-looking key or as a URL's password: whatever
// error decoding gives must not print it.
func FuzzConfigErrorsHideSecrets(f *testing.F) {
	f.Add("discord:\n", "\n  tokn: x\n", "token")
	f.Add("slack:\n", "  x: [\n", "signing_secret")
	f.Add("store:\n  redis:\n", "\n    url: 1\n", "url")
	f.Add("", "conversation: {", "- password")
	f.Fuzz(func(t *testing.T, before, after, key string) {
		if len(before)+len(after) > 2048 || strings.ContainsAny(key, ":#\n\"'") || !secretKey.MatchString(key) {
			return
		}
		const secret = "Zq9SENTINELx7Hk"
		for _, line := range []string{"  " + key + ": " + secret, "  " + key + ": \"" + secret + "\"", "    url: redis://u:" + secret + "@h/0"} {
			data := before + line + "\n" + after
			cfg := defaultConfig()
			if err := decodeConfig([]byte(data), &cfg); err != nil && strings.Contains(err.Error(), "SENTINEL") {
				t.Errorf("the secret is printed: %v\n--- config:\n%s", err, data)
			}
		}
	})
}

// TestConfigDurations: durations accept days everywhere config.yaml has
// one (the engine's, the HTTP server's, the stores' and the platforms'),
// and a mistake names the key, the line, the value and an example.
func TestConfigDurations(t *testing.T) {
	cases := []struct {
		name, body string
		check      func(Config) bool
		err        string
	}{
		{"days", "conversation:\n  idle_timeout: 1d\n  nudge_after: 90m\n", func(c Config) bool {
			return c.Conversation.IdleTimeout == 24*time.Hour && c.Conversation.NudgeAfter == 90*time.Minute
		}, ""},
		{"quoted days and a fraction", "conversation:\n  idle_timeout: \"1.5d\"\n  handoff_timeout: 3d\n", func(c Config) bool {
			return c.Conversation.IdleTimeout == 36*time.Hour && c.Conversation.HandoffTimeout == 72*time.Hour
		}, ""},
		{"off stays -1s", "conversation:\n  nudge_after: -1s\n", func(c Config) bool { return c.Conversation.NudgeAfter == -time.Second }, ""},
		{"http", "http:\n  shutdown_grace: 1d\n", func(c Config) bool { return c.HTTP.ShutdownGrace == 24*time.Hour }, ""},
		{"redis", "store:\n  kind: memory\n  redis:\n    session_ttl: 30d\n", func(c Config) bool { return c.Store.Redis.SessionTTL == 30*24*time.Hour }, ""},
		{"slack", "slack:\n  api_timeout: 15s\n  outbox_after: 1d\n", func(c Config) bool { return c.Slack.OutboxAfter == 24*time.Hour }, ""},
		{"outbox max age", "conversation:\n  outbox_max_age: 2d\n", func(c Config) bool { return c.Conversation.OutboxMaxAge == 48*time.Hour }, ""},
		{"negative outbox max age", "store:\n  kind: memory\nconversation:\n  outbox_max_age: -1h\n", nil, "conversation.outbox_max_age (-1h0m0s) must be positive"},
		{"flow style", "conversation: {idle_timeout: 2d}\n", func(c Config) bool { return c.Conversation.IdleTimeout == 48*time.Hour }, ""},
		{"words", "store:\n  kind: memory\nconversation:\n  nudge_after: 30 minutes\n", nil,
			`conversation.nudge_after (line 4): "30 minutes" is not a duration; write e.g. 30m, 1h30m or 1d`},
		{"bare number", "conversation:\n  nudge_after: 30\n", nil,
			`conversation.nudge_after (line 2): "30" has no unit (seconds? minutes?); write e.g. 30m, 1h30m or 1d`},
		{"nested key", "store:\n  redis:\n    timeout: 5 s\n", nil, `store.redis.timeout (line 3): "5 s" is not a duration`},
		{"discord", "discord:\n  outbox_after: soon\n", nil, `discord.outbox_after (line 2): "soon" is not a duration`},
		{"two mistakes, both named", "conversation:\n  idle_timeout: 1 day\n  sweep_every: 30\n", nil,
			"conversation.idle_timeout (line 2): \"1 day\" is not a duration; write e.g. 30m, 1h30m or 1d\nconversation.sweep_every (line 3)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := loadConfig(writeConfig(t, c.body), true)
			if c.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !c.check(cfg) {
					t.Errorf("decoded %+v", cfg)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("err = %v\nwant it to contain %q", err, c.err)
			}
			if err != nil && strings.Contains(err.Error(), "time:") {
				t.Errorf("err %q shows Go's own message", err)
			}
		})
	}
}

// writeConfig writes body as a config file in a temp dir.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRelativePathsFromTheConfigFolder: guides.files and store.path
// written in a config file are relative to its folder, wherever the bot
// is started from; absolute paths, the built-in default and the
// TROUBLESHOOTER_STORE override (not written in the file) are unchanged.
func TestRelativePathsFromTheConfigFolder(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "etc")
	if err := os.MkdirAll(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(sub, "config.yaml")
	abs := filepath.Join(dir, "abs.yaml")
	body := "store:\n  path: data/bot.db\nguides:\n  files: [guides/mine.yaml, " + abs + "]\n"
	if err := os.WriteFile(cfgPath, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir) // anywhere but the config's folder
	cfg, err := loadConfig(cfgPath, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(sub, "data", "bot.db"); cfg.Store.Path != want {
		t.Errorf("store.path = %q, want %q", cfg.Store.Path, want)
	}
	if want := []string{filepath.Join(sub, "guides", "mine.yaml"), abs}; strings.Join(cfg.Guides.Files, ",") != strings.Join(want, ",") {
		t.Errorf("guides.files = %q, want %q", cfg.Guides.Files, want)
	}

	// Not written in the file: the default and the override stay as given.
	if err := os.WriteFile(cfgPath, []byte("store:\n  kind: bolt\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if cfg, err = loadConfig(cfgPath, true); err != nil || cfg.Store.Path != defaultConfig().Store.Path {
		t.Errorf("default store.path = %q, %v; want %q", cfg.Store.Path, err, defaultConfig().Store.Path)
	}
	t.Setenv(envStorePath, "elsewhere.db")
	if cfg, err = loadConfig(cfgPath, true); err != nil || cfg.Store.Path != "elsewhere.db" {
		t.Errorf("%s: store.path = %q, %v", envStorePath, cfg.Store.Path, err)
	}
	// A config in the working directory gives the same short paths as before.
	t.Chdir(sub)
	if err := os.WriteFile(cfgPath, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(envStorePath, "")
	if cfg, err = loadConfig("config.yaml", true); err != nil || cfg.Guides.Files[0] != filepath.Join("guides", "mine.yaml") {
		t.Errorf("guides.files = %q, %v", cfg.Guides.Files, err)
	}
}

// FuzzConfigDuration: whatever is written as a duration, decoding never
// panics, and a refusal names the key and its line and gives an example,
// without Go's own "time:" message.
func FuzzConfigDuration(f *testing.F) {
	for _, v := range []string{"1d", "30 minutes", "30", "-1s", `"1.5d"`, "[1, 2]", "{a: 1}", "&x 1h", "!!str 2d", "", "~", "0x1e"} {
		f.Add("idle_timeout", v)
		f.Add("sweep_every", v)
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		if len(value) > 200 || strings.ContainsAny(value, "\n\r") || !durationKeys["conversation."+key] {
			return
		}
		data := []byte("conversation:\n  " + key + ": " + value + "\n")
		cfg := defaultConfig()
		err := decodeConfig(data, &cfg)
		if err == nil {
			return
		}
		if msg := err.Error(); strings.HasPrefix(msg, "conversation.") && (!strings.Contains(msg, "conversation."+key+" (line 2)") || !strings.Contains(msg, "write e.g. 30m, 1h30m or 1d") || strings.Contains(msg, "time:")) {
			t.Errorf("%q: %v", value, err)
		}
	})
}
