package flowscli

import (
	"bytes"
	"context"
	"os"
	"reflect"
	"strings"
	"testing"

	"troubleshooter/bot"
	"troubleshooter/flows"
)

// The worked example of docs/GUIDES.md, as files the tests run.
const (
	exampleGuide      = "../flows/testdata/guides/wifi-slow.yaml"
	exampleTranscript = "../flows/testdata/transcripts/wifi-slow.txt"
	guidesDoc         = "../docs/GUIDES.md"
)

// TestWorkedExample: the guide docs/GUIDES.md builds step by step is
// real. It loads beside the built-in guides, passes flows check, its
// transcript replays unchanged, and the doc shows both files exactly as
// they are, so the doc cannot drift from what runs.
func TestWorkedExample(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := CheckFiles([]string{exampleGuide}, false, &out, &errOut); err != nil {
		t.Fatalf("flows check: %v\n%s", err, errOut.String())
	}
	set, err := flows.LoadSet([]string{exampleGuide}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	r, err := flows.NewRunner(set.Guides, "")
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := Test(context.Background(), r, bot.EngineConfig{}, []string{exampleTranscript}, false, &out); err != nil {
		t.Fatalf("flows test: %v\n%s", err, out.String())
	}
	// Step 6 of the example: the transcript as written, inputs only.
	// --update turns it into the transcript of step 7.
	full, err := os.ReadFile(exampleTranscript)
	if err != nil {
		t.Fatal(err)
	}
	inputs := inputsOnly(string(full))
	got, err := Replay(context.Background(), r, bot.EngineConfig{}, "inputs.txt", []byte(inputs))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(full) {
		t.Errorf("the inputs of step 6 replay differently from the transcript:\n%s", FirstDifference(full, got))
	}
	doc := readDoc(t)
	if !strings.Contains(doc, "```\n"+inputs+"```") {
		t.Errorf("docs/GUIDES.md does not show the transcript's inputs as step 6:\n%s", inputs)
	}
	for _, f := range []string{exampleGuide, exampleTranscript} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(doc, string(data)) {
			t.Errorf("docs/GUIDES.md does not show %s as it is; paste the file into its code block again", f)
		}
	}
}

// TestGuidesDocNamesEveryKey: every key a guide file may hold, every kind,
// function and transcript directive is described in docs/GUIDES.md. The
// keys come from the Go types, so a new key fails here until documented.
func TestGuidesDocNamesEveryKey(t *testing.T) {
	doc := readDoc(t)
	var want []string
	for _, typ := range []reflect.Type{reflect.TypeFor[flows.Guide](), reflect.TypeFor[flows.Step](), reflect.TypeFor[flows.Choice](), reflect.TypeFor[flows.Wording]()} {
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name != "" && name != "-" {
				want = append(want, "`"+name+"`")
			}
		}
	}
	want = append(want,
		// value kinds, step kinds, input kinds, outcomes
		"`{version: ", "`{number: ", "`{text: ", "`prefix`",
		"`"+flows.KindAsk+"`", "`"+flows.KindInput+"`", "`"+flows.KindCheck+"`", "`"+flows.KindFix+"`", "`"+flows.KindEnd+"`",
		"`"+flows.InputSize+"`", "`"+flows.InputVersion+"`", "`"+flows.InputNumber+"`", "`"+flows.InputText+"`",
		"`resolved`", "`escalated`",
		// functions in conditions and texts, and the summary
		"`older(", "`newer(", "{{if older ", "`printf`", "{{.summary}}", ".Twice}}",
		// tools and transcripts
		"flows check", "flows test", "flows paths", "flows graph", "--update",
		"`#! user", "`#! guide", "`#! restart`", "`#! advance",
		"yaml-language-server: $schema=", "guide.schema.json", "VS Code", "JetBrains",
		"flows/intent",
	)
	for _, w := range want {
		if !strings.Contains(doc, w) {
			t.Errorf("docs/GUIDES.md does not mention %s", w)
		}
	}
}

func readDoc(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(guidesDoc)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// inputsOnly keeps what an author writes of a transcript: directives,
// comments and inputs, with a blank line before each change of user.
func inputsOnly(transcript string) string {
	var b strings.Builder
	for _, line := range strings.Split(transcript, "\n") {
		if !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, ">") {
			continue
		}
		if strings.HasPrefix(line, "#! user") {
			b.WriteString("\n")
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}
