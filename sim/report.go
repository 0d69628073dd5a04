package sim

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Write prints the report as readable text: the overall figures against
// the targets, a table per root cause, the commonest path of each cause,
// the answers the bot did not take and the users who never reached their
// right fix. It returns the first write error.
func (r Report) Write(w io.Writer) error {
	ew := &errWriter{w: w}
	mark := func(ok bool) string {
		if ok {
			return "ok"
		}
		return "MISSED"
	}
	ew.printf("Simulated users: %d (seed %d, guide %s), %d messages, %.1fs\n", r.Users, r.Seed, r.Guide, r.Messages, r.Elapsed.Seconds())
	ew.printf("First messages naming the symptom: %.0f%%\n\n", 100*r.SpecificFirst)
	ew.printf("Reached the right fix: %d/%d = %.1f%%   (target ≥ %.0f%%: %s)\n", r.Right, r.Users, 100*r.RightShare, 100*TargetRightShare, mark(r.RightShare >= TargetRightShare))
	ew.printf("Answers before it:     median %.1f, mean %.2f\n", r.MedianAnswers, r.MeanAnswers)
	ew.printf("Wrong fixes before it: median %.1f, mean %.2f\n", r.MedianWrongFixes, r.MeanWrongFixes)
	ew.printf("Minutes (%.1f/answer + %.0f/wrong fix): median %.2f (target ≤ %.1f: %s), mean %.2f (target ≤ %.1f: %s)\n",
		MinutesPerAnswer, MinutesPerWrongFix,
		r.MedianMinutes, TargetMedianMinutes, mark(r.MedianMinutes <= TargetMedianMinutes),
		r.MeanMinutes, TargetMeanMinutes, mark(r.MeanMinutes <= TargetMeanMinutes))
	ew.printf("Answers the bot asked again after: %d; error lines: %d\n\n", r.Reasks, r.Errors)

	ew.flushTable(func(tw io.Writer) {
		fmt.Fprintln(tw, "cause\tusers\tright\tmed ans\tmean ans\tmed wrong\tmean wrong\tmed min\tmean min\tre-asks\tshare of minutes\t")
		for _, c := range r.ByCause {
			fmt.Fprintf(tw, "%s\t%d\t%.1f%%\t%.1f\t%.2f\t%.1f\t%.2f\t%.2f\t%.2f\t%d\t%.0f%%\t\n",
				c.Cause, c.Users, 100*c.RightShare, c.MedianAnswers, c.MeanAnswers, c.MedianWrongFixes, c.MeanWrongFixes,
				c.MedianMinutes, c.MeanMinutes, c.Reasks, 100*c.Cost)
		}
	})
	ew.printf("\nCommonest path to the right fix, per cause (✗ = wrong fix tried):\n")
	for _, c := range r.ByCause {
		ew.printf("  %-15s %3.0f%%  %s\n", c.Cause, 100*c.TopPathShare, c.TopPath)
	}
	if len(r.Misreads) > 0 {
		ew.printf("\nTyped answers the bot asked again after:\n")
		for _, m := range r.Misreads {
			ew.printf("  %4d× at %-16s %q\n", m.Count, m.Step, m.Text)
		}
	}
	if len(r.UnknownSteps) > 0 {
		ew.printf("\nSteps the user model does not know: %v\n", r.UnknownSteps)
	}
	if len(r.Misses) > 0 {
		ew.printf("\nUsers who never reached the right fix (%d; first %d):\n", r.Users-r.Right, len(r.Misses))
		for _, m := range r.Misses {
			ew.printf("  #%d %s, %q, ended %s: %s\n", m.User, m.Cause, m.First, orDash(m.Outcome), m.Path)
		}
	}
	return ew.err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err != nil {
		return
	}
	_, e.err = fmt.Fprintf(e.w, format, args...)
}

func (e *errWriter) flushTable(fill func(io.Writer)) {
	if e.err != nil {
		return
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fill(tw)
	if err := tw.Flush(); err != nil {
		e.err = err
		return
	}
	_, e.err = io.WriteString(e.w, b.String())
}
