package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"troubleshooter/bench"
	"troubleshooter/bot"
	"troubleshooter/flows"
	"troubleshooter/flowscli"
)

var update = flag.Bool("update", false, "rewrite golden transcripts with what happens now")

// TestTranscripts replays every golden conversation in testdata/transcripts
// through the console adapter and the real engine and guide.
func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/transcripts/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no transcripts found")
	}
	// As shipped: no default guide, so a greeting gets the menu (menu.txt);
	// the other transcripts name their guide with "#! guide".
	runner, err := loadGuides(defaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got, err := flowscli.Replay(context.Background(), runner, defaultConfig().Conversation, file, want)
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if !bytes.Equal(got, want) {
				t.Errorf("transcript differs (go test -run TestTranscripts -update to accept):\n%s", flowscli.FirstDifference(want, got))
			}
		})
	}
}

// builtinGuides loads the built-in guides with the default config, as the
// bench and a config-less bot do.
func builtinGuides(t testing.TB) *flows.Runner {
	t.Helper()
	// The WhatsApp guide is the default, so that "hi" starts it as these
	// tests expect; without one, a greeting gets the menu of guides.
	cfg := defaultConfig()
	cfg.Guides.Default = "whatsapp-icloud"
	runner, err := loadGuides(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return runner
}

// runCLI runs the command line in-process and returns exit code and output.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// startPiped starts cmd, its stderr going to the test's, and returns pipes
// to its stdin and from its stdout.
func startPiped(t *testing.T, cmd *exec.Cmd) (io.WriteCloser, io.Reader) {
	t.Helper()
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return in, out
}

// tempConfig writes a config whose store lives in a temp dir.
func tempConfig(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "config.yaml")
	body := "store:\n  kind: bolt\n  path: " + filepath.Join(dir, "store.db") + "\n" + extra
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

type jsonOut struct {
	Replies []struct {
		Text    string `json:"text"`
		Choices []struct {
			ID    string `json:"id"`
			Label string `json:"label"`
		} `json:"choices"`
		Input string `json:"input"`
	} `json:"replies"`
	Step    string `json:"step"`
	Done    bool   `json:"done"`
	Outcome string `json:"outcome"`
}

// decodeLines checks the JSON contract: one strict JSON object per line,
// with exactly the documented fields, and returns them.
func decodeLines(t *testing.T, stdout string) []jsonOut {
	t.Helper()
	var outs []jsonOut
	for _, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			t.Fatalf("stdout line is not JSON: %q", line)
		}
		for _, k := range []string{"replies", "step", "done", "outcome"} {
			if _, ok := raw[k]; !ok {
				t.Fatalf("line lacks %q: %s", k, line)
			}
		}
		var o jsonOut
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			t.Fatalf("line has fields outside the contract: %v: %s", err, line)
		}
		for _, r := range o.Replies {
			if r.Choices == nil {
				t.Fatalf("reply without a choices array: %s", line)
			}
		}
		outs = append(outs, o)
	}
	return outs
}

func TestChatJSONContract(t *testing.T) {
	cfg := tempConfig(t, "")
	input := strings.Join([]string{
		"my whatsapp backup to icloud keeps failing",
		`{"choice": "on"}`,
		`{"choice": "fails"}`,
		`{"text": "3 GB"}`,
		"about 5gb",
		"",
		"status",
		"stop",
	}, "\n") + "\n"
	code, stdout, stderr := runCLI(t, input, "chat", "--json", "--user", "x", "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	outs := decodeLines(t, stdout)
	if len(outs) != 8 {
		t.Fatalf("%d output lines for 8 input lines:\n%s", len(outs), stdout)
	}
	steps := []string{"icloud_access", "symptom", "backup_size", "free_space", "fix_storage", "fix_storage", "fix_storage", ""}
	for i, want := range steps[:7] {
		if outs[i].Step != want || outs[i].Done {
			t.Errorf("line %d: step %q done %v, want step %q", i+1, outs[i].Step, outs[i].Done, want)
		}
	}
	if got := outs[2].Replies[len(outs[2].Replies)-1].Input; got != "size" {
		t.Errorf("the size question says input %q, want size", got)
	}
	last := outs[7]
	if !last.Done || last.Outcome != "stopped" {
		t.Errorf("after stop: done %v outcome %q, want done stopped", last.Done, last.Outcome)
	}
	if strings.Contains(stdout, "level=") {
		t.Error("logs leaked to stdout")
	}
}

func TestChatJSONBadLines(t *testing.T) {
	cfg := tempConfig(t, "")
	input := "{not json\n{\"text\": \"a\", \"choice\": \"b\"}\n{\"other\": 1}\n{\"choice\": \"\"}\n"
	code, stdout, stderr := runCLI(t, input, "chat", "--json", "--user", "y", "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d output lines for 4 bad input lines:\n%s", len(lines), stdout)
	}
	for _, l := range lines {
		var v struct {
			Error   string `json:"error"`
			Replies []struct{ Text string }
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil || v.Error == "" || len(v.Replies) != 1 || !strings.Contains(v.Replies[0].Text, "couldn't read that line") {
			t.Errorf("bad line answered with %s", l)
		}
	}
}

// TestResumeAfterKill answers two questions in a real process, kills it with
// SIGKILL, starts it again with the same --user, and expects the same
// question back.
func TestResumeAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "troubleshooter")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	store := filepath.Join(dir, "store.db")
	start := func() (*exec.Cmd, io.WriteCloser, *bufio.Reader) {
		cmd := exec.Command(bin, "chat", "--json", "--user", "resume-me", "--config", filepath.Join(dir, "none.yaml"))
		cmd.Env = append(os.Environ(), "TROUBLESHOOTER_STORE="+store)
		if err := os.WriteFile(filepath.Join(dir, "none.yaml"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		in, out := startPiped(t, cmd)
		return cmd, in, bufio.NewReader(out)
	}
	say := func(in io.Writer, out *bufio.Reader, line string) jsonOut {
		t.Helper()
		if _, err := io.WriteString(in, line+"\n"); err != nil {
			t.Fatal(err)
		}
		got, err := out.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the reply to %q: %v", line, err)
		}
		return decodeLines(t, got)[0]
	}

	cmd, in, out := start()
	say(in, out, "hello, my backup fails")
	say(in, out, "it's on")
	say(in, out, "it fails")
	before := say(in, out, "2.5 GB")
	if before.Step != "free_space" {
		t.Fatalf("after two answers the step is %q, want free_space", before.Step)
	}
	question := before.Replies[len(before.Replies)-1].Text
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // killed: the error is expected

	cmd, in, out = start()
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	after := say(in, out, "status")
	if after.Step != "free_space" {
		t.Fatalf("after the restart the step is %q, want free_space", after.Step)
	}
	if got := after.Replies[len(after.Replies)-1].Text; got != question {
		t.Errorf("after the restart the question is %q, want %q", got, question)
	}
	if !strings.Contains(after.Replies[0].Text, "2.5 GB") {
		t.Errorf("status after the restart forgot the answer: %q", after.Replies[0].Text)
	}
}

func TestFlowsCheckShippedGuide(t *testing.T) {
	code, stdout, stderr := runCLI(t, "", "flows", "check")
	if code != 0 || !strings.Contains(stdout, "ok  whatsapp-icloud") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestFlowsCheckBrokenGuides(t *testing.T) {
	cases := map[string]string{
		"unknown-target.yaml": `unknown-target.yaml:13: step "first": choice "no": unknown target step "nowhere"`,
		"unreachable.yaml":    `unreachable.yaml:10: step "orphan": step is unreachable from the start step "first"`,
		"never-ends.yaml":     `never-ends.yaml:16: step "spin": no path from this step ever reaches an end step`,
		"unknown-value.yaml":  `unknown-value.yaml:13: step "compare": if: unknown name free_space`,
		"duplicate-id.yaml":   `duplicate-id.yaml:10: step "first": duplicate step id (first defined on line 6)`,
		"unknown-key.yaml":    `unknown-key.yaml:9: unknown field "nxt"`,
	}
	for file, want := range cases {
		t.Run(file, func(t *testing.T) {
			code, _, stderr := runCLI(t, "", "flows", "check", filepath.Join("testdata", "guides", file))
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if !strings.Contains(stderr, want) {
				t.Errorf("errors do not include\n  %s\ngot:\n%s", want, stderr)
			}
		})
	}
}

func TestFlowsGraphHasEveryStep(t *testing.T) {
	code, stdout, stderr := runCLI(t, "", "flows", "graph", "whatsapp-icloud", "--format", "mermaid")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.HasPrefix(stdout, "stateDiagram-v2") {
		t.Errorf("not a mermaid state diagram:\n%s", stdout)
	}
	guides := builtinGuides(t)
	for _, st := range guides.Guide("whatsapp-icloud").Guide.Steps {
		if !regexp.MustCompile(`\b` + st.ID + `\b`).MatchString(stdout) {
			t.Errorf("step %s missing from the diagram", st.ID)
		}
	}
	code, stdout, _ = runCLI(t, "", "flows", "graph", "whatsapp-icloud", "--format", "dot")
	if code != 0 || !strings.Contains(stdout, "digraph fsm") {
		t.Errorf("dot output: exit %d\n%s", code, stdout)
	}
	if code, _, stderr := runCLI(t, "", "flows", "graph", "nope"); code != 1 || !strings.Contains(stderr, `no guide "nope"`) {
		t.Errorf("unknown guide: exit %d, %s", code, stderr)
	}
}

func TestFlowsPathsCommand(t *testing.T) {
	code, stdout, stderr := runCLI(t, "", "flows", "paths", "whatsapp-icloud")
	want, err := os.ReadFile("flows/whatsapp-icloud.paths.md")
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 || stdout != string(want) {
		t.Errorf("flows paths: exit %d, output differs from flows/whatsapp-icloud.paths.md (%d vs %d bytes)\n%s", code, len(stdout), len(want), stderr)
	}
	if code, _, stderr := runCLI(t, "", "flows", "paths", "nope"); code != 1 || !strings.Contains(stderr, `no guide "nope"`) {
		t.Errorf("unknown guide: exit %d, %s", code, stderr)
	}
}

func TestFlowsTestCommand(t *testing.T) {
	files, _ := filepath.Glob("testdata/transcripts/*.txt")
	code, stdout, stderr := runCLI(t, "", append([]string{"flows", "test"}, files...)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	// A transcript whose expectation is wrong must fail.
	bad := filepath.Join(t.TempDir(), "bad.txt")
	if err := os.WriteFile(bad, []byte("> hello\nthis is not what the bot says\n= step icloud_access\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = runCLI(t, "", "flows", "test", bad)
	if code != 1 || !strings.Contains(stdout, "FAIL") {
		t.Errorf("a wrong transcript passed: exit %d\n%s", code, stdout)
	}
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("unknown key names the line", func(t *testing.T) {
		_, err := loadConfig(write("store:\n  kind: bolt\n  pth: x\n"), true)
		if err == nil || !strings.Contains(err.Error(), "[3:3]") || !strings.Contains(err.Error(), "pth") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("env expansion", func(t *testing.T) {
		t.Setenv("TS_TEST_DIR", "/tmp/x")
		cfg, err := loadConfig(write("store:\n  path: ${TS_TEST_DIR}/s.db\n"), true)
		if err != nil || cfg.Store.Path != "/tmp/x/s.db" {
			t.Errorf("path %q, err %v", cfg.Store.Path, err)
		}
	})
	t.Run("defaults for optional variables", func(t *testing.T) {
		t.Setenv("TS_EMPTY_VAR", "")
		cfg, err := loadConfig(write("store:\n  path: ${TS_SURELY_UNSET_VAR:-/d/x.db}\nlog:\n  level: ${TS_EMPTY_VAR:-warn}\n"), true)
		if err != nil || cfg.Store.Path != "/d/x.db" || cfg.Log.Level != "warn" {
			t.Errorf("path %q level %q err %v", cfg.Store.Path, cfg.Log.Level, err)
		}
	})
	t.Run("unset variable is an error", func(t *testing.T) {
		_, err := loadConfig(write("store:\n  path: ${TS_SURELY_UNSET_VAR}\n"), true)
		if err == nil || !strings.Contains(err.Error(), "store.path refers to unset environment variable TS_SURELY_UNSET_VAR") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("TROUBLESHOOTER_STORE overrides", func(t *testing.T) {
		t.Setenv(envStorePath, "/tmp/override.db")
		cfg, err := loadConfig(write("store:\n  path: a.db\n"), true)
		if err != nil || cfg.Store.Path != "/tmp/override.db" {
			t.Errorf("path %q, err %v", cfg.Store.Path, err)
		}
	})
	t.Run("missing explicit file", func(t *testing.T) {
		if _, err := loadConfig(filepath.Join(dir, "nope.yaml"), true); err == nil {
			t.Error("a missing --config file was accepted")
		}
		if _, err := loadConfig(filepath.Join(dir, "nope.yaml"), false); err != nil {
			t.Errorf("a missing default config failed: %v", err)
		}
	})
	t.Run("bad values", func(t *testing.T) {
		_, err := loadConfig(write("store:\n  kind: mongo\nlog:\n  level: loud\n"), true)
		if err == nil || !strings.Contains(err.Error(), `store.kind "mongo" is not one of bolt, redis, memory`) || !strings.Contains(err.Error(), `log.level "loud"`) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("timer settings", func(t *testing.T) {
		for _, tc := range []struct{ body, wantErr string }{
			{"conversation:\n  idle_timeout: 20m\n", ""}, // the default reminder simply turns off
			{"conversation:\n  idle_timeout: 1h\n  nudge_after: 2h\n", "nudge_after (2h0m0s) must be shorter than idle_timeout"},
			{"conversation:\n  nudge_after: -1s\n", ""},
			{"conversation:\n  sweep_every: -5s\n", "must be positive"},
			{"store:\n  kind: redis\n  redis:\n    url: redis://127.0.0.1:1/0\nconversation:\n  idle_timeout: 72h\n", "session_ttl (48h0m0s) must be longer than conversation.idle_timeout"},
		} {
			_, err := loadConfig(write(tc.body), true)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("%q: err = %v, want %q", tc.body, err, tc.wantErr)
			}
		}
	})
	t.Run("guide value typo", func(t *testing.T) {
		cfg, err := loadConfig(write("guides:\n  values:\n    whatsapp-icloud:\n      current_iso: \"18\"\n"), true)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := loadGuides(cfg); err == nil || !strings.Contains(err.Error(), `declares no value "current_iso"`) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("the shipped config.yaml loads", func(t *testing.T) {
		cfg, err := loadConfig("config.yaml", true)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := loadGuides(cfg); err != nil {
			t.Fatal(err)
		}
		if cfg.Conversation.IdleTimeout != 24*time.Hour {
			t.Errorf("idle timeout %v", cfg.Conversation.IdleTimeout)
		}
	})
}

func TestCommandLineErrors(t *testing.T) {
	if code, _, stderr := runCLI(t, "", "frobnicate"); code != exitUsage || !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d %s", code, stderr)
	}
	if code, stdout, _ := runCLI(t, "", "--help"); code != 0 || !strings.Contains(stdout, "flows check") {
		t.Errorf("--help: exit %d %s", code, stdout)
	}
	if code, _, stderr := runCLI(t, "", "chat", "--bogus"); code != exitUsage || !strings.Contains(stderr, "bogus") {
		t.Errorf("bad flag: exit %d %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "", "serve", "--http", "off", "--config", tempConfig(t, "")); code != 1 || !strings.Contains(stderr, "nothing to run") {
		t.Errorf("serve with nothing to run: exit %d %s", code, stderr)
	}
	if code, stdout, _ := runCLI(t, "", "version"); code != 0 || !strings.Contains(stdout, "guide whatsapp-icloud version") {
		t.Errorf("version: exit %d %s", code, stdout)
	}
}

// TestReadmeDiagramIsCurrent keeps the README's diagram in step with the
// shipped guide.
func TestReadmeDiagramIsCurrent(t *testing.T) {
	code, graph, stderr := runCLI(t, "", "flows", "graph", "whatsapp-icloud", "--format", "mermaid")
	if code != 0 {
		t.Fatal(stderr)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```mermaid\n"+graph+"```") {
		t.Error("README.md's mermaid diagram differs from `go run . flows graph whatsapp-icloud --format mermaid`; paste the new one")
	}
}

func TestBareCommandServesOnlyWhenAPlatformIsConfigured(t *testing.T) {
	for _, v := range []string{"DISCORD_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"} {
		t.Setenv(v, "")
	}
	if got := defaultCommand(nil); got != "chat" {
		t.Errorf("with the shipped config and no tokens: %s, want chat", got)
	}
	cfg := tempConfig(t, "slack:\n  bot_token: xoxb-test\n  app_token: xapp-test\n")
	if got := defaultCommand([]string{"--config", cfg}); got != "serve" {
		t.Errorf("with a Slack token: %s, want serve", got)
	}
}

func TestBenchSmoke(t *testing.T) {
	code, stdout, stderr := runCLI(t, "", "bench", "--duration", "300ms", "--conversations", "4", "--store", "bolt")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res bench.Result
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line is not the JSON result: %v\n%s", err, stdout)
	}
	if res.Messages == 0 || res.MsgsPerS <= 0 || res.P50us <= 0 || res.P99us < res.P50us || res.Store != "bolt" {
		t.Errorf("implausible result %+v", res)
	}
	code, stdout, stderr = runCLI(t, "", "bench", "--path", "slack-http", "--duration", "300ms", "--conversations", "2")
	if code != 0 {
		t.Fatalf("slack-http: exit %d: %s", code, stderr)
	}
	lines = strings.Split(strings.TrimSpace(stdout), "\n")
	res = bench.Result{}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil || res.Path != "slack-http" || res.Messages == 0 {
		t.Errorf("slack-http result %+v, %v", res, err)
	}
	if code, _, stderr := runCLI(t, "", "bench", "--store", "mongo"); code != 1 || !strings.Contains(stderr, "not one of memory, bolt") {
		t.Errorf("bad store: exit %d %s", code, stderr)
	}
}

// BenchmarkEngineStepMemory measures one message through the real engine,
// guide, parsers and the in-memory store: ns/op is the cost of a message.
func BenchmarkEngineStepMemory(b *testing.B) {
	runner := builtinGuides(b)
	e := bot.NewEngine(bot.NewMemoryStore(), runner, defaultConfig().Conversation, nil)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		// Each goroutine talks in its own conversations, 64 at a time.
		var addrs [64]bot.Address
		for i := range addrs {
			addrs[i] = bot.Address{Platform: "bench", User: fmt.Sprintf("%p-%d", &addrs, i)}
		}
		n := 0
		for pb.Next() {
			a := addrs[n%len(addrs)]
			text := bench.Script[(n/len(addrs))%len(bench.Script)]
			if _, err := e.Handle(ctx, bot.Message{Address: a, Text: text}); err != nil {
				b.Fatal(err)
			}
			n++
		}
	})
}

func FuzzDecodeConfig(f *testing.F) {
	shipped, err := os.ReadFile("config.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(shipped)
	f.Add([]byte("store:\n  - choices:\n      ! 0\n00008:"))
	f.Add([]byte("conversation:\n  idle_timeout: 1x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := defaultConfig()
		if err := decodeConfig(data, &cfg); err != nil && err.Error() == "" {
			t.Fatal("an error without a message")
		}
	})
}

func TestSimulateCommand(t *testing.T) {
	code, stdout, stderr := runCLI(t, "", "simulate", "--users", "60", "--seed", "3")
	if code != 0 || !strings.Contains(stdout, "Reached the right fix") || !strings.Contains(stdout, "Minutes") {
		t.Errorf("simulate: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := runCLI(t, "", "simulate", "--users", "0"); code != exitUsage || !strings.Contains(stderr, "--users") {
		t.Errorf("simulate --users 0: exit %d, %s", code, stderr)
	}
}
