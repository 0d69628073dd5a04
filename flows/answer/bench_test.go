package answer

import (
	"strings"
	"testing"
)

// Package-level sinks keep the compiler from dropping the calls.
var (
	sinkBool   bool
	sinkString string
	sinkUint   uint64
	sinkErr    error
)

var benchYesNo = []string{"yes", "Yes, it worked 👍", "no it didn't", "I'm not sure", "it’s not on, still failing"}

func BenchmarkYesNo(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sinkBool, _ = YesNo(benchYesNo[i%len(benchYesNo)])
	}
}

func BenchmarkSize(b *testing.B) {
	in := []string{"3.2 GB", "about 1,5 gigs free", "800mb", "it says 1,024 MB of 5 GB"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sinkUint, sinkErr = Size(in[i%len(in)])
	}
}

func BenchmarkVersion(b *testing.B) {
	in := []string{"17.4.1", "iOS 17.4.1", "I have an iPhone 15 Pro on iOS 17.4", "version 2.24.21.77 (build x)"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sinkString, sinkErr = Version(in[i%len(in)])
	}
}

func BenchmarkMatchChoice(b *testing.B) {
	in := []string{"2", "It's off", "yes it's green", "No, WhatsApp isn't in the list", "hmm"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sinkString, sinkBool = MatchChoice(in[i%len(in)], guideOptions)
	}
}

func BenchmarkNormalize(b *testing.B) {
	in := []string{"yes it worked", "It’s ON!  ", "\u202eyes\u200b"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sinkString = Normalize(in[i%len(in)])
	}
}

func BenchmarkUnsure(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sinkBool = Unsure(benchYesNo[i%len(benchYesNo)])
	}
}

func BenchmarkParseCommand(b *testing.B) {
	in := []string{"/help", "start over", "help me my backup fails", "3.2 GB"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_, sinkBool = ParseCommand(in[i%len(in)])
	}
}

func BenchmarkNumber(b *testing.B) {
	in := []string{"3", "about 2,5", "1,000"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_, sinkErr = Number(in[i%len(in)])
	}
}

func BenchmarkFormatSize(b *testing.B) {
	b.ReportAllocs()
	for i := uint64(0); b.Loop(); i++ {
		sinkString = FormatSize(i * 3_200_003)
	}
}

// BenchmarkHostile100KB measures the worst cases: 100 KB messages that
// must be read to the end because almost nothing in them is kept.
func BenchmarkHostile100KB(b *testing.B) {
	for name, in := range map[string]string{
		"zero-width": strings.Repeat("\u200b", 100_000/3) + "yes",
		"NUL":        strings.Repeat("\x00", 100_000) + "yes",
		"spaces":     strings.Repeat(" ", 100_000) + "yes",
		"bad-utf8":   strings.Repeat("\xff", 100_000) + "yes",
		"tag-chars":  strings.Repeat("\U000E0041", 100_000/4) + "yes",
		"emoji":      strings.Repeat("👍🏽", 100_000/8),
	} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				sinkBool, _ = YesNo(in)
			}
		})
	}
}
