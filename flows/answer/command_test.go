package answer

import (
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		in   string
		want Command // "" for not a command
	}{
		{"help", Help}, {"HELP", Help}, {"/help", Help}, {"!help", Help}, {"help!", Help},
		{"menu", Help}, {"Help me", Help}, {"help please", Help}, {"please help", Help},
		{"back", Back}, {"go back", Back}, {"Go back.", Back}, {"undo", Back}, {"/back", Back},
		{"restart", Restart}, {"start over", Restart}, {"Start over!", Restart}, {"reset", Restart},
		{"/restart please", Restart},
		{"skip", Skip}, {"skip this", Skip}, {"Skip this step", Skip}, {"!skip", Skip},
		{"stop", Stop}, {"cancel", Stop}, {"quit", Stop}, {"exit", Stop}, {"stop it", Stop},
		{"STOP.", Stop}, {"\u202estop", Stop}, {"s\u200btop", Stop},
		{"status", Status}, {"where am i", Status}, {"Where am I?", Status}, {"summary", Status},
		// Not commands.
		{"?", ""}, {"??", ""}, {"", ""}, {"/", ""}, {"next", ""}, {"next?", ""},
		{"help me my backup fails", ""}, {"please", ""}, {"it stops at 50%", ""},
		{"stop 🛑", ""}, {"backup", ""}, {"go", ""}, {"yes", ""}, {"skip the videos", ""},
		{"don't stop", ""}, {"helpful", ""},
		{"help " + strings.Repeat("[", MaxLen) + " my backup fails", ""}, // cut after "help"
		{"help" + strings.Repeat("!", 100), ""},
	}
	for _, tc := range tests {
		got, ok := ParseCommand(tc.in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("ParseCommand(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}
