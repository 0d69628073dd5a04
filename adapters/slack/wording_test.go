package slack

import (
	"strings"
	"testing"
)

// Issue 16 items 9 and 15: on Slack, where buttons have no numbers, the
// bot never says "type its number"; it says to tap a button.
func TestHintsSpeakOfButtons(t *testing.T) {
	e := newEnv(t, ModeSocket, nil, nil)
	_, q, from := e.start("U1", "C1", "my whatsapp backup fails")
	reask, from := e.answer(q, "purple", "U1", from)
	help, _ := e.answer(reask, "help", "U1", from)
	for name, c := range map[string]apiCall{"re-ask": reask, "help": help} {
		text := c.Form.Get("text") + " " + c.Form.Get("blocks")
		if strings.Contains(text, "number") || !strings.Contains(text, "button") {
			t.Errorf("%s speaks of numbers, or not of buttons: %s", name, text)
		}
	}
}
