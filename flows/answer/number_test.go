package answer

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/dustin/go-humanize"
)

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
