package metrics

import (
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"troubleshooter/bot"
)

// dashboardFile is the Grafana dashboard shipped over these metrics.
const dashboardFile = "../../deploy/grafana-dashboard.json"

// exported scrapes m and returns every sample name with its label names.
func exported(t *testing.T, m *Metrics) map[string]map[string]bool {
	t.Helper()
	sample := regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? `)
	label := regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="`)
	out := map[string]map[string]bool{}
	for _, line := range strings.Split(scrape(t, m), "\n") {
		mm := sample.FindStringSubmatch(line)
		if mm == nil || strings.HasPrefix(line, "#") {
			continue
		}
		if out[mm[1]] == nil {
			out[mm[1]] = map[string]bool{}
		}
		for _, l := range label.FindAllStringSubmatch(mm[2], -1) {
			out[mm[1]][l[1]] = true
		}
	}
	return out
}

// exprs collects every "expr" string in the dashboard JSON.
func exprs(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "expr" {
				*out = append(*out, s)
				continue
			}
			exprs(e, out)
		}
	case []any:
		for _, e := range x {
			exprs(e, out)
		}
	}
}

// promqlWords are PromQL's functions, aggregations and keywords: the
// identifiers of an expression that are not metric names.
var promqlWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`sum avg min max count stddev stdvar topk bottomk quantile count_values group
		rate irate increase delta idelta deriv histogram_quantile absent absent_over_time clamp_min clamp_max
		avg_over_time max_over_time min_over_time sum_over_time label_replace label_join vector scalar time
		sort sort_desc round ceil floor abs by without on ignoring group_left group_right and or unless bool offset`) {
		promqlWords[w] = true
	}
}

var (
	stringLit  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	rangeSel   = regexp.MustCompile(`\[[^\]]*\]`)
	grouping   = regexp.MustCompile(`\b(by|without|on|ignoring)\s*\(([^)]*)\)`)
	selector   = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)?\{([^}]*)\}`)
	identifier = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	matcher    = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)`)
)

// queryNames splits a PromQL expression into the metric names it reads,
// the labels its selectors match on (by metric) and the labels it groups
// by.
func queryNames(expr string) (metrics []string, selectorLabels map[string][]string, groupLabels []string) {
	selectorLabels = map[string][]string{}
	e := rangeSel.ReplaceAllString(expr, " ")
	for _, m := range selector.FindAllStringSubmatch(e, -1) {
		for _, l := range matcher.FindAllStringSubmatch(m[2], -1) {
			selectorLabels[m[1]] = append(selectorLabels[m[1]], l[1])
		}
	}
	e = selector.ReplaceAllString(e, "$1 ")
	for _, g := range grouping.FindAllStringSubmatch(e, -1) {
		for _, l := range strings.Split(g[2], ",") {
			if l = strings.TrimSpace(l); l != "" {
				groupLabels = append(groupLabels, l)
			}
		}
	}
	e = grouping.ReplaceAllString(e, " ")
	e = stringLit.ReplaceAllString(e, " ")
	for _, id := range identifier.FindAllString(e, -1) {
		if !promqlWords[id] {
			metrics = append(metrics, id)
		}
	}
	return metrics, selectorLabels, groupLabels
}

func TestQueryNames(t *testing.T) {
	m, sel, by := queryNames(`histogram_quantile(0.99, sum by (le, op) (rate(troubleshooter_store_seconds_bucket{op!="lock"}[5m]))) / on (op) go_goroutines`)
	if strings.Join(m, ",") != "troubleshooter_store_seconds_bucket,go_goroutines" ||
		strings.Join(sel["troubleshooter_store_seconds_bucket"], ",") != "op" || strings.Join(by, ",") != "le,op,op" {
		t.Errorf("metrics %q, selector labels %q, grouping %q", m, sel, by)
	}
}

// TestDashboardQueriesExportedMetrics: every query of the shipped Grafana
// dashboard reads metrics /metrics exports, matches and groups on labels
// they have: a renamed metric or label breaks this test, not a panel
// silently.
func TestDashboardQueriesExportedMetrics(t *testing.T) {
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash map[string]any
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	var all []string
	exprs(dash, &all)
	if len(all) < 10 {
		t.Fatalf("%s has %d queries; expected the dashboard's panels", dashboardFile, len(all))
	}

	// Exercise every metric, so that each labelled family has a series.
	m := New()
	m.SetBuildInfo("v1", "abc", "go1.26")
	m.Init([]string{"slack"}, []string{"g"})
	m.Ended(bot.Outcome{Guide: "g", Kind: bot.OutcomeResolved, Step: "fix"})
	m.Handled("slack", time.Millisecond, 1, true, errors.New("x"))
	m.WatchBackpressure("slack", func() Backpressure { return Backpressure{} })
	have := exported(t, m)

	used := map[string]bool{}
	for _, e := range all {
		names, sel, by := queryNames(e)
		if len(names) == 0 {
			t.Errorf("query %q names no metric", e)
		}
		labels := map[string]bool{"le": true, "instance": true, "job": true}
		for _, n := range names {
			used[n] = true
			if have[n] == nil {
				t.Errorf("query %q reads %s, which /metrics does not export", e, n)
			}
			for l := range have[n] {
				labels[l] = true
			}
		}
		for metric, ls := range sel {
			for _, l := range ls {
				if metric != "" && have[metric] != nil && !have[metric][l] {
					t.Errorf("query %q matches %s on label %q, which it lacks", e, metric, l)
				}
			}
		}
		for _, l := range by {
			if !labels[l] {
				t.Errorf("query %q groups by %q, a label none of its metrics has", e, l)
			}
		}
	}
	// Every metric of ours is on the dashboard (histograms by their buckets).
	for name := range have {
		if !strings.HasPrefix(name, "troubleshooter_") || strings.HasSuffix(name, "_sum") || strings.HasSuffix(name, "_count") {
			continue
		}
		if !used[name] {
			t.Errorf("%s is exported but no dashboard panel shows it", name)
		}
	}
}
