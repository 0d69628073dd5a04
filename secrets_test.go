package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeSecrets are recognisable credentials; none may ever be printed.
var fakeSecrets = map[string]string{
	"DISCORD_TOKEN":        "MTA-fake-discord-token.SECRET1.abcdefghijklmnop",
	"DISCORD_PUBLIC_KEY":   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"SLACK_BOT_TOKEN":      "xoxb-0000-fake-slack-bot-SECRET2",
	"SLACK_APP_TOKEN":      "xapp-1-fake-slack-app-SECRET3",
	"SLACK_SIGNING_SECRET": "fake-signing-SECRET4",
	"REDIS_PASSWORD":       "fake-redis-SECRET5",
}

// TestSecretsNeverLogged runs the bot with known fake credentials against
// platform APIs that refuse them, and a Redis that is not there, with
// debug logging on: no credential may appear in anything it prints.
func TestSecretsNeverLogged(t *testing.T) {
	for k, v := range fakeSecrets {
		t.Setenv(k, v)
	}
	var mu sync.Mutex
	var seenAuth []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seenAuth = append(seenAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if strings.HasPrefix(r.URL.Path, "/slack/") { // Slack's Web API answers 200 with ok:false
			w.Write([]byte(`{"ok":false,"error":"invalid_auth"}`))
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"message":"401: Unauthorized","code":0}`))
	}))
	defer api.Close()

	discord := `
log:
  level: debug
discord:
  token: ${DISCORD_TOKEN}
  application_id: "123456789012345678"
  public_key: ${DISCORD_PUBLIC_KEY}
  api_url: ` + api.URL + `/discord/
`
	slack := `
log:
  level: debug
slack:
  bot_token: ${SLACK_BOT_TOKEN}
  app_token: ${SLACK_APP_TOKEN}
  signing_secret: ${SLACK_SIGNING_SECRET}
  api_url: ` + api.URL + `/slack/api/
`
	cases := []struct {
		name   string
		config string
		args   []string
		want   string // the clear error the operator gets
	}{
		{"discord refuses the token", discord, []string{"serve", "--http", "127.0.0.1:0"}, "Discord refused the bot token"},
		{"slack refuses the token", slack, []string{"serve", "--http", "127.0.0.1:0"}, "refused the bot token"},
		{"redis unreachable", "kind: redis\n  redis:\n    url: redis://:${REDIS_PASSWORD}@127.0.0.1:1/0\nlog:\n  level: debug\n", []string{"serve", "--http", "off"}, "cannot reach 127.0.0.1:1"},
		{"report", discord + slack[len("\nlog:\n  level: debug"):], []string{"report"}, "No conversations in this window"},
		{"flows check", discord, []string{"flows", "check"}, "ok  whatsapp-icloud"},
		{"bad config value", slack + "throttle:\n  per_minute: lots\n", []string{"serve"}, "per_minute"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := filepath.Join(t.TempDir(), "config.yaml")
			body := tc.config
			if strings.HasPrefix(body, "kind: redis") {
				body = "store:\n  " + body
			} else {
				body = "store:\n  kind: memory\n" + body
			}
			if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			code := run(ctx, append(tc.args, "--config", cfg), strings.NewReader(""), &stdout, &stderr)
			out := stdout.String() + stderr.String()
			if !strings.Contains(out, tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out)
			}
			for name, secret := range fakeSecrets {
				if strings.Contains(out, secret) {
					t.Errorf("%s appears in the output (exit %d):\n%s", name, code, out)
				}
			}
			if testing.Verbose() {
				t.Logf("output:\n%s", out)
			}
			t.Logf("exit %d, %d bytes of output checked for %d secrets: 0 found", code, len(out), len(fakeSecrets))
		})
	}
	mu.Lock()
	defer mu.Unlock()
	used := 0
	for _, a := range seenAuth {
		for _, secret := range fakeSecrets {
			if a != "" && strings.Contains(a, secret) {
				used++
			}
		}
	}
	if used == 0 {
		t.Errorf("the fake APIs never saw a credential (%d requests): the test did not exercise the platforms", len(seenAuth))
	}
}

// TestConfigErrorsNeverPrintSecrets writes secrets where they should not
// be — literally in config.yaml next to a mistake, in a REDIS_URL that does
// not parse — and runs the real CLI: the error names the file, line and
// problem, and no secret appears in anything printed.
func TestConfigErrorsNeverPrintSecrets(t *testing.T) {
	const (
		token    = "MTA-literal-discord-SECRET9"
		signing  = "literal-signing-SECRET8"
		password = `pa"ss-SECRET7`
	)
	cases := []struct {
		name, config, redisURL, want string
	}{
		{"unknown key after a literal token", "discord:\n  token: " + token + "\n  tokn: x\n", "", `config.yaml: [3:3] unknown field "tokn"`},
		{"unknown key before a literal token", "discord:\n  tokn: x\n  token: " + token + "\n", "", `unknown field "tokn"`},
		{"syntax error after literal secrets", "slack:\n  bot_token: xoxb-" + token + "\n  signing_secret: " + signing + "\n  app_token: [unclosed\n", "", "[4:"},
		{"bad value on a secret's line", "slack:\n  signing_secret: [" + signing + "\n", "", "[2:19] signing_secret: sequence end token ']' not found (line 2 holds a secret written out: put it in the environment and write signing_secret: ${NAME})"},
		{"wrong type for a secret", "discord:\n  token: [" + token + ", " + signing + "]\n", "", "[2:"},
		{"secret in a quoted key", "slack:\n  \"" + signing + "\": 1\n", "", "unknown field"},
		{"REDIS_URL password with a quote", "store:\n  kind: redis\n", "redis://:" + password + "@127.0.0.1:1/0", "REDIS_URL"},
		{"REDIS_URL with a bad port", "store:\n  kind: redis\n", "redis://user:" + password + "@127.0.0.1:port/0", "REDIS_URL"},
		{"store.redis.url password with a quote", "store:\n  kind: redis\n  redis:\n    url: 'redis://u:" + password + "@h:1/0'\n", "", "store.redis.url"},
		{"REDIS_URL of another scheme", "store:\n  kind: redis\n", "http://u:" + password + "@h/", "redis://"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("REDIS_URL", tc.redisURL)
			cfg := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(cfg, []byte(tc.config), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"serve", "--http", "off"}, {"chat"}, {"flows", "check"}} {
				code, stdout, stderr := runCLI(t, "", append(args, "--config", cfg)...)
				out := stdout + stderr
				if code == 0 || !strings.Contains(out, tc.want) {
					t.Errorf("%v: exit %d, want an error containing %q:\n%s", args, code, tc.want, out)
				}
				for _, secret := range []string{token, signing, password, "SECRET"} {
					if strings.Contains(out, secret) {
						t.Errorf("%v prints the secret %q:\n%s", args, secret, out)
					}
				}
				t.Logf("%v: exit %d: %s", args, code, strings.TrimSpace(out))
			}
		})
	}
}
