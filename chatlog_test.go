package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInteractiveChatLogsToAFile: in an interactive chat no log line
// lands between the bot's questions; the logs go to chat.log in the data
// folder, said once at the start. --log-level brings them back to stderr,
// and piped (scripting) chats keep logging to stderr.
func TestInteractiveChatLogsToAFile(t *testing.T) {
	chat := func(t *testing.T, interactive bool, args ...string) (cfgDir, stdout, stderr string, code int) {
		t.Helper()
		old := terminal
		terminal = func(any) bool { return interactive }
		t.Cleanup(func() { terminal = old })
		cfg := tempConfig(t, "")
		var out, errOut bytes.Buffer
		in := strings.NewReader("my whatsapp backup to icloud keeps failing\nstop\n")
		code = run(t.Context(), append([]string{"chat", "--config", cfg, "--user", "tester"}, args...), in, &out, &errOut)
		return filepath.Dir(cfg), out.String(), errOut.String(), code
	}

	t.Run("interactive", func(t *testing.T) {
		dir, out, errOut, code := chat(t, true)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		logFile := filepath.Join(dir, chatLogName) // the store's folder
		if strings.Contains(out+errOut, "level=") || strings.Contains(out+errOut, "conversation ended") {
			t.Errorf("log lines in the conversation:\n%s\n--- stderr:\n%s", out, errOut)
		}
		if n := strings.Count(errOut, "(logs go to "+logFile+")"); n != 1 {
			t.Errorf("stderr says where the logs go %d times, want once:\n%s", n, errOut)
		}
		logs, err := os.ReadFile(logFile)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(logs), `msg="conversation ended"`) {
			t.Errorf("%s lacks the log line:\n%s", logFile, logs)
		}
	})
	t.Run("--log-level", func(t *testing.T) {
		dir, _, errOut, code := chat(t, true, "--log-level", "info")
		if code != 0 || !strings.Contains(errOut, `msg="conversation ended"`) || strings.Contains(errOut, "logs go to") {
			t.Errorf("exit %d; want the logs on stderr:\n%s", code, errOut)
		}
		if _, err := os.Stat(filepath.Join(dir, chatLogName)); !os.IsNotExist(err) {
			t.Errorf("%s written with --log-level: %v", chatLogName, err)
		}
	})
	t.Run("piped", func(t *testing.T) {
		_, _, errOut, code := chat(t, false)
		if code != 0 || !strings.Contains(errOut, `msg="conversation ended"`) {
			t.Errorf("exit %d; piped chats log to stderr:\n%s", code, errOut)
		}
	})
	t.Run("bad level", func(t *testing.T) {
		_, _, errOut, code := chat(t, true, "--log-level", "loud")
		if code != 1 || !strings.Contains(errOut, `--log-level "loud": want debug, info, warn or error`) {
			t.Errorf("exit %d: %s", code, errOut)
		}
	})
}
