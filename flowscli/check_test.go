package flowscli

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"troubleshooter/flows"
)

// tinyGuide is a complete guide with the given id.
func tinyGuide(id string) []byte {
	return []byte("id: " + id + `
version: "1"
title: Tiny
start: try
steps:
  - id: try
    kind: fix
    text: Turn it off and on again.
    next: help
  - id: done
    kind: end
    outcome: resolved
    text: Good.
  - id: help
    kind: end
    outcome: escalated
    text: Someone will help.
`)
}

func TestCheckFilesReportsAClashWithABuiltinGuide(t *testing.T) {
	// Loading this file beside the built-in guides fails; checking it
	// alone must say so rather than print "ok".
	p := writeTemp(t, "mine.yaml", tinyGuide("whatsapp-icloud"))
	var out, errOut bytes.Buffer
	err := CheckFiles([]string{p}, false, &out, &errOut)
	want := p + `:1: guide id "whatsapp-icloud" is already used by the built-in guide flows/whatsapp-icloud.yaml; give this guide another id (or set guides.skip_builtin in config.yaml)`
	if err == nil || !strings.Contains(errOut.String(), want) {
		t.Errorf("err = %v, stderr:\n%s\nwant %q", err, errOut.String(), want)
	}
	if out.Len() != 0 {
		t.Errorf("stdout = %q, want nothing", out.String())
	}

	// With the built-in guides skipped, as the config says, it is fine.
	out.Reset()
	errOut.Reset()
	if err := CheckFiles([]string{p}, true, &out, &errOut); err != nil {
		t.Fatalf("skip builtin: %v\n%s", err, errOut.String())
	}

	// A guide of its own id lists itself only, not the built-in guides.
	q := writeTemp(t, "other.yaml", tinyGuide("tiny"))
	out.Reset()
	if err := CheckFiles([]string{q}, false, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	if got := out.String(); got != "ok  tiny version 1 ("+q+"): 3 steps\n" {
		t.Errorf("stdout = %q", got)
	}
}

func TestGuideArgTakesAnIDOrAFile(t *testing.T) {
	r := builtinRunner(t)
	load := func() (*flows.Runner, error) { return r, nil }
	p := writeTemp(t, "tiny.yaml", tinyGuide("tiny"))

	cases := []struct {
		arg, wantID, wantErr string
	}{
		{"whatsapp-icloud", "whatsapp-icloud", ""},
		{p, "tiny", ""},
		{"nope", "", `no guide "nope" is loaded (loaded: discord-notifications, whatsapp-icloud)`},
		{"missing.yaml", "", "guide file: stat missing.yaml"},
	}
	for _, c := range cases {
		t.Run(c.arg, func(t *testing.T) {
			g, err := GuideFor(c.arg, load)
			switch {
			case c.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Errorf("err = %v, want %q", err, c.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case g.Guide.ID != c.wantID:
				t.Errorf("guide %q, want %q", g.Guide.ID, c.wantID)
			}
		})
	}

	// A file is read without loading the configured guides: a broken
	// config does not stand in the way of drawing one file.
	broken := func() (*flows.Runner, error) { return nil, errors.New("config is broken") }
	if _, err := GuideFor(p, broken); err != nil {
		t.Errorf("file with a broken config: %v", err)
	}
	// A file with problems reports them, with the file and line.
	bad := writeTemp(t, "bad.yaml", []byte(strings.Replace(string(tinyGuide("tiny")), "next: help", "next: nowhere", 1)))
	if _, err := GuideFor(bad, load); err == nil || !strings.Contains(err.Error(), bad+`:6: step "try": next: unknown target step "nowhere"`) {
		t.Errorf("broken file: %v", err)
	}
	var out bytes.Buffer
	g, err := GuideFor(p, load)
	if err != nil {
		t.Fatal(err)
	}
	if err := Graph(g, flows.FormatMermaid, &out); err != nil || !strings.Contains(out.String(), "try") {
		t.Errorf("graph of a file: %v\n%s", err, out.String())
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
}
