package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"troubleshooter/bot"
	"troubleshooter/flows"
)

// barWidth is a share as a CSS width: at least a sliver, so that a step
// with a few conversations still shows a bar.
func barWidth(f float64) template.CSS {
	if f < 0 {
		f = 0
	}
	if f > 1 {
		f = 1
	}
	if f > 0 && f < 0.005 {
		f = 0.005
	}
	return template.CSS("width:" + strconv.FormatFloat(100*f, 'f', 1, 64) + "%")
}

// reportPage is /report: the report as one page with its own CSS and no
// script or external asset, so that it renders offline and under a strict
// Content-Security-Policy. Bars are divs sized in % of their row, so they
// scale with the screen; the layout is one column that fits a phone.
var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct": pct,
	"bar": barWidth,
	"of":  share,
	"window": func(rep *Report) string {
		return windowText(rep)
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Troubleshooter report</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5rem auto;max-width:60rem;padding:0 1rem;color:#1d2330;background:#fff}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.2rem;margin:2rem 0 .5rem;overflow-wrap:anywhere}h3{font-size:1rem;margin:1.25rem 0 .4rem}
.muted{color:#5b6475}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(7.5rem,1fr));gap:.5rem;margin:.75rem 0}
.card{border:1px solid #d9dde5;border-radius:8px;padding:.4rem .7rem}.card b{display:block;font-size:1.5rem}
.resolved b{color:#1a7f37}.escalated b{color:#9a6700}.stopped b,.expired b{color:#b42318}
.step{margin:.5rem 0}.step .t{overflow-wrap:anywhere}
.track{background:#eef1f5;border-radius:4px;height:14px;width:100%;overflow:hidden}
.reach{background:#8c959f;height:100%;display:flex;border-radius:4px;overflow:hidden}
.fix{background:#2da44e;height:100%}.left{background:#cf222e;height:100%}.ttr{background:#0969da;height:100%;border-radius:4px}
.n{font-size:.85rem;color:#5b6475;font-variant-numeric:tabular-nums}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums;font-size:.85rem}
th,td{padding:.2rem .3rem;text-align:right;border-bottom:1px solid #eef1f5}th{font-weight:600;vertical-align:bottom}td:first-child,th:first-child{text-align:left;white-space:nowrap}
@media (max-width:30rem){body{margin-top:1rem}table{font-size:.72rem}th,td{padding:.2rem .12rem}}
.key span{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;vertical-align:-1px;margin:0 .25rem 0 .6rem}
</style></head><body>
<h1>Troubleshooter report</h1>
<p class="muted">{{window .}} (counted by the hour, UTC).</p>
{{if not .Guides}}<p>No conversations in this window.</p>{{end}}
{{range .Guides}}{{$g := .}}
<section>
<h2>{{.Title}} <span class="muted">({{.Guide}})</span></h2>
<div class="cards">
<div class="card"><b data-m="started">{{.Started}}</b>started</div>
<div class="card"><b data-m="ended">{{.Ended}}</b>ended</div>
<div class="card resolved"><b data-m="resolved">{{.Resolved}}</b>resolved {{pct .Resolved .Ended}}</div>
<div class="card escalated"><b data-m="escalated">{{.Escalated}}</b>handed off {{pct .Escalated .Ended}}</div>
<div class="card stopped"><b data-m="stopped">{{.Stopped}}</b>stopped {{pct .Stopped .Ended}}</div>
<div class="card expired"><b data-m="expired">{{.Expired}}</b>expired {{pct .Expired .Ended}}</div>
<div class="card"><b data-m="restarted">{{.Restarted}}</b>restarted <span class="muted">(not an ending)</span></div>
<div class="card"><b data-m="resumed">{{.Resumed}}</b>resumed <span class="muted">after expiring</span></div>
</div>
{{if .TTR.Resolved}}<h3>Time to resolution <span class="muted">(bucketed)</span></h3>
<p>median <b data-m="median">{{.TTR.Median}}</b>, p90 <b data-m="p90">{{.TTR.P90}}</b>, of <span data-m="ttr-resolved">{{.TTR.Resolved}}</span> resolved</p>
{{range .TTR.Buckets}}<div class="step"><div class="n"><span class="t">{{.Label}}</span>: <span data-m="ttr {{.Label}}">{{.Count}}</span> {{pct .Count $g.TTR.Resolved}}</div><div class="track"><div class="ttr" style="{{bar (of .Count $g.TTR.Resolved)}}"></div></div></div>
{{end}}{{end}}
{{if .Steps}}<h3>Per step</h3>
<p class="n key">Of the conversations that ended: reached the step<span style="background:#8c959f"></span>, of which resolved by it<span style="background:#2da44e"></span> or left there<span style="background:#cf222e"></span>.</p>
{{range .Steps}}<div class="step"><div class="t">{{.Title}}</div>
<div class="track"><div class="reach" style="{{bar .ReachedShare}}"><div class="fix" style="{{bar .FixedShare}}"></div><div class="left" style="{{bar .LeftShare}}"></div></div></div>
<div class="n">reached <span data-m="reached {{.Step}}">{{.Reached}}</span> {{pct .Reached $g.Ended}} · left <span data-m="left {{.Step}}">{{.Left}}</span> {{pct .Left .Reached}} · resolved <span data-m="resolved {{.Step}}">{{.Fixed}}</span> {{pct .Fixed .Reached}} · restarted <span data-m="restarted {{.Step}}">{{.Restarted}}</span></div></div>
{{end}}{{end}}
{{if .Days}}<h3>Per day <span class="muted">(UTC, month-day)</span></h3>
<table><thead><tr><th>day</th><th>started</th><th>re&shy;solved</th><th>handed off</th><th>stopped</th><th>expired</th><th>re&shy;started</th></tr></thead><tbody>
{{range .Days}}<tr><td title="{{.Day}}">{{slice .Day 5}}</td><td data-m="day {{.Day}} started">{{.Started}}</td><td data-m="day {{.Day}} resolved">{{.Resolved}}</td><td data-m="day {{.Day}} escalated">{{.Escalated}}</td><td data-m="day {{.Day}} stopped">{{.Stopped}}</td><td data-m="day {{.Day}} expired">{{.Expired}}</td><td data-m="day {{.Day}} restarted">{{.Restarted}}</td></tr>
{{end}}</tbody></table>{{end}}
</section>
{{end}}
</body></html>
`))

// Handler serves the report: /report?since=7d&guide=ID&format=html. since
// defaults to 7d; format is html (the page), text, json or csv. A bad since
// or format is 400, a guide that is neither loaded nor recorded 404, a
// store that cannot be read 503. It is safe for concurrent use: each
// request reads the store's running counts afresh, except that requests for
// the same window and guide that arrive while one is being read share it.
func Handler(store bot.Store, runner *flows.Runner) http.Handler {
	return handler(store, runner, &coalescer{})
}

// handler is Handler with its coalescer, which tests watch.
func handler(store bot.Store, runner *flows.Runner, shared *coalescer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		sinceText := q.Get("since")
		if sinceText == "" {
			sinceText = "7d"
		}
		since, err := ParseSince(sinceText, time.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		format := q.Get("format")
		if format == "" {
			format = "html"
		}
		if format != "html" {
			if err := CheckFormat(format); err != nil {
				http.Error(w, "format "+strconv.Quote(format)+": want html, text, json or csv", http.StatusBadRequest)
				return
			}
		}
		// Requests in the same hour for the same guide and format read the
		// same buckets and make the same bytes: one serves those that
		// arrive together.
		guide := q.Get("guide")
		key := since.Truncate(time.Hour).UTC().Format(time.RFC3339)
		if since.IsZero() {
			key = "all"
		}
		body, err := shared.do(r.Context(), key+" "+format+" "+guide, func(ctx context.Context) ([]byte, error) {
			rep, err := Build(ctx, store, runner, since, guide)
			if err != nil {
				return nil, err
			}
			// Rendered whole before the status is sent, so that a
			// failure is an error response, not half a page.
			var buf bytes.Buffer
			if format == "html" {
				err = reportPage.Execute(&buf, rep)
			} else {
				err = Write(&buf, rep, format)
			}
			if err != nil {
				return nil, fmt.Errorf("%w: %w", errRender, err)
			}
			return buf.Bytes(), nil
		})
		var none *NoGuideError
		switch {
		case errors.As(err, &none):
			http.Error(w, none.Error(), http.StatusNotFound)
			return
		case errors.Is(err, errRender):
			http.Error(w, "the report could not be rendered", http.StatusInternalServerError)
			return
		case err != nil:
			http.Error(w, "the store could not be read; try again", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", contentTypes[format])
		if format == "html" {
			w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		}
		_, _ = w.Write(body) // the client went away: nothing left to do
	})
}

// errRender marks a report that was read but could not be rendered.
var errRender = errors.New("rendering the report")

// contentTypes are the media types of the formats.
var contentTypes = map[string]string{
	"html": "text/html; charset=utf-8", "text": "text/plain; charset=utf-8",
	"json": "application/json", "csv": "text/csv; charset=utf-8",
}
