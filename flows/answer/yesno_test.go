package answer

import (
	"testing"
)

func TestYesNo(t *testing.T) {
	type want int
	const (
		no    want = iota // ok, no
		yes               // ok, yes
		unset             // ok == false
	)
	tests := []struct {
		in   string
		want want
	}{
		// The forms from the contract.
		{"y", yes}, {"yes", yes}, {"yep", yes}, {"yeah", yes}, {"yup", yes}, {"sure", yes},
		{"ok", yes}, {"correct", yes}, {"it's on", yes}, {"it is on", yes}, {"on", yes},
		{"enabled", yes}, {"yes it did", yes}, {"that worked", yes}, {"fixed", yes},
		{"👍", yes}, {"✅", yes},
		{"n", no}, {"no", no}, {"nope", no}, {"nah", no}, {"it's off", no}, {"off", no},
		{"disabled", no}, {"no it didn't", no}, {"didn't work", no}, {"still failing", no},
		{"not fixed", no}, {"👎", no}, {"❌", no},
		// Decoration.
		{"Yes!!!", yes}, {"YES.", yes}, {"  yes  ", yes}, {"yes 😀", yes}, {"👍🏽", yes},
		{"👍🏿👍🏿", yes}, {"✔️", yes}, {"no.", no}, {"Nope!", no}, {"❌❌", no},
		{"It’s on", yes}, {"it‘s off", no}, {"ye\u200bs", yes}, {"\u202eno", no},
		{"yesss", yes}, {"noooo", no}, {"okkk", yes}, {"yeahhh", yes},
		// Negation.
		{"it's not on", no}, {"isn't working", no}, {"doesn't seem to work", no},
		{"not really", no}, {"not yet", no}, {"no longer failing", yes},
		{"it doesn't fail anymore", yes}, {"never worked", no}, {"nothing changed", no},
		{"I don't think so", no}, {"absolutely not", no}, {"not ok", no}, {"it didn't", no},
		{"didn't help", no}, {"not correct", no},
		// Context words.
		{"yes, it backed up", yes}, {"ok it's off", no}, {"ok but it still fails", no},
		{"sure, it's on now", yes}, {"turned it on", yes}, {"it's on 👍", yes},
		{"yes, what next?", yes}, {"did it work? yes", yes}, {"i did", yes}, {"i think so", yes},
		{"no problem", yes}, {"of course", yes}, {"all good", yes},
		// Not answers.
		{"", unset}, {"   ", unset}, {"?", unset}, {"yes and no", unset}, {"on/off", unset},
		{"yes?", unset}, {"is it on?", unset}, {"maybe", unset}, {"kind of", unset},
		{"probably yes", unset}, {"yes but it still fails", unset},
		{"not sure", unset}, {"no idea", unset}, {"I don't know", unset}, {"idk", unset},
		{"no clue", unset}, {"i'm not sure it's on", unset}, {"dunno", unset}, {"🤷", unset},
		{"I'm on iOS 17", unset}, {"turn off wifi", unset}, {"hello", unset},
		{"I can't see WhatsApp", unset}, {"help", unset}, {"what's that", unset},
		{"yes it didn't", unset}, {"no it worked", unset}, {"😀", unset}, {"no errors", unset},
	}
	for _, tc := range tests {
		y, ok := YesNo(tc.in)
		var got want
		switch {
		case !ok:
			got = unset
		case y:
			got = yes
		default:
			got = no
		}
		if got != tc.want || (!ok && y) {
			t.Errorf("YesNo(%q) = %v, %v; want %v", tc.in, y, ok, [...]string{"no", "yes", "not an answer"}[tc.want])
		}
	}
}

func TestUnsure(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"not sure", true}, {"don't know", true}, {"dont know", true}, {"idk", true},
		{"no idea", true}, {"?", true}, {"unsure", true}, {"where do i find it", true},
		{"how do i check", true}, {"i can't find it", true}, {"what's that", true},
		{"I'm not sure", true}, {"Not really sure tbh", true}, {"I do not know", true},
		{"I don't really know", true}, {"no clue", true}, {"not a clue", true},
		{"I have no idea 🤷", true}, {"??", true}, {" ?! ", true}, {"IDK", true},
		{"dunno", true}, {"what?", true}, {"huh", true}, {"Where is that?", true},
		{"how do I check that?", true}, {"What does that mean?", true}, {"🤷‍♀️", true},
		{"i’m not 100% sure", true}, {"not certain", true},
		{"", false}, {"yes", false}, {"no", false}, {"sure", false}, {"I'm sure", false},
		{"i know", false}, {"no, I know", false}, {"it's on", false}, {"3.2 GB", false},
		{"17.4", false}, {"help", false}, {"where am i", false}, {"I didn't know that worked", false},
		{"nope", false}, {"found it, it's off", false},
	}
	for _, tc := range tests {
		if got := Unsure(tc.in); got != tc.want {
			t.Errorf("Unsure(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
