// Package report summarises the recorded conversation outcomes as the
// resolution funnel and renders it: as text, JSON or CSV for the report
// command, and as a self-contained HTML page for /report.
package report

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"troubleshooter/bot"
	"troubleshooter/flows"
)

// ParseSince reads "7d", "36h", "90m" or a date (2026-01-31) into the
// start of the report window.
func ParseSince(s string, now time.Time) (time.Time, error) {
	if s == "" || s == "all" {
		return time.Time{}, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days >= 0 && days <= 36500 {
			return now.AddDate(0, 0, -days), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want a duration such as 7d or 36h, a date such as 2026-01-31, or all", s)
}

// Funnels reads the outcome records since then and summarises them; only
// is a guide id or "" for all.
func Funnels(ctx context.Context, store bot.Store, runner *flows.Runner, since time.Time, only string) ([]flows.Funnel, error) {
	var outs []bot.Outcome
	err := store.Outcomes(ctx, since, func(o bot.Outcome) error {
		if only == "" || o.Guide == only {
			outs = append(outs, o)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading outcomes: %w", err)
	}
	return runner.Funnels(outs), nil
}

// CheckFormat reports whether Write knows format: text, json or csv.
func CheckFormat(format string) error {
	if format != "text" && format != "json" && format != "csv" {
		return fmt.Errorf("--format %q: want text, json or csv", format)
	}
	return nil
}

// Write renders the funnel since then in format (see CheckFormat).
func Write(w io.Writer, fun []flows.Funnel, since time.Time, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if fun == nil {
			fun = []flows.Funnel{}
		}
		return enc.Encode(map[string]any{"since": since, "guides": fun})
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"guide", "measure", "step", "title", "count", "share"})
		for _, f := range fun {
			row := func(measure, step, title string, n int) {
				share := 0.0
				if f.Started > 0 {
					share = float64(n) / float64(f.Started)
				}
				_ = cw.Write([]string{f.Guide, measure, step, title, strconv.Itoa(n), strconv.FormatFloat(share, 'f', 4, 64)})
			}
			row("started", "", "", f.Started)
			row("resolved", "", "", f.Resolved)
			row("escalated", "", "", f.Escalated)
			row("abandoned", "", "", f.Abandoned)
			for _, s := range f.Fixes {
				row("resolved_by", s.Step, s.Title, s.Count)
			}
			for _, s := range f.DropOuts {
				row("dropped_at", s.Step, s.Title, s.Count)
			}
		}
		cw.Flush()
		return cw.Error()
	default:
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		if since.IsZero() {
			fmt.Fprintln(tw, "Conversations that ended, all time")
		} else {
			fmt.Fprintf(tw, "Conversations that ended since %s\n", since.Format("2006-01-02 15:04"))
		}
		if len(fun) == 0 {
			fmt.Fprintln(tw, "\nNo conversations ended in this window.")
		}
		for _, f := range fun {
			fmt.Fprintf(tw, "\n%s (%s)\n", f.Title, f.Guide)
			fmt.Fprintf(tw, "  started\t%d\t\n", f.Started)
			fmt.Fprintf(tw, "  resolved\t%d\t%s\n", f.Resolved, pct(f.Resolved, f.Started))
			for _, s := range f.Fixes {
				fmt.Fprintf(tw, "    by %s\t%d\t%s\n", s.Title, s.Count, pct(s.Count, f.Started))
			}
			fmt.Fprintf(tw, "  escalated\t%d\t%s\n", f.Escalated, pct(f.Escalated, f.Started))
			fmt.Fprintf(tw, "  abandoned\t%d\t%s\n", f.Abandoned, pct(f.Abandoned, f.Started))
			for _, s := range f.DropOuts {
				fmt.Fprintf(tw, "    at %s\t%d\t%s\n", s.Title, s.Count, pct(s.Count, f.Started))
			}
		}
		return tw.Flush()
	}
}

func pct(n, of int) string {
	if of == 0 {
		return ""
	}
	return fmt.Sprintf("%.0f%%", 100*float64(n)/float64(of))
}

// reportPage is /report: the funnel as a page with its own CSS and SVG bars,
// no external assets, so it renders offline.
var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":   pct,
	"width": func(share float64) string { return strconv.FormatFloat(4+share*496, 'f', 1, 64) },
	"mulf":  func(f float64) float64 { return 100 * f },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Troubleshooter report</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1d2330;background:#fff}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.2rem;margin:2rem 0 .5rem}.muted{color:#5b6475}
.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:.75rem 0}.card{border:1px solid #d9dde5;border-radius:8px;padding:.6rem 1rem;min-width:8rem}
.card b{display:block;font-size:1.6rem}.resolved b{color:#1a7f37}.escalated b{color:#9a6700}.abandoned b{color:#b42318}
table{border-collapse:collapse;width:100%;table-layout:fixed}td:first-child{width:15rem}td{padding:.2rem .5rem;vertical-align:middle}td.n{text-align:right;white-space:nowrap;width:6rem}
svg{display:block}
</style></head><body>
<h1>Troubleshooter report</h1>
<p class="muted">Conversations that ended {{if .Since.IsZero}}at any time{{else}}since {{.Since.Format "2006-01-02 15:04 MST"}}{{end}}.</p>
{{if not .Funnels}}<p>No conversations ended in this window.</p>{{end}}
{{range .Funnels}}
<section>
<h2>{{.Title}} <span class="muted">({{.Guide}})</span></h2>
<div class="cards">
<div class="card"><b>{{.Started}}</b>started</div>
<div class="card resolved"><b>{{.Resolved}}</b>resolved {{pct .Resolved .Started}}</div>
<div class="card escalated"><b>{{.Escalated}}</b>escalated {{pct .Escalated .Started}}</div>
<div class="card abandoned"><b>{{.Abandoned}}</b>abandoned {{pct .Abandoned .Started}}</div>
</div>
{{if .Fixes}}<h3>Resolved by</h3><table>{{range .Fixes}}<tr><td>{{.Title}}</td><td><svg width="500" height="18" role="img"><rect width="{{width .Share}}" height="18" rx="3" fill="#2da44e"/></svg></td><td class="n">{{.Count}} · {{printf "%.0f%%" (mulf .Share)}}</td></tr>{{end}}</table>{{end}}
{{if .DropOuts}}<h3>Where people gave up</h3><table>{{range .DropOuts}}<tr><td>{{.Title}}</td><td><svg width="500" height="18" role="img"><rect width="{{width .Share}}" height="18" rx="3" fill="#cf222e"/></svg></td><td class="n">{{.Count}} · {{printf "%.0f%%" (mulf .Share)}}</td></tr>{{end}}</table>{{end}}
</section>
{{end}}
</body></html>
`))

// Handler serves the funnel as a page: /report?since=7d&guide=ID.
func Handler(store bot.Store, runner *flows.Runner) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		since, err := ParseSince(r.URL.Query().Get("since"), time.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if r.URL.Query().Get("since") == "" {
			since = time.Now().AddDate(0, 0, -7)
		}
		fun, err := Funnels(r.Context(), store, runner, since, r.URL.Query().Get("guide"))
		if err != nil {
			http.Error(w, "the store could not be read; try again", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
		if err := reportPage.Execute(w, map[string]any{"Since": since, "Funnels": fun}); err != nil {
			// Headers are gone; all that is left is to stop writing.
			return
		}
	})
}
