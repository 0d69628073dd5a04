package answer

import (
	"errors"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dustin/go-humanize"
)

func TestNormalize(t *testing.T) {
	long := strings.Repeat("a", MaxLen+10)
	tests := []struct{ in, want string }{
		{"", ""},
		{"yes", "yes"},
		{"  YES  ", "yes"},
		{"Hello\t\n  World", "hello world"},
		{"it’s ON", "it's on"},
		{"‘quoted’ “double”", "'quoted' \"double\""},
		{"ye\u200bs", "yes"},       // zero-width space
		{"\u202eon\u202c", "on"},   // right-to-left override
		{"a\u2066b\u2069c", "abc"}, // bidi isolates
		{"\ufeffhelp", "help"},     // byte-order mark
		{"n\x00o\x07", "no"},       // control characters
		{"a\u00a0\u2003b", "a b"},  // no-break and em spaces
		{"x\xff\xfey", "xy"},       // invalid UTF-8
		{"👍\ufe0f", "👍"},           // variation selector
		{"ÄÖÜ ΣΑΣ", "äöü σασ"},     // non-ASCII case
		{"\u0130", "i̇"[:1]},       // İ lowercases to i in Go
		{"a\u0085b", "a b"},        // NEL is whitespace
		{" \t\r\n ", ""},           // only space
		{"\u200b\u200c\u200d", ""}, // only invisible
		{long, long[:MaxLen]},      // capped
		{strings.Repeat("é", MaxLen), strings.Repeat("é", MaxLen/2)},
		{strings.Repeat("a ", MaxLen), strings.Repeat("a ", MaxLen/2)[:MaxLen-1]}, // no trailing space after cut
	}
	for _, tc := range tests {
		got := Normalize(tc.in)
		if got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if again := Normalize(got); again != got {
			t.Errorf("Normalize not idempotent on %q: %q then %q", tc.in, got, again)
		}
	}
}

func TestNormalizeCutsOnRuneBoundary(t *testing.T) {
	// 511 ASCII bytes then a 4-byte emoji: the emoji must not be split.
	in := strings.Repeat("a", MaxLen-1) + "👍"
	got := Normalize(in)
	if !utf8.ValidString(got) || len(got) != MaxLen-1 {
		t.Fatalf("Normalize cut badly: len %d valid %v", len(got), utf8.ValidString(got))
	}
}

func TestNormalizeReusesFoldedInput(t *testing.T) {
	for _, in := range []string{"yes it worked", "  padded  "} {
		if n := testing.AllocsPerRun(100, func() { _ = Normalize(in) }); n != 0 {
			t.Errorf("Normalize(%q) allocates %v times, want 0", in, n)
		}
	}
}

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

func TestSize(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
	}{
		{"3.2 GB", 3_200_000_000},
		{"3,2 GB", 3_200_000_000},
		{"800mb", 800_000_000},
		{"about 1.5GB", 1_500_000_000},
		{"~2 TB", 2_000_000_000_000},
		{"512 MB", 512_000_000},
		{"1.5 gigs", 1_500_000_000},
		{"2 gigabytes", 2_000_000_000},
		{"700 KB", 700_000},
		{"3 GiB", 3 << 30},
		{"0 GB", 0},
		{"1,024 MB", 1_024_000_000},
		{"1,024.5 MB", 1_024_500_000},
		{"1,000,000 KB", 1_000_000_000},
		{"3,20 GB", 3_200_000_000},
		{"3,2000 GB", 3_200_000_000},
		{"it says 3.2 GB", 3_200_000_000},
		{"about 5gb free", 5_000_000_000},
		{"4.1 GB", 4_100_000_000}, // go-humanize's float path gives 4099999999
		{"8.2 MB", 8_200_000},
		{".5 GB", 500_000_000},
		{"1.5 KiB", 1536},
		{"0.1 B", 0},
		{"0.5 B", 1}, // rounds half up
		{"2 bytes", 2},
		{"700k", 700_000},
		{"1 EB", 1_000_000_000_000_000_000},
		{"3 GB (3,000 MB)", 3_000_000_000}, // the same size twice
		{"My iPhone 13 has 5 GB free", 5_000_000_000},
		{"iOS 17, 5 GB", 5_000_000_000},
		{"3.2 GB.", 3_200_000_000},
		{"３ GB and 2 GB", 2_000_000_000}, // fullwidth digits are not read
		{"≈2 GB", 2_000_000_000},
		{"50% of 4 GB", 4_000_000_000},
		{"5 GB for 2 days", 5_000_000_000},
	}
	for _, tc := range tests {
		got, err := Size(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Size(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestSizeErrors(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"3", ErrNoUnit},
		{"about 3", ErrNoUnit},
		{"3.2", ErrNoUnit},
		{"", ErrNoSize},
		{"lots", ErrNoSize},
		{"GB", ErrNoSize},
		{"NaN GB", ErrNoSize},
		{"Inf GB", ErrNoSize},
		{"-3 GB", ErrNoSize},
		{"−3 GB", ErrNoSize}, // U+2212 minus sign
		{"2 EB", ErrNoSize},
		{"1.5 EiB", ErrNoSize},
		{"99999999999999999999999999 GB", ErrNoSize},
		{"1.2.3 GB", ErrNoSize},
		{"1.5,000 GB", ErrNoSize},
		{"3 GB or 5 GB", ErrAmbiguous},
		{"3gb 5gb", ErrAmbiguous},
		{"3 to 5 GB", ErrAmbiguous},
		{"3-5 GB", ErrAmbiguous},
		{"between 3 and 5 GB", ErrAmbiguous},
		{"5 GB or 3", ErrAmbiguous},
		{"3.2 of 5 GB", ErrAmbiguous},
		{"1 GB / 2 GB", ErrAmbiguous},
		{"3 apps", ErrNoUnit},
		{"2nd", ErrNoSize},
		{"iphone13", ErrNoSize},
		{"1e3 GB", ErrNoSize}, // scientific notation is not read
	}
	for _, tc := range tests {
		got, err := Size(tc.in)
		if !errors.Is(err, tc.want) {
			t.Errorf("Size(%q) = %d, %v; want error %v", tc.in, got, err, tc.want)
		}
		if err != nil && got != 0 {
			t.Errorf("Size(%q) returned %d with an error", tc.in, got)
		}
	}
}

// TestSizeMatchesHumanize checks the units against go-humanize, whose
// integer path is exact.
func TestSizeMatchesHumanize(t *testing.T) {
	for _, unit := range []string{"B", "KB", "MB", "GB", "TB", "PB", "KiB", "MiB", "GiB", "TiB", "PiB"} {
		for _, n := range []string{"0", "1", "7", "512", "999"} {
			in := n + " " + unit
			want, err := humanize.ParseBytes(in)
			if err != nil {
				t.Fatalf("humanize.ParseBytes(%q): %v", in, err)
			}
			if want > humanize.EByte {
				continue // beyond Size's 1 EB limit
			}
			if got, err := Size(in); err != nil || got != want {
				t.Errorf("Size(%q) = %d, %v; humanize says %d", in, got, err, want)
			}
		}
	}
}

func TestFormatSize(t *testing.T) {
	tests := []struct {
		in   uint64
		want string
	}{
		{0, "0 B"},
		{1, "1 B"},
		{999, "999 B"},
		{1000, "1 KB"},
		{1049, "1 KB"},
		{1050, "1.1 KB"},
		{700_000, "700 KB"},
		{800_000_000, "800 MB"},
		{3_200_000_000, "3.2 GB"},
		{3_249_999_999, "3.2 GB"},
		{3_250_000_000, "3.3 GB"},
		{15_500_000_000, "15.5 GB"},
		{999_940_000, "999.9 MB"},
		{999_950_000, "1 GB"}, // rounding carries into the next unit
		{999_999, "1 MB"},     // likewise
		{2_000_000_000_000, "2 TB"},
		{1_000_000_000_000_000_000, "1 EB"},
		{math.MaxUint64, "18.4 EB"},
	}
	for _, tc := range tests {
		if got := FormatSize(tc.in); got != tc.want {
			t.Errorf("FormatSize(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestVersion(t *testing.T) {
	tests := []struct{ in, want string }{
		{"iOS 17.4.1", "17.4.1"},
		{"17.4", "17.4"},
		{"I'm on 16", "16"},
		{"2.24.21.77", "2.24.21.77"},
		{"version 2.24.21.77 (build x)", "2.24.21.77"},
		{"v18.1", "18.1"},
		{"ios17.4", "17.4"},
		{"iOS 17.4 (21E236)", "17.4"},
		{"I have an iPhone 15 Pro on iOS 17.4", "17.4"},
		{"17.4.", "17.4"},
		{"it's 17.4, yes 17.4.0", "17.4"}, // the same version twice
		{"updated 2 days ago to 18.2", "18.2"},
		{"18.2 with 5 GB free", "18.2"},
		{"at 10:30 I saw 17.1", "17.1"},
		{"１７.４ or 17.5", "17.5"}, // fullwidth digits are not read
		{"999999.999999.999999.999999", "999999.999999.999999.999999"},
		{"0", "0"},
		{"VERSION\u200b 18", "18"},
	}
	for _, tc := range tests {
		got, err := Version(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Version(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestVersionErrors(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"", ErrNoVersion},
		{"latest", ErrNoVersion},
		{"iOS", ErrNoVersion},
		{"1.2.3.4.5", ErrNoVersion},
		{"1234567", ErrNoVersion},
		{"17.1234567", ErrNoVersion},
		{"2nd", ErrNoVersion},
		{"iphone 15", ErrNoVersion},
		{"5 GB", ErrNoVersion},
		{"17.4 or 17.5", ErrAmbiguous},
		{"16 or 17", ErrAmbiguous},
		{"16-17", ErrAmbiguous},
		{"WhatsApp 2.24 on iOS 17.4", ErrAmbiguous},
	}
	for _, tc := range tests {
		got, err := Version(tc.in)
		if !errors.Is(err, tc.want) || got != "" {
			t.Errorf("Version(%q) = %q, %v; want error %v", tc.in, got, err, tc.want)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"16", "16.0", 0},
		{"16.0.0", "16", 0},
		{"17.4.1", "17.4", 1},
		{"17.4", "17.4.1", -1},
		{"2.24.21.77", "2.24.22", -1},
		{"17.10", "17.9", 1}, // numeric, not lexical
		{"iOS 17.4", "17.4.0", 0},
		{"26.1", "18.7.2", 1},
		{"010", "10", 0},
	}
	for _, tc := range tests {
		got, err := CompareVersions(tc.a, tc.b)
		if err != nil || got != tc.want {
			t.Errorf("CompareVersions(%q, %q) = %d, %v; want %d", tc.a, tc.b, got, err, tc.want)
		}
		if back, err := CompareVersions(tc.b, tc.a); err != nil || back != -tc.want {
			t.Errorf("CompareVersions(%q, %q) = %d, %v; want %d", tc.b, tc.a, back, err, -tc.want)
		}
	}
	for _, bad := range [][2]string{{"", "1"}, {"1", "latest"}, {"16 or 17", "16"}, {"1.2.3.4.5", "1"}} {
		if _, err := CompareVersions(bad[0], bad[1]); err == nil {
			t.Errorf("CompareVersions(%q, %q): want an error", bad[0], bad[1])
		}
	}
}

func TestNumber(t *testing.T) {
	tests := []struct {
		in   string
		want float64
	}{
		{"3", 3}, {"2.5", 2.5}, {"2,5", 2.5}, {"about 10", 10}, {"1,000", 1000},
		{"-4", -4}, {"−4", -4}, {"0.1", 0.1}, {"~ 7 ish", 7}, {"10%", 10}, {"3 GB", 3},
		{".5", 0.5}, {"3 or 3", 3}, {"iphone13 and 4", 4},
	}
	for _, tc := range tests {
		got, err := Number(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Number(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	errs := []struct {
		in   string
		want error
	}{
		{"", ErrNoNumber}, {"none", ErrNoNumber}, {"2nd", ErrNoNumber}, {"1.2.3", ErrNoNumber},
		{strings.Repeat("9", 400), ErrNoNumber}, {"2 or 3", ErrAmbiguous}, {"3-5", ErrAmbiguous},
	}
	for _, tc := range errs {
		if got, err := Number(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("Number(%q) = %v, %v; want error %v", tc.in, got, err, tc.want)
		}
	}
}

// guideOptions mirror the first question of the WhatsApp guide.
var guideOptions = []Option{
	{ID: "on", Label: "It's on", Aliases: []string{"green", "it is green", "allowed"}, Means: "yes"},
	{ID: "off", Label: "It's off", Aliases: []string{"grey", "gray", "not allowed"}, Means: "no"},
	{ID: "missing", Label: "WhatsApp isn't in the list", Aliases: []string{"not there", "not listed",
		"not in the list", "can't see whatsapp", "cannot see whatsapp"}},
}

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

// TestHostile feeds every parser long, junk-filled input: none may panic,
// and each must stay fast.
func TestHostile(t *testing.T) {
	inputs := []string{
		strings.Repeat("\x00", 100_000),
		strings.Repeat("\u200b", 100_000/3),
		strings.Repeat("\u202e", 100_000/3) + "yes",
		strings.Repeat("yes ", 25_000),
		strings.Repeat("9", 100_000),
		strings.Repeat("9.", 50_000),
		strings.Repeat("1,000", 20_000) + " GB",
		strings.Repeat("👍🏽", 12_500),
		strings.Repeat("a", 100_000),
		strings.Repeat(" ", 100_000),
		strings.Repeat("\xff", 100_000),
		strings.Repeat("no ", 33_333),
		strings.Repeat("?", 100_000),
		strings.Repeat("a😀", 20_000),
	}
	opts := append([]Option{{ID: "long", Label: strings.Repeat("yes ", 1000)}}, guideOptions...)
	for _, in := range inputs {
		n := Normalize(in)
		if len(n) > MaxLen || !utf8.ValidString(n) {
			t.Errorf("Normalize(%.20q…): len %d, valid %v", in, len(n), utf8.ValidString(n))
		}
		YesNo(in)
		Unsure(in)
		ParseCommand(in)
		Size(in)
		Version(in)
		Number(in)
		MatchChoice(in, opts)
		CompareVersions(in, in)
	}
}

// TestNoAllocs pins the hot path: the usual answers cost no allocation.
func TestNoAllocs(t *testing.T) {
	checks := map[string]func(){
		"YesNo":        func() { YesNo("Yes, it worked 👍") },
		"Unsure":       func() { Unsure("I'm not sure") },
		"ParseCommand": func() { ParseCommand("/help") },
		"Size":         func() { Size("about 3.2 GB") },
		"Number":       func() { Number("about 10") },
		"Version":      func() { Version("iOS 17.4.1") },
		"MatchChoice":  func() { MatchChoice("yes it's green", guideOptions) },
	}
	for name, f := range checks {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s allocates %v times per call, want 0", name, n)
		}
	}
}

// TestInvisibleFastPath checks that the byte-level shortcut drops exactly
// the runes invisible drops.
func TestInvisibleFastPath(t *testing.T) {
	for r := rune(0x2000); r < 0x3000; r++ {
		var b [4]byte
		n := utf8.EncodeRune(b[:], r)
		fast := n == 3 && b[0] == 0xe2 && invisibleE2(b[1], b[2])
		if fast && !invisible(r) {
			t.Errorf("fast path drops %U, which invisible keeps", r)
		}
	}
}
