package confval

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		err  string // a part of the error; "" when none is expected
	}{
		{"30m", 30 * time.Minute, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"-1s", -time.Second, ""},
		{"0", 0, ""},
		{"0s", 0, ""},
		{" 24h ", 24 * time.Hour, ""},
		{"1d", 24 * time.Hour, ""},
		{"1.5d", 36 * time.Hour, ""},
		{"2d12h", 60 * time.Hour, ""},
		{"1d30m15s", 24*time.Hour + 30*time.Minute + 15*time.Second, ""},
		{"-1d", -24 * time.Hour, ""},
		{"500ms", 500 * time.Millisecond, ""},
		{"30", 0, `"30" has no unit (seconds? minutes?); write e.g. 30m, 1h30m or 1d`},
		{"1.5", 0, "has no unit"},
		{"30 minutes", 0, `"30 minutes" is not a duration; write e.g. 30m, 1h30m or 1d`},
		{"1 d", 0, "is not a duration"},
		{"1x", 0, "is not a duration"},
		{"d", 0, "is not a duration"},
		{"1dd", 0, "is not a duration"},
		{"inf", 0, "is not a duration"},
		{"", 0, "is empty"},
		{"1h-2m", 0, "is not a duration"},
		{"200000d", 0, "too long"},
		{"106751d23h", 2562047 * time.Hour, ""},
		{"106751d24h", 0, "too long"},
		{"9999999999999999999h", 0, "is not a duration"},
		{strings.Repeat("9", 100), 0, "…"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseDuration(c.in)
			if c.err == "" {
				if err != nil || got != c.want {
					t.Errorf("ParseDuration(%q) = %v, %v; want %v", c.in, got, err, c.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseDuration(%q) = %v, want an error with %q", c.in, got, c.err)
			}
			if !strings.Contains(err.Error(), c.err) || !errors.Is(err, ErrDuration) || !strings.HasSuffix(err.Error(), DurationExample) {
				t.Errorf("ParseDuration(%q) error %q; want one with %q, matching ErrDuration, ending with the example", c.in, err, c.err)
			}
		})
	}
}

// FuzzParseDuration: never a panic; an error always matches ErrDuration,
// is short and ends with the example; whatever time.ParseDuration accepts
// (with a unit) means the same here; and a result printed by Go parses
// back to itself.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"30m", "1d", "1.5d", "2d12h", "-1s", "30", "30 minutes", "", "0", "1e3s", ".5d", "106751d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			if !errors.Is(err, ErrDuration) || !strings.HasSuffix(err.Error(), DurationExample) || len(err.Error()) > 300 {
				t.Fatalf("ParseDuration(%q): bad error %q", s, err)
			}
		}
		if std, serr := time.ParseDuration(strings.TrimSpace(s)); serr == nil && !bareNumber.MatchString(strings.TrimSpace(s)) {
			if err != nil || d != std {
				t.Fatalf("ParseDuration(%q) = %v, %v; time.ParseDuration says %v", s, d, err, std)
			}
		}
		if err == nil {
			back, err := ParseDuration(d.String())
			if err != nil || back != d {
				t.Fatalf("%q → %v → %q → %v, %v", s, d, d.String(), back, err)
			}
		}
	})
}
