package bot

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// sumAdds folds adds into field counts per bucket, as a Tallier keeps them.
func sumAdds(adds []TallyAdd) map[string]int64 {
	sum := map[string]int64{}
	for _, a := range adds {
		sum[a.Bucket.String()+" "+a.Field] += a.N
	}
	for k, n := range sum {
		if n == 0 {
			delete(sum, k)
		}
	}
	return sum
}

func TestTallyAdds(t *testing.T) {
	start := time.Date(2026, 12, 4, 9, 50, 0, 0, time.UTC)
	end := start.Add(4 * time.Minute) // still hour 9
	late := start.Add(20 * time.Minute)
	rec := func(kind string, ended time.Time) Outcome {
		return Outcome{Key: "k", Guide: "g", Kind: kind, Step: "s2", Path: []string{"s1", "s2"}, Started: start, Ended: ended}
	}
	h9, h10 := "0000498993/g", "0000498994/g"
	for _, tc := range []struct {
		name string
		o    Outcome
		want []string // "bucket field n", sorted
	}{
		{"started counts in the hour it began", Outcome{Guide: "g", Kind: OutcomeStarted, Started: start, Ended: start}, []string{h9 + " started 1"}},
		{"resolved", rec(OutcomeResolved, end), []string{h9 + " fixed:s2 1", h9 + " reached:s1 1", h9 + " reached:s2 1", h9 + " resolved 1", h9 + " ttr:4 1"}},
		{"escalated leaves nothing at a step", rec(OutcomeEscalated, late), []string{h10 + " escalated 1", h10 + " reached:s1 1", h10 + " reached:s2 1"}},
		{"stopped", rec(OutcomeStopped, end), []string{h9 + " left:s2 1", h9 + " reached:s1 1", h9 + " reached:s2 1", h9 + " stopped 1"}},
		{"expired", rec(OutcomeExpired, late), []string{h10 + " expired 1", h10 + " left:s2 1", h10 + " reached:s1 1", h10 + " reached:s2 1"}},
		{"a restart is no ending: no path, no left", rec(OutcomeRestarted, end), []string{h9 + " restart:s2 1", h9 + " restarted 1"}},
		{"no guide counts nothing", Outcome{Kind: OutcomeResolved, Ended: end}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for k, n := range sumAdds(TallyAdds(tc.o)) {
				got = append(got, fmt.Sprintf("%s %d", k, n))
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestTallyResumedCancelsExpiry: a conversation that expired, was resumed
// and then resolved counts as one resolved conversation, nothing expired,
// and each step of its path reached once.
func TestTallyResumedCancelsExpiry(t *testing.T) {
	start := time.Date(2026, 12, 4, 9, 50, 0, 0, time.UTC)
	expired := Outcome{Guide: "g", Kind: OutcomeExpired, Step: "s2", Path: []string{"s1", "s2"}, Started: start, Ended: start.Add(40 * time.Minute)}
	resumed := expired
	resumed.Kind = OutcomeResumed
	resolved := Outcome{Guide: "g", Kind: OutcomeResolved, Step: "s3", Path: []string{"s1", "s2", "s3"}, Started: start, Ended: start.Add(3 * time.Hour)}

	var adds []TallyAdd
	for _, o := range []Outcome{expired, resumed, resolved} {
		adds = append(adds, TallyAdds(o)...)
	}
	got := sumAdds(adds)
	want := sumAdds(TallyAdds(resolved))
	want[TallyKey{"g", start.Add(40 * time.Minute).Truncate(time.Hour)}.String()+" "+OutcomeResumed] = 1
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("expired+resumed+resolved sum to\n%v\nwant\n%v", got, want)
	}
	for k := range got {
		if strings.HasSuffix(k, " expired") || strings.Contains(k, " left:") {
			t.Errorf("%s remains after the expiry was resumed", k)
		}
	}
}

func TestIsEnding(t *testing.T) {
	for kind, want := range map[string]bool{
		OutcomeResolved: true, OutcomeEscalated: true, OutcomeStopped: true, OutcomeExpired: true,
		OutcomeStarted: false, OutcomeResumed: false, OutcomeRestarted: false, "": false,
	} {
		if IsEnding(kind) != want {
			t.Errorf("IsEnding(%q) = %v", kind, !want)
		}
	}
}

func TestParseTallyKey(t *testing.T) {
	hour := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in      string
		want    TallyKey
		wantErr bool
	}{
		{"0000498993/g", TallyKey{"g", hour}, false},
		{"0000498993/a/b", TallyKey{"a/b", hour}, false},
		{"0000498993/", TallyKey{"", hour}, false},
		{"493937/g", TallyKey{}, true},
		{"00004939x7/g", TallyKey{}, true},
		{"0000498993", TallyKey{}, true},
		{"", TallyKey{}, true},
	} {
		got, err := ParseTallyKey(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseTallyKey(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func FuzzParseTallyKey(f *testing.F) {
	for _, s := range []string{"0000498993/g", "0000498993", "-000498993/g", "+000498993/x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseTallyKey(s)
		if err != nil {
			return
		}
		again, err := ParseTallyKey(k.String())
		if err != nil || again != k {
			t.Fatalf("%q parses to %v, which encodes to %q and parses back to %v, %v", s, k, k.String(), again, err)
		}
	})
}
