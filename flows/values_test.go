package flows

import (
	"strings"
	"testing"

	"troubleshooter/flows/answer"
)

// guideWithValues is a minimal guide whose values block is values.
func guideWithValues(values string) string {
	return `id: v
version: "1"
start: q
values:
` + values + `
steps:
  - id: q
    kind: input
    input: version
    text: Which version?
    prefix: "2"
    next: c
  - id: c
    kind: check
    if: not older(q, current) and limit > 1
    then: done
    else: done
  - id: done
    kind: end
    outcome: resolved
    text: Done.
`
}

func TestTypedValues(t *testing.T) {
	cases := []struct {
		name, values string
		overrides    map[string]string
		want         map[string]string // the values as texts after compiling
		typed        map[string]any
		problem      string
	}{
		{"scalars and a version", "  current: {version: \"2.25.33.75\", prefix: \"2\"}\n  limit: 3\n  note: hello", nil,
			map[string]string{"current": "2.25.33.75", "limit": "3", "note": "hello"}, map[string]any{"limit": 3.0, "current": "2.25.33.75"}, ""},
		{"the short form gets the prefix", "  current: {version: \"25.33.75\", prefix: \"2\"}\n  limit: 3", nil,
			map[string]string{"current": "2.25.33.75"}, nil, ""},
		{"config overrides in either form", "  current: {version: \"2.25.33.75\", prefix: \"2\"}\n  limit: {number: 2.5}", map[string]string{"current": "25.40.1", "limit": "7"},
			map[string]string{"current": "2.25.40.1", "limit": "7"}, map[string]any{"limit": 7.0}, ""},
		{"a bad version override is named", "  current: {version: \"26.1\"}\n  limit: 3", map[string]string{"current": "latest"},
			nil, nil, `value current (set in config.yaml): "latest" is not one version number`},
		{"a bad number override is named", "  current: {version: \"26.1\"}\n  limit: 3", map[string]string{"limit": "three"},
			nil, nil, `value limit (set in config.yaml): "three" is not a number`},
		{"two kinds in one mapping", "  current: {version: \"26.1\", number: 3}\n  limit: 3", nil,
			nil, nil, "exactly one of version:, number: or text:"},
		{"prefix on a number", "  current: {version: \"26.1\"}\n  limit: {number: 3, prefix: \"2\"}", nil,
			nil, nil, "prefix: applies to versions only"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, err := Parse("v.yaml", []byte(guideWithValues(c.values)))
			var comp *Compiled
			if err == nil {
				comp, err = Compile(g, c.overrides)
			}
			if c.problem != "" {
				if err == nil || !strings.Contains(err.Error(), c.problem) {
					t.Fatalf("error %v, want one saying %q", err, c.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range c.want {
				if comp.values[k] != v {
					t.Errorf("value %s = %q, want %q", k, comp.values[k], v)
				}
			}
			for k, v := range c.typed {
				if comp.typed[k] != v {
					t.Errorf("typed %s = %#v, want %#v", k, comp.typed[k], v)
				}
			}
		})
	}
}

func TestWithPrefix(t *testing.T) {
	for _, c := range []struct{ v, prefix, want string }{
		{"25.33.75", "2", "2.25.33.75"},
		{"2.25.33.75", "2", "2.25.33.75"},
		{"2", "2", "2"},
		{"26.1", "", "26.1"},
		{"", "2", ""},
		{"20.1", "2", "2.20.1"},
	} {
		if got := answer.WithPrefix(c.v, c.prefix); got != c.want {
			t.Errorf("WithPrefix(%q, %q) = %q, want %q", c.v, c.prefix, got, c.want)
		}
	}
	// Both forms compare equal once prefixed, as the guide's check sees them.
	a, b := answer.WithPrefix("25.33.75", "2"), answer.WithPrefix("2.25.33.75", "2")
	if cmp, err := answer.CompareVersions(a, b); err != nil || cmp != 0 {
		t.Errorf("25.33.75 and 2.25.33.75 compare %d, %v; want equal", cmp, err)
	}
}

func TestLoadFileRefusesWhatIsNotAGuideFile(t *testing.T) {
	for _, file := range []string{"/dev/zero", t.TempDir()} {
		if _, err := LoadFile(file); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("LoadFile(%s) = %v; want refused as not a regular file", file, err)
		}
	}
}

// Issue 16 item 5: a size is echoed once, in the person's own unit where
// that is exact.
func TestSizeEchoedAsTyped(t *testing.T) {
	for typed, want := range map[string]string{
		"3400 MB":     "3400 MB",
		"3400mb":      "3400 MB",
		"3.2 GB":      "3.2 GB",
		"3,2 GB":      "3.2 GB",
		"about 1.5GB": "1.5 GB",
		"2 TB":        "2 TB",
		"800 megs":    "800 MB",
		"5 gigs":      "5 GB",
		"1 terabytes": "1 TB",
	} {
		b, err := answer.Size(typed)
		if err != nil {
			t.Errorf("%q: %v", typed, err)
			continue
		}
		if got := sizeAsTyped(typed, b); got != want {
			t.Errorf("%q echoed as %q, want %q", typed, got, want)
		}
	}
	// No unit word, or an amount the unit can't show exactly: the form
	// Settings shows.
	for _, typed := range []string{"3.2G", "0.0000001 GB"} {
		b, err := answer.Size(typed)
		if err != nil {
			t.Fatalf("%q: %v", typed, err)
		}
		if got := sizeAsTyped(typed, b); got != answer.FormatSize(b) {
			t.Errorf("%q echoed as %q, want %q", typed, got, answer.FormatSize(b))
		}
	}
}
