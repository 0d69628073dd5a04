package sim

import (
	"cmp"
	"slices"
	"strings"
)

// Turning conversations into the report's figures.

// summarize turns the conversations' results into a Report.
func summarize(results []result, opts Options) Report {
	rep := Report{Seed: opts.Seed, Guide: GuideID, Mix: opts.Mix, UnknownSteps: map[string]int{}}
	rep.Figures = figures(results)
	byCause := map[string][]result{}
	misreads := map[[2]string]int{}
	specific := 0
	totalMinutes := 0.0
	for i, r := range results {
		byCause[r.cause] = append(byCause[r.cause], r)
		if r.specific {
			specific++
		}
		if r.right {
			totalMinutes += r.minutes()
		} else if len(rep.Misses) < 20 {
			rep.Misses = append(rep.Misses, Miss{User: i, Cause: r.cause, First: r.first, Path: strings.Join(r.path, " → "), Outcome: r.outcome})
		}
		for _, m := range r.misreads {
			misreads[[2]string{m.Step, m.Text}]++
		}
		for _, s := range r.unknown {
			rep.UnknownSteps[s]++
		}
		rep.Errors += r.errors
		rep.Messages += r.messages
	}
	if len(results) > 0 {
		rep.SpecificFirst = float64(specific) / float64(len(results))
	}
	for _, c := range Causes {
		rs := byCause[c]
		if len(rs) == 0 {
			continue
		}
		cf := CauseFigures{Cause: c, Figures: figures(rs)}
		paths := map[string]int{}
		mins := 0.0
		for _, r := range rs {
			if r.right {
				paths[strings.Join(r.path, " → ")]++
				mins += r.minutes()
			}
		}
		best := 0
		for p, n := range paths {
			if n > best || n == best && p < cf.TopPath {
				cf.TopPath, best = p, n
			}
		}
		cf.TopPathShare = float64(best) / float64(len(rs))
		if totalMinutes > 0 {
			cf.Cost = mins / totalMinutes
		}
		rep.ByCause = append(rep.ByCause, cf)
	}
	for k, n := range misreads {
		rep.Misreads = append(rep.Misreads, Misread{Step: k[0], Text: k[1], Count: n})
	}
	slices.SortFunc(rep.Misreads, func(a, b Misread) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Step, b.Step), cmp.Compare(a.Text, b.Text))
	})
	if len(rep.Misreads) > 15 {
		rep.Misreads = rep.Misreads[:15]
	}
	return rep
}

// figures computes the summary figures of rs.
func figures(rs []result) Figures {
	f := Figures{Users: len(rs)}
	var answers, wrong, minutes []float64
	for _, r := range rs {
		f.Reasks += r.reasks
		if !r.right {
			continue
		}
		f.Right++
		answers = append(answers, float64(r.answers))
		wrong = append(wrong, float64(r.wrong))
		minutes = append(minutes, r.minutes())
	}
	if f.Users > 0 {
		f.RightShare = float64(f.Right) / float64(f.Users)
	}
	f.MedianAnswers, f.MeanAnswers = median(answers), mean(answers)
	f.MedianWrongFixes, f.MeanWrongFixes = median(wrong), mean(wrong)
	f.MedianMinutes, f.MeanMinutes = median(minutes), mean(minutes)
	return f
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	t := 0.0
	for _, x := range xs {
		t += x
	}
	return t / float64(len(xs))
}
