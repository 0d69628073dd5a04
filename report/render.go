package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
)

// CheckFormat reports whether Write knows format: text, json or csv.
func CheckFormat(format string) error {
	switch format {
	case "text", "json", "csv":
		return nil
	}
	return fmt.Errorf("--format %q: want text, json or csv", format)
}

// Write renders rep in format (see CheckFormat): every format carries the
// same numbers.
func Write(w io.Writer, rep *Report, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	case "csv":
		return writeCSV(w, rep)
	case "text":
		return writeText(w, rep)
	}
	return CheckFormat(format)
}

// windowText says which conversations the report covers.
func windowText(rep *Report) string {
	if rep.Since.IsZero() {
		return "Conversations, all time"
	}
	return "Conversations since " + rep.Since.UTC().Format("2006-01-02 15:04 MST")
}

// pct is n of total as a whole percentage, "" when total is not positive.
func pct(n, total int64) string {
	if total <= 0 {
		return ""
	}
	return fmt.Sprintf("%.0f%%", 100*float64(n)/float64(total))
}

// csvHeader names the columns: one row per number. share is the number as a
// fraction of its base (endings: of ended; reached: of ended; left and
// resolved at a step: of those that reached it), empty where none applies.
var csvHeader = []string{"guide", "section", "item", "title", "measure", "value", "share"}

// csvRows is rep as CSV rows (without the header), in the order written.
func csvRows(rep *Report) [][]string {
	var rows [][]string
	for _, g := range rep.Guides {
		row := func(section, item, title, measure, value, share string) {
			rows = append(rows, []string{g.Guide, section, item, title, measure, value, share})
		}
		n := func(v int64) string { return strconv.FormatInt(v, 10) }
		frac := func(f float64) string { return strconv.FormatFloat(f, 'f', 4, 64) }
		row("total", "", g.Title, "started", n(g.Started), "")
		row("total", "", g.Title, "ended", n(g.Ended), "")
		row("total", "", g.Title, "resolved", n(g.Resolved), frac(g.Shares.Resolved))
		row("total", "", g.Title, "escalated", n(g.Escalated), frac(g.Shares.Escalated))
		row("total", "", g.Title, "stopped", n(g.Stopped), frac(g.Shares.Stopped))
		row("total", "", g.Title, "expired", n(g.Expired), frac(g.Shares.Expired))
		row("total", "", g.Title, "restarted", n(g.Restarted), "")
		row("total", "", g.Title, "resumed", n(g.Resumed), "")
		for _, s := range g.Steps {
			row("step", s.Step, s.Title, "reached", n(s.Reached), frac(s.ReachedShare))
			row("step", s.Step, s.Title, "left", n(s.Left), frac(s.LeftShare))
			row("step", s.Step, s.Title, "resolved", n(s.Fixed), frac(s.FixedShare))
			row("step", s.Step, s.Title, "restarted", n(s.Restarted), "")
		}
		for _, d := range g.Days {
			row("day", d.Day, "", "started", n(d.Started), "")
			row("day", d.Day, "", "resolved", n(d.Resolved), "")
			row("day", d.Day, "", "escalated", n(d.Escalated), "")
			row("day", d.Day, "", "stopped", n(d.Stopped), "")
			row("day", d.Day, "", "expired", n(d.Expired), "")
			row("day", d.Day, "", "restarted", n(d.Restarted), "")
		}
		row("ttr", "", "bucketed", "resolved", n(g.TTR.Resolved), "")
		row("ttr", "", "bucketed", "median", g.TTR.Median, "")
		row("ttr", "", "bucketed", "p90", g.TTR.P90, "")
		for _, b := range g.TTR.Buckets {
			row("ttr_bucket", b.Label, "", "resolved", n(b.Count), frac(share(b.Count, g.TTR.Resolved)))
		}
	}
	return rows
}

func writeCSV(w io.Writer, rep *Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	if err := cw.WriteAll(csvRows(rep)); err != nil {
		return err
	}
	return cw.Error()
}

// writeText renders rep for a terminal: totals, per step, per day, time to
// resolution, each guide in turn.
func writeText(w io.Writer, rep *Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }
	p("%s (counted by the hour, UTC)\n", windowText(rep))
	if len(rep.Guides) == 0 {
		p("\nNo conversations in this window.\n")
	}
	for _, g := range rep.Guides {
		p("\n%s (%s)\n", g.Title, g.Guide)
		p("  started\t%d\n", g.Started)
		p("  ended\t%d\n", g.Ended)
		p("    resolved\t%d\t%s\n", g.Resolved, pct(g.Resolved, g.Ended))
		p("    escalated\t%d\t%s\thanded off\n", g.Escalated, pct(g.Escalated, g.Ended))
		p("    stopped\t%d\t%s\n", g.Stopped, pct(g.Stopped, g.Ended))
		p("    expired\t%d\t%s\n", g.Expired, pct(g.Expired, g.Ended))
		p("  restarted\t%d\t\tnot an ending\n", g.Restarted)
		p("  resumed\t%d\t\texpiries taken back\n", g.Resumed)
		if err := tw.Flush(); err != nil {
			return err
		}
		if g.TTR.Resolved > 0 {
			p("  time to resolution (bucketed): median %s, p90 %s, of %d resolved\n", g.TTR.Median, g.TTR.P90, g.TTR.Resolved)
			for _, b := range g.TTR.Buckets {
				p("    %s\t%d\t%s\n", b.Label, b.Count, pct(b.Count, g.TTR.Resolved))
			}
		}
		if len(g.Steps) > 0 {
			p("\n  step\treached\t\tleft\t\tresolved\t\trestarted\n")
			for _, s := range g.Steps {
				p("  %s\t%d\t%s\t%d\t%s\t%d\t%s\t%d\n", s.Title, s.Reached, pct(s.Reached, g.Ended),
					s.Left, pct(s.Left, s.Reached), s.Fixed, pct(s.Fixed, s.Reached), s.Restarted)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if len(g.Days) > 0 {
			p("\n  day\tstarted\tresolved\tescalated\tstopped\texpired\trestarted\n")
			for _, d := range g.Days {
				p("  %s\t%d\t%d\t%d\t%d\t%d\t%d\n", d.Day, d.Started, d.Resolved, d.Escalated, d.Stopped, d.Expired, d.Restarted)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return tw.Flush()
}
