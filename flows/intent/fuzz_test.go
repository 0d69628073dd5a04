package intent

import (
	"math"
	"testing"
	"unicode/utf8"
)

func FuzzMatch(f *testing.F) {
	for _, tc := range matchCases {
		f.Add(tc.msg)
	}
	f.Add("\xff\xfe\xfd not enough")
	f.Add("back up up up back back up")
	f.Add("isn't isn't ' ’ ʼ ...,,,;;")
	f.Add(string([]byte{'i', 'c', 'l', 'o', 'u', 0xe2, 0x80}))
	m, err := New(entriesOf(fixture))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := m.Match(s)
		if r.Step != "" && r.Guide == "" {
			t.Fatalf("step %q without guide", r.Step)
		}
		if r.Greeting && r.Guide != "" {
			t.Fatalf("greeting routed to %q", r.Guide)
		}
		for _, x := range []float64{r.GuideScore, r.StepScore} {
			if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
				t.Fatalf("bad score %v", x)
			}
		}
		if r.Guide != "" && r.GuideScore < m.GuideThreshold {
			t.Fatalf("guide %q below threshold: %v", r.Guide, r.GuideScore)
		}
		if r.Step != "" && r.StepScore < m.StepThreshold {
			t.Fatalf("step %q below threshold: %v", r.Step, r.StepScore)
		}
		if r.Step != "" && !hasStep(m, r.Guide, r.Step) {
			t.Fatalf("step %q is not a step of %q", r.Step, r.Guide)
		}
		for _, d := range r.Denied {
			if d.Guide == r.Guide && d.Step == r.Step && r.Step != "" {
				t.Fatalf("routed to denied target %v", d)
			}
		}
		if len(s) > maxInput && utf8.ValidString(s) {
			// Only the first 4 KiB count.
			if r2 := m.Match(s[:maxInput]); r2.Guide != r.Guide || r2.Step != r.Step {
				t.Fatalf("input beyond 4 KiB changed the result")
			}
		}
	})
}

func hasStep(m *Matcher, guide, step string) bool {
	for _, t := range m.targets {
		if t.Guide == guide && t.Step == step {
			return true
		}
	}
	return false
}
