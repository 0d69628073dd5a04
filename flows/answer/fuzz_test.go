package answer

import (
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// seeds are inputs every fuzz target starts from: the examples of the
// contract plus the kinds of junk chat delivers.
var seeds = []string{
	"", " ", "yes", "no", "y", "n", "nope", "it's on", "it’s off", "yes it did", "no it didn't",
	"didn't work", "still failing", "not fixed", "👍", "👎🏽", "✅", "❌", "✔️", "yes and no",
	"not sure", "no idea", "I don't know", "idk", "?", "where do i find it", "what's that",
	"help", "/help", "!stop", "start over", "where am I?", "next", "help me my backup fails",
	"3.2 GB", "3,2 GB", "800mb", "about 1.5GB", "~2 TB", "1.5 gigs", "3 GiB", "0 GB", "1,024 MB",
	"3 GB or 5 GB", "3-5 GB", "-3 GB", "1.2.3 GB", "2 EB", "99999999999999999999 GB", ".5 gb",
	"iOS 17.4.1", "17.4", "I'm on 16", "2.24.21.77", "version 2.24.21.77 (build x)", "v18.1",
	"iPhone 15 on iOS 17.4", "1.2.3.4.5", "1234567", "10:30", "16 or 17",
	"2", "#2", "2.", "option 2", "the second one", "3️⃣", "green", "not allowed",
	"No, WhatsApp isn't in the list", "\u202eyes\u202c", "ye\u200bs", "\x00\x01\x7f", "\xff\xfe",
	"a\u0300", "İ", "ΣΑΣ", "\u2066on\u2069", "\ufeffno", strings.Repeat("a", MaxLen+1),
	strings.Repeat("é", MaxLen/2) + "x", strings.Repeat("9", 40), "1,000,000.5 KB", "−4",
}

func addSeeds(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
}

func FuzzNormalize(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if len(n) > MaxLen {
			t.Fatalf("len %d > MaxLen", len(n))
		}
		if !utf8.ValidString(n) {
			t.Fatalf("invalid UTF-8: %q", n)
		}
		if again := Normalize(n); again != n {
			t.Fatalf("not idempotent: %q → %q", n, again)
		}
		if strings.TrimSpace(n) != n || strings.Contains(n, "  ") {
			t.Fatalf("untrimmed or uncollapsed space: %q", n)
		}
		for _, r := range n {
			if r != ' ' && unicode.IsSpace(r) || unicode.In(r, unicode.Cc, unicode.Cf) || invisible(r) && r >= 0x80 {
				t.Fatalf("kept %U in %q", r, n)
			}
			if r == '’' || r == '“' || unicode.IsUpper(r) && unicode.ToLower(r) != r {
				t.Fatalf("unfolded %U in %q", r, n)
			}
		}
		// Nothing visible is lost when the input fits.
		if len(s) <= MaxLen/4 {
			for _, r := range s {
				if unicode.IsLetter(r) && unicode.ToLower(r) < utf8.RuneSelf && !strings.ContainsRune(n, unicode.ToLower(r)) {
					t.Fatalf("lost %q from %q: %q", r, s, n)
				}
			}
		}
	})
}

func FuzzYesNo(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		yes, ok := YesNo(s)
		if !ok && yes {
			t.Fatalf("YesNo(%q) = true, false", s)
		}
		// The engine passes normalised text; the reading must not change.
		if y2, ok2 := YesNo(Normalize(s)); y2 != yes || ok2 != ok {
			t.Fatalf("YesNo(%q) = %v,%v but on normalised text %v,%v", s, yes, ok, y2, ok2)
		}
		if ok && Unsure(s) {
			t.Fatalf("YesNo(%q) answered although Unsure", s)
		}
		// Trailing punctuation is decoration.
		if len(s) < 1024 && len(Normalize(s)) < MaxLen-4 {
			for _, p := range []string{"!", ".", " !!"} {
				if y2, ok2 := YesNo(s + p); y2 != yes || ok2 != ok {
					t.Fatalf("YesNo(%q) = %v,%v but YesNo(%q) = %v,%v", s, yes, ok, s+p, y2, ok2)
				}
			}
		}
	})
}

func FuzzParseCommand(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := ParseCommand(s)
		switch c {
		case Help, Back, Restart, Skip, Stop, Status:
			if !ok {
				t.Fatalf("ParseCommand(%q) = %q but not ok", s, c)
			}
		case "":
			if ok {
				t.Fatalf("ParseCommand(%q) ok with empty command", s)
			}
		default:
			t.Fatalf("ParseCommand(%q) = unknown %q", s, c)
		}
		if c2, ok2 := ParseCommand(Normalize(s)); c2 != c || ok2 != ok {
			t.Fatalf("ParseCommand(%q) = %q but on normalised text %q", s, c, c2)
		}
		if len(s) < 1024 && len(Normalize(s)) < maxCommandLen-1 {
			if c2, ok2 := ParseCommand(s + "!"); c2 != c || ok2 != ok {
				t.Fatalf("ParseCommand(%q) = %q but ParseCommand(%q) = %q", s, c, s+"!", c2)
			}
		}
		// A command is the whole message: adding a word undoes it (when
		// the word is within what is read at all).
		if ok && len(s) < 4096 {
			if c3, ok3 := ParseCommand(s + " whatsapp"); ok3 {
				t.Fatalf("ParseCommand(%q) = %q: a longer message became a command", s+" whatsapp", c3)
			}
		}
	})
}

func FuzzSize(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		b, err := Size(s)
		if err != nil {
			if b != 0 {
				t.Fatalf("Size(%q) = %d with error %v", s, b, err)
			}
			if !errors.Is(err, ErrNoSize) && !errors.Is(err, ErrNoUnit) && !errors.Is(err, ErrAmbiguous) {
				t.Fatalf("Size(%q): error %v wraps no sentinel", s, err)
			}
			return
		}
		if b > maxSize {
			t.Fatalf("Size(%q) = %d > 1 EB", s, b)
		}
		if b2, err2 := Size(Normalize(s)); b2 != b || err2 != nil {
			t.Fatalf("Size(%q) = %d but on normalised text %d, %v", s, b, b2, err2)
		}
		// What FormatSize shows reads back to within half its last digit.
		shown := FormatSize(b)
		back, err := Size(shown)
		if err != nil {
			t.Fatalf("Size(FormatSize(%d) = %q): %v", b, shown, err)
		}
		unit := uint64(1)
		for unit <= b/1000 && unit < maxSize {
			unit *= 1000
		}
		diff := back - b
		if back < b {
			diff = b - back
		}
		if unit > 1 && diff > unit/20 || unit == 1 && diff != 0 {
			t.Fatalf("Size(%q) = %d, shown %q, read back %d: off by %d", s, b, shown, back, diff)
		}
	})
}

var versionRE = regexp.MustCompile(`^\d{1,6}(\.\d{1,6}){0,3}$`)

func FuzzVersion(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Version(s)
		if err != nil {
			if v != "" {
				t.Fatalf("Version(%q) = %q with error %v", s, v, err)
			}
			if !errors.Is(err, ErrNoVersion) && !errors.Is(err, ErrAmbiguous) {
				t.Fatalf("Version(%q): error %v wraps no sentinel", s, err)
			}
			return
		}
		if !versionRE.MatchString(v) {
			t.Fatalf("Version(%q) = %q: not a dotted version", s, v)
		}
		if again, err := Version(v); err != nil || again != v {
			t.Fatalf("Version(%q) = %q, but Version(%q) = %q, %v", s, v, v, again, err)
		}
		if c, err := CompareVersions(v, s); err != nil || c != 0 {
			t.Fatalf("CompareVersions(%q, %q) = %d, %v; want 0", v, s, c, err)
		}
	})
}

func FuzzMatchChoice(f *testing.F) {
	for _, s := range seeds {
		f.Add(s, "It's on")
	}
	f.Add("free up space", "Free up space")
	f.Add("3", "")
	f.Add("x", "\u202e")
	f.Fuzz(func(t *testing.T, s, label string) {
		opts := append([]Option{{ID: "fuzz", Label: label, Aliases: []string{label + " now"}}}, guideOptions...)
		id, ok := MatchChoice(s, opts)
		if !ok {
			if id != "" {
				t.Fatalf("MatchChoice(%q) = %q without ok", s, id)
			}
		} else {
			known := false
			for _, o := range opts {
				known = known || o.ID == id
			}
			if !known {
				t.Fatalf("MatchChoice(%q) = unknown id %q", s, id)
			}
		}
		if id2, ok2 := MatchChoice(Normalize(s), opts); id2 != id || ok2 != ok {
			t.Fatalf("MatchChoice(%q) = %q, %v but on normalised text %q, %v", s, id, ok, id2, ok2)
		}
		// A plain in-range number always picks by position.
		if k, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && k >= 1 && k <= len(opts) && k < 1000 && strings.TrimSpace(s) == strconv.Itoa(k) {
			if !ok || id != opts[k-1].ID {
				t.Fatalf("MatchChoice(%q) = %q, %v; want option %d", s, id, ok, k)
			}
		}
	})
}

func FuzzNumber(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Number(s)
		if err != nil {
			if !errors.Is(err, ErrNoNumber) && !errors.Is(err, ErrAmbiguous) {
				t.Fatalf("Number(%q): error %v wraps no sentinel", s, err)
			}
			return
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("Number(%q) = %v", s, v)
		}
		back, err := Number(strconv.FormatFloat(v, 'f', -1, 64))
		if err != nil || back != v {
			t.Fatalf("Number(%q) = %v, but its decimal form reads %v, %v", s, v, back, err)
		}
	})
}
