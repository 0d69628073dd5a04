package flowscli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"troubleshooter/bot"
	"troubleshooter/flows"
)

// builtinRunner runs the built-in guides only, as `flows test` does from a
// folder without config.yaml.
func builtinRunner(t testing.TB) *flows.Runner {
	t.Helper()
	set, err := flows.LoadSet(nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	r, err := flows.NewRunner(set.Guides, "")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// writeTemp writes data to name in a fresh folder and returns its path.
func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// mustUnchanged fails the test when the file at p no longer holds want.
func mustUnchanged(t *testing.T, p string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s was changed: %d bytes, was %d", p, len(got), len(want))
	}
}

func TestTestRefusesFilesThatAreNotTranscripts(t *testing.T) {
	guide, err := os.ReadFile("../flows/whatsapp-icloud.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, file string
		data       []byte
		want       string
	}{
		// The incident: --update on a guide wrote it back as 0 bytes.
		{"shipped guide", "guide.yaml", guide, "is a guide file (id whatsapp-icloud), not a transcript"},
		{"guide with a .txt name", "guide.txt", guide, "is a guide file (id whatsapp-icloud), not a transcript"},
		{"no inputs", "notes.txt", []byte("# just a comment\nsome text\n"), "has no input lines"},
		{"config file", "config.yaml", []byte("guides:\n  files: [a.yaml]\n"), "has no input lines"},
		{"empty", "empty.txt", nil, "has no input lines"},
	}
	r := builtinRunner(t)
	for _, c := range cases {
		for _, update := range []bool{false, true} {
			t.Run(c.name, func(t *testing.T) {
				p := writeTemp(t, c.file, c.data)
				var out bytes.Buffer
				err := Test(context.Background(), r, bot.EngineConfig{}, []string{p}, update, &out)
				if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
					t.Errorf("update=%v: err = %v, want it to name %s and say %q", update, err, p, c.want)
				}
				mustUnchanged(t, p, c.data)
			})
		}
	}
}

func TestTestFailsWhenTheTranscriptsGuideIsNotLoaded(t *testing.T) {
	// Run from a folder without the config, a transcript of a custom guide
	// was replayed against whatever guide the words matched, rewritten,
	// and exit 0.
	src := []byte("#! guide printer-jams\n> my printer jams\nPrinter guide text.\n= step first\n\n")
	r := builtinRunner(t)
	for _, update := range []bool{false, true} {
		p := writeTemp(t, "printer.txt", src)
		var out bytes.Buffer
		err := Test(context.Background(), r, bot.EngineConfig{}, []string{p}, update, &out)
		want := p + `:1: #! guide printer-jams: no guide "printer-jams" is loaded (loaded: discord-notifications, whatsapp-icloud)`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("update=%v: err = %v, want %q", update, err, want)
		}
		mustUnchanged(t, p, src)
	}
}

func TestUpdateRewritesOnlyTheTranscript(t *testing.T) {
	// A transcript written as inputs only is filled in by --update, and a
	// second run finds it current.
	src := []byte("#! guide whatsapp-icloud\n> hi\n")
	p := writeTemp(t, "new.txt", src)
	r := builtinRunner(t)
	var out bytes.Buffer
	if err := Test(context.Background(), r, bot.EngineConfig{}, []string{p}, true, &out); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), "= step icloud_access") || !strings.HasPrefix(out.String(), "wrote ") {
		t.Errorf("update wrote:\n%s\nsaid: %s", got, out.String())
	}
	out.Reset()
	if err := Test(context.Background(), r, bot.EngineConfig{}, []string{p}, false, &out); err != nil || !strings.HasPrefix(out.String(), "ok ") {
		t.Errorf("replay after update: %v\n%s", err, out.String())
	}
}

// FuzzCheckTranscript: whatever file flows test is given, CheckTranscript
// neither panics nor passes a file --update would empty or that is a guide.
func FuzzCheckTranscript(f *testing.F) {
	for _, p := range []string{"../flows/whatsapp-icloud.yaml", "../flows/testdata/transcripts/wifi-slow.txt", "../testdata/transcripts/cmd-back.txt"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("#! guide\n> hi\n"))
	f.Add([]byte("#! guide nope\r\n> hi\r\n"))
	r := builtinRunner(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if CheckTranscript(r, "f.txt", data) != nil {
			return
		}
		hasInput := false
		for _, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSuffix(line, "\r")
			hasInput = hasInput || line == ">" || strings.HasPrefix(line, "> ")
		}
		if !hasInput {
			t.Errorf("accepted a file without input lines: %q", data)
		}
		if g, err := flows.Parse("f.txt", data); err == nil && g.ID != "" {
			t.Errorf("accepted a guide file: %q", data)
		}
	})
}
