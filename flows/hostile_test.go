package flows

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"troubleshooter/bot"
)

// Hostile guides: files written to take the process down (memory, time)
// must be refused quickly and cheaply, and a text that slips past the
// linter must still render within a bounded size and time.

// hostileBudget is what refusing (or rendering) one hostile input may
// cost at most: generous, since the point is "no OOM, no stall", and the
// machine may be busy.
const (
	hostileTime  = time.Second
	hostileBytes = 50 << 20
)

// measureHostile runs f and returns how long it took and how many bytes it
// allocated.
func measureHostile(f func()) (time.Duration, uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	f()
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	return took, after.TotalAlloc - before.TotalAlloc
}

// hostileHead is a guide's valid opening before a hostile part.
const hostileHead = "id: hostile\nversion: \"1\"\ntitle: Hostile\nstart: a\n"

// rangeGuide is a valid guide whose first step's text is text.
func rangeGuide(text string) string {
	return hostileHead + "steps:\n  - id: a\n    kind: fix\n    text: \"" + text + "\"\n    next: no\n" +
		"  - id: done\n    kind: end\n    outcome: resolved\n    text: Great.\n" +
		"  - id: no\n    kind: end\n    outcome: escalated\n    text: Sorry.\n"
}

// indentedMaps nests n block mappings by indentation alone.
func indentedMaps(n int) string {
	var b strings.Builder
	b.WriteString(hostileHead + "values:\n")
	for i := range n {
		b.WriteString(strings.Repeat(" ", i+1) + "a:\n")
	}
	return b.String()
}

// indentedSeqs nests n block sequences by indentation alone.
func indentedSeqs(n int) string {
	var b strings.Builder
	b.WriteString(hostileHead + "steps:\n")
	for i := range n {
		b.WriteString(strings.Repeat(" ", 2*i) + "-\n")
	}
	return b.String()
}

// dashStairs indents n lines of ten "- " each further than the last.
func dashStairs(n int) string {
	var b strings.Builder
	b.WriteString(hostileHead + "steps:\n")
	for i := range n {
		b.WriteString(strings.Repeat(" ", 20*i) + strings.Repeat("- ", 10) + "\n")
	}
	return b.String()
}

// hostileGuides are the hostile guide files, by name; each must be refused
// by Parse or Compile with a message containing want.
var hostileGuides = []struct {
	name, src, want string
}{
	{"dash run 40 KB", hostileHead + "steps:\n" + strings.Repeat("- ", 20_000) + "x\n", "hostile.yaml:6: lists and maps nested 20001 deep; at most 32 levels are allowed"},
	{"dash run 300 KB", hostileHead + "steps:\n" + strings.Repeat("- ", 150_000) + "x\n", "nested 150001 deep; at most 32 levels"},
	{"dash run with anchors", hostileHead + "steps:\n" + strings.Repeat("- &a ", 1000) + "x\n", "nested 1001 deep"},
	{"indented maps", indentedMaps(600), "hostile.yaml:605: lists and maps nested 601 deep"},
	{"indented sequences", indentedSeqs(600), "hostile.yaml:605: lists and maps nested 1200 deep"},
	{"dash runs under indentation", dashStairs(20), "nested"},
	{"brackets", hostileHead + "steps: " + strings.Repeat("[", 100_000) + "\n", "hostile.yaml:5: brackets nested 100000 deep"},
	{"alias bomb", hostileHead + "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nsteps: [*c,*c]\n", "aliases"},
	{"range 300000000", rangeGuide("{{range 300000000}}x{{end}}"), `text: {{range}} is not allowed`},
	{"range 2000000000", rangeGuide("{{range 2000000000}}{{end}}"), `text: {{range}} is not allowed`},
	{"range over an answer", rangeGuide("{{range $i, $c := .x}}{{$c}}{{end}}"), `{{range}} is not allowed`},
	{"recursive template", rangeGuide(`{{define \"a\"}}{{template \"a\" .}}{{template \"a\" .}}{{end}}{{template \"a\" .}}`), `{{define}}, {{template}} and {{block}} are not allowed`},
	{"printf width", rangeGuide(`{{printf \"%999999999d\" 1}}`), `printf`},
}

// TestHostileGuidesAreRefusedCheaply feeds each hostile guide to Parse and
// Compile (what `flows check`, start-up and hot reload all do): each is
// refused with a message naming the line, in < 1 s and < 50 MB.
func TestHostileGuidesAreRefusedCheaply(t *testing.T) {
	for _, h := range hostileGuides {
		t.Run(h.name, func(t *testing.T) {
			var err error
			took, alloc := measureHostile(func() {
				var g *Guide
				if g, err = Parse("hostile.yaml", []byte(h.src)); err == nil {
					_, err = Compile(g, nil)
				}
			})
			t.Logf("%d bytes refused in %v, %.1f MB allocated: %.120v", len(h.src), took, float64(alloc)/(1<<20), err)
			if err == nil || !strings.Contains(err.Error(), h.want) {
				t.Errorf("err = %.300v, want it to contain %q", err, h.want)
			}
			if took > hostileTime || alloc > hostileBytes {
				t.Errorf("refusing took %v and %d MB; the bound is %v and %d MB", took, alloc>>20, hostileTime, hostileBytes>>20)
			}
		})
	}
}

// TestDepthGuardLetsRealGuidesThrough: the built-in guides and ordinary
// YAML (block texts with lists, nested values) pass the nesting guard.
func TestDepthGuardLetsRealGuidesThrough(t *testing.T) {
	for _, src := range []string{
		"a:\n  b:\n    c:\n      - - - x\n",
		"text: |\n" + strings.Repeat("  ", 40) + "  - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -\n" + "b: 1\n",
		"text: >-\n" + func() string {
			var b strings.Builder
			for i := range 100 {
				b.WriteString(strings.Repeat(" ", i+1) + "deep prose\n")
			}
			return b.String()
		}(),
		"# " + strings.Repeat("- ", 100) + "\na: 1\n",
		strings.Repeat("- ", 31) + "x\n",
	} {
		if line, depth := blockDepth([]byte(src)); depth > maxDepth {
			t.Errorf("%.60q: nested %d deep at line %d", src, depth, line)
		}
	}
	for _, name := range []string{"whatsapp-icloud.yaml", "discord-notifications.yaml"} {
		data, err := builtin.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		line, depth := blockDepth(data)
		t.Logf("%s: deepest %d at line %d", name, depth, line)
		if depth > 8 {
			t.Errorf("%s nests %d deep at line %d", name, depth, line)
		}
	}
}

// TestRenderIsBounded renders texts that would slip past the linter (the
// template is built directly): output stops at maxRenderBytes and time at
// maxRenderTime, and the person gets the text with its actions removed.
func TestRenderIsBounded(t *testing.T) {
	g := &Compiled{values: map[string]string{}, vars: map[string]string{}}
	for _, c := range []struct{ name, text, want string }{
		{"range 20000000 x", "Before {{range 20000000}}x{{end}} after.", "Before x after."},
		{"range 2000000000 empty", "Before {{range 2000000000}}{{end}} after.", "Before  after."},
		{"nested empty ranges", "Before {{range 100000}}{{range 100000}}{{end}}{{end}} after.", "Before  after."},
		{"printf width", `Before {{printf "%999999999d" 1}} after.`, "Before  after."},
		{"printf width from a variable", `Before {{$f := "%.999999999f"}}{{printf $f 1.0}} after.`, "Before  after."},
	} {
		t.Run(c.name, func(t *testing.T) {
			tmpl, err := newTextTemplate("t", c.text)
			if err != nil {
				t.Fatal(err)
			}
			var out string
			took, alloc := measureHostile(func() { out = g.render(c.text, tmpl, &bot.Session{}) })
			t.Logf("rendered in %v, %.1f MB allocated, %d bytes", took, float64(alloc)/(1<<20), len(out))
			if out != c.want {
				t.Errorf("render = %.80q, want the text without its actions", out)
			}
			if took > hostileTime || alloc > hostileBytes {
				t.Errorf("rendering took %v and %d MB; the bound is %v and %d MB", took, alloc>>20, hostileTime, hostileBytes>>20)
			}
		})
	}
	// An ordinary text is untouched by the guards.
	tmpl, err := newTextTemplate("t", "A {{if true}}B{{end}} {{printf \"%05.1f\" 3.14159}}")
	if err != nil {
		t.Fatal(err)
	}
	if out := g.render("", tmpl, &bot.Session{}); out != "A B 003.1" {
		t.Errorf("render = %q", out)
	}
}

// FuzzDepthGuard checks the nesting guard's estimate against the parser:
// for any input the guard lets through, the lists and maps the YAML parser
// builds are nested no deeper than the estimate allows, so the guard can't
// be talked past. Seeds: the hostile files (cut short) and the guides.
func FuzzDepthGuard(f *testing.F) {
	for _, h := range hostileGuides {
		f.Add([]byte(h.src[:min(len(h.src), 400)]))
	}
	for _, name := range []string{"whatsapp-icloud.yaml", "discord-notifications.yaml"} {
		data, err := builtin.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("a: |\n  - - -\nb:\n - - [x]\n"))
	f.Add([]byte("? - a\n: - b\n"))
	f.Add([]byte("--- - - x\n"))
	f.Add([]byte("!0 - - - - - 00")) // a tag before dashes: they still nest
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return
		}
		_, block := blockDepth(data)
		_, flow := flowDepth(data)
		if block > maxDepth || flow > maxDepth {
			return
		}
		file, err := parser.ParseBytes(data, 0)
		if err != nil {
			return
		}
		real := 0
		for _, doc := range file.Docs {
			real = max(real, collectionDepth(doc.Body))
		}
		if real > 2*(block+flow)+2 {
			t.Errorf("the guard estimates %d block + %d flow levels, the parser nests %d", block, flow, real)
		}
	})
}

// collectionDepth is how deeply lists and maps nest under n.
func collectionDepth(n ast.Node) int {
	if n == nil {
		return 0
	}
	switch x := n.(type) {
	case *ast.MappingNode:
		d := 0
		for _, v := range x.Values {
			d = max(d, collectionDepth(v))
		}
		return d
	case *ast.MappingValueNode:
		return 1 + max(collectionDepth(x.Key), collectionDepth(x.Value))
	case *ast.SequenceNode:
		d := 0
		for _, v := range x.Values {
			d = max(d, collectionDepth(v))
		}
		return 1 + d
	case *ast.AnchorNode:
		return collectionDepth(x.Value)
	case *ast.TagNode:
		return collectionDepth(x.Value)
	case *ast.MappingKeyNode:
		return collectionDepth(x.Value)
	}
	return 0
}
