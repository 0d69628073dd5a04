package flows

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// readSchema returns guide.schema.json decoded as plain JSON values.
func readSchema(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile("guide.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("guide.schema.json: %v", err)
	}
	return s
}

// compileSchema compiles guide.schema.json with a JSON Schema validator.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(mustRead(t, "guide.schema.json")))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("guide.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("guide.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// validateYAML validates a guide file's YAML against the schema, as an
// editor's YAML language server does.
func validateYAML(t *testing.T, sch *jsonschema.Schema, data []byte) error {
	t.Helper()
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	return sch.Validate(doc)
}

// TestSchemaMatchesTheTypes walks the schema and the Go types together:
// every yaml key of Guide, Step, Choice, Wording and a value's mapping is
// in the schema with the right type, and the schema names no key the
// types lack, so the two cannot drift apart.
func TestSchemaMatchesTheTypes(t *testing.T) {
	root := readSchema(t)
	// Draft 7: the newest the YAML language server (VS Code YAML) reads.
	if root["$schema"] != "http://json-schema.org/draft-07/schema#" {
		t.Errorf("$schema = %v, want draft 7", root["$schema"])
	}
	defs, _ := root["definitions"].(map[string]any)
	resolve := func(s map[string]any) map[string]any {
		for {
			ref, ok := s["$ref"].(string)
			if !ok {
				return s
			}
			name, found := strings.CutPrefix(ref, "#/definitions/")
			next, ok := defs[name].(map[string]any)
			if !found || !ok {
				t.Fatalf("unresolvable $ref %q", ref)
			}
			s = next
		}
	}
	var walk func(where string, typ reflect.Type, s map[string]any)
	walk = func(where string, typ reflect.Type, s map[string]any) {
		s = resolve(s)
		for typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		switch {
		case typ == typeValue:
			// A value is a scalar or a mapping of valueForm's keys.
			var form map[string]any
			for _, alt := range s["oneOf"].([]any) {
				if m := alt.(map[string]any); m["type"] == "object" {
					form = m
				}
			}
			if form == nil {
				t.Fatalf("%s: the value schema has no mapping form", where)
			}
			walk(where, typeValueForm, form)
		case typ.Kind() == reflect.Struct:
			if s["type"] != "object" || s["additionalProperties"] != false {
				t.Errorf("%s: schema is not a closed object (type object, additionalProperties false)", where)
			}
			props, _ := s["properties"].(map[string]any)
			fields := yamlFields(typ)
			var names []string
			for _, f := range fields {
				names = append(names, f.name)
				p, ok := props[f.name].(map[string]any)
				if !ok {
					t.Errorf("%s: key %q (%s.%s) is missing from the schema", where, f.name, typ.Name(), f.name)
					continue
				}
				if p["description"] == nil && p["$ref"] == nil {
					t.Errorf("%s.%s: no description (editors show it as the key's help)", where, f.name)
				}
				walk(where+"."+f.name, f.typ, p)
			}
			for _, k := range slices.Sorted(maps.Keys(props)) {
				if !slices.Contains(names, k) {
					t.Errorf("%s: the schema names key %q, which %s does not have", where, k, typ.Name())
				}
			}
		case typ.Kind() == reflect.Slice:
			items, ok := s["items"].(map[string]any)
			if s["type"] != "array" || !ok {
				t.Errorf("%s: schema is not an array with items", where)
				return
			}
			walk(where+"[]", typ.Elem(), items)
		case typ.Kind() == reflect.Map:
			add, ok := s["additionalProperties"].(map[string]any)
			if s["type"] != "object" || !ok {
				t.Errorf("%s: schema is not an object of additionalProperties", where)
				return
			}
			walk(where+"{}", typ.Elem(), add)
		case typ.Kind() == reflect.String:
			if s["type"] != "string" && s["enum"] == nil {
				t.Errorf("%s: schema type %v, want string or an enum", where, s["type"])
			}
		case typ.Kind() == reflect.Float64:
			if s["type"] != "number" {
				t.Errorf("%s: schema type %v, want number", where, s["type"])
			}
		default:
			t.Errorf("%s: no rule for Go type %s", where, typ)
		}
	}
	walk("guide", reflect.TypeFor[Guide](), root)

	// The closed lists and the id patterns are the compiler's.
	step := resolve(defs["step"].(map[string]any))["properties"].(map[string]any)
	choice := resolve(defs["choice"].(map[string]any))["properties"].(map[string]any)
	for _, c := range []struct {
		where string
		got   any
		want  []string
	}{
		{"step.kind", step["kind"].(map[string]any)["enum"], []string{KindAsk, KindInput, KindCheck, KindFix, KindEnd}},
		{"step.input", step["input"].(map[string]any)["enum"], []string{InputSize, InputVersion, InputNumber, InputText}},
		{"step.outcome", step["outcome"].(map[string]any)["enum"], []string{"resolved", "escalated"}},
		{"choice.means", choice["means"].(map[string]any)["enum"], []string{"yes", "no"}},
	} {
		var got []string
		for _, v := range c.got.([]any) {
			got = append(got, v.(string))
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s enum = %v, want %v", c.where, got, c.want)
		}
	}
	for _, c := range []struct {
		where string
		got   any
		want  string
	}{
		{"guide.id", root["properties"].(map[string]any)["id"].(map[string]any)["pattern"], guideIDPattern.String()},
		{"step.id", step["id"].(map[string]any)["pattern"], idPattern.String()},
		{"choice.id", choice["id"].(map[string]any)["pattern"], idPattern.String()},
	} {
		if c.got != c.want {
			t.Errorf("%s pattern = %v, want the compiler's %s", c.where, c.got, c.want)
		}
	}
}

// TestShippedGuidesValidateAgainstTheSchema: what an editor would say of
// the built-in guides and the worked example is "valid"; and broken guides
// are not, so the schema is not vacuous.
func TestShippedGuidesValidateAgainstTheSchema(t *testing.T) {
	sch := compileSchema(t)
	files, _ := filepath.Glob("*.yaml")
	examples, _ := filepath.Glob("testdata/guides/*.yaml")
	files = append(files, examples...)
	if len(files) < 3 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		if err := validateYAML(t, sch, []byte(mustRead(t, f))); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	good := mustRead(t, "whatsapp-icloud.yaml")
	for name, bad := range map[string]string{
		"misspelt step key":  strings.Replace(good, "    kind: ask\n", "    kind: ask\n    choises: []\n", 1),
		"misspelt guide key": strings.Replace(good, "start:", "strat:", 1),
		"unknown kind":       strings.Replace(good, "kind: fix", "kind: fixit", 1),
		"bad outcome":        strings.Replace(good, "outcome: resolved", "outcome: done", 1),
		"upper-case step id": strings.Replace(good, "id: icloud_access", "id: iCloud", 1),
		"value of two kinds": strings.Replace(good, `{version: "26.1"}`, `{version: "26.1", number: 3}`, 1),
		"fix without next":   strings.Replace(good, "    next: symptom\n\n  - id: fix_icloud_signin", "\n  - id: fix_icloud_signin", 1),
	} {
		if bad == good {
			t.Fatalf("%s: the replacement did not apply", name)
		}
		if err := validateYAML(t, sch, []byte(bad)); err == nil {
			t.Errorf("%s: the schema accepts it", name)
		}
	}
}
