package flows

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"troubleshooter/bot"
)

func builtinRunner(t testing.TB) *Runner {
	t.Helper()
	set, err := LoadSet(nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	// The WhatsApp guide is the default, so that "hi" starts it as most
	// tests expect; without a default, several guides get the menu.
	r, err := NewRunner(set.Guides, "whatsapp-icloud")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// chat sends texts one by one to a new session and returns it with the
// replies of the last turn.
func chat(t *testing.T, r *Runner, texts ...string) (*bot.Session, bot.Turn) {
	t.Helper()
	s := &bot.Session{Key: "k"}
	var turn bot.Turn
	for _, text := range texts {
		var err error
		turn, err = r.Respond(s, bot.Message{Text: text, Time: time.Unix(1700000000, 0)})
		if err != nil {
			t.Fatalf("after %q: %v", text, err)
		}
	}
	return s, turn
}

func allText(turn bot.Turn) string {
	var b strings.Builder
	for _, r := range turn.Replies {
		b.WriteString(r.Text + "\n")
	}
	return b.String()
}

func compileVariant(t *testing.T, version, oldText, newText string) *Compiled {
	t.Helper()
	data, err := os.ReadFile("whatsapp-icloud.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := regexp.MustCompile(`(?m)^version: "[^"]*"`).ReplaceAllString(string(data), `version: "`+version+`"`)
	if !strings.Contains(src, oldText) {
		t.Fatalf("guide lacks %q", oldText)
	}
	src = strings.Replace(src, oldText, newText, 1)
	g, err := Parse("v"+version+".yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Compile(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
