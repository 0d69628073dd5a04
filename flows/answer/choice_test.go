package answer

import (
	"testing"
)

func TestMatchChoice(t *testing.T) {
	plain := []Option{
		{ID: "a", Label: "Turn on iCloud Drive"},
		{ID: "b", Label: "Free up space"},
		{ID: "c", Label: "Sign out and back in"},
	}
	tests := []struct {
		in   string
		opts []Option
		want string // "" for no match
	}{
		// By number.
		{"1", guideOptions, "on"}, {"2", guideOptions, "off"}, {"#2", guideOptions, "off"},
		{"2.", guideOptions, "off"}, {"option 2", guideOptions, "off"}, {"(3)", guideOptions, "missing"},
		{"3️⃣", guideOptions, "missing"}, {"the second one", guideOptions, "off"},
		{"option two", guideOptions, "off"}, {"3rd", guideOptions, "missing"},
		{"4", guideOptions, ""}, {"0", guideOptions, ""}, {"2.5", guideOptions, ""},
		{"one", guideOptions, ""},
		// By ID, label, alias.
		{"missing", guideOptions, "missing"}, {"It's on", guideOptions, "on"}, {"its on", guideOptions, "on"},
		{"IT’S OFF!", guideOptions, "off"}, {"grey", guideOptions, "off"}, {"not allowed", guideOptions, "off"},
		{"Free up space.", plain, "b"}, {"sign out and back in", plain, "c"}, {"B", plain, "b"},
		// By yes/no meaning.
		{"yes", guideOptions, "on"}, {"nope", guideOptions, "off"}, {"👍", guideOptions, "on"},
		{"it is on", guideOptions, "on"}, {"no it's not allowed", guideOptions, "off"},
		// By contained phrase.
		{"it's green", guideOptions, "on"}, {"yes it's green", guideOptions, "on"},
		{"I can't see WhatsApp at all", guideOptions, "missing"},
		{"No, WhatsApp isn't in the list", guideOptions, "missing"},
		{"it says not allowed", guideOptions, "off"}, // the longer phrase wins
		{"let's free up space then", plain, "b"},
		// Not a match.
		{"", guideOptions, ""}, {"hmm", guideOptions, ""}, {"not sure", guideOptions, ""},
		{"no, it's green", guideOptions, ""}, // the yes/no reading and the phrase disagree
		{"green or grey", guideOptions, ""},
		{"yes", plain, ""}, {"space", plain, ""}, {"free up space or sign out and back in", plain, ""},
		{"1", nil, ""},
	}
	for _, tc := range tests {
		got, ok := MatchChoice(tc.in, tc.opts)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("MatchChoice(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}

func TestMatchChoiceDuplicates(t *testing.T) {
	same := []Option{{ID: "x", Label: "Retry"}, {ID: "y", Label: "retry!"}}
	if id, ok := MatchChoice("retry", same); ok {
		t.Errorf("two options with the same label: got %q, want no match", id)
	}
	yes2 := []Option{{ID: "x", Label: "A", Means: "yes"}, {ID: "y", Label: "B", Means: "YES"}}
	if id, ok := MatchChoice("yes", yes2); ok {
		t.Errorf("two options meaning yes: got %q, want no match", id)
	}
	sameID := []Option{{ID: "x", Label: "Retry"}, {ID: "x", Label: "again"}}
	if id, ok := MatchChoice("retry", sameID); !ok || id != "x" {
		t.Errorf("options sharing an ID: got %q, %v; want x", id, ok)
	}
	short := []Option{{ID: "x", Label: "A"}, {ID: "y", Label: "B"}}
	if id, ok := MatchChoice("plan b please", short); !ok || id != "y" {
		t.Errorf("one-letter label inside a message: got %q, %v; want y", id, ok)
	}
	empty := []Option{{ID: "", Label: ""}, {ID: "z", Label: "Zed"}}
	if id, ok := MatchChoice("anything", empty); ok {
		t.Errorf("empty label matched: %q", id)
	}
}
