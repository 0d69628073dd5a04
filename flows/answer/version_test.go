package answer

import (
	"errors"
	"testing"
)

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
