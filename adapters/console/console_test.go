package console

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"troubleshooter/bot"
)

func TestParseJSONInput(t *testing.T) {
	cases := []struct {
		line, text, choice, err, id string
	}{
		// Strict reading: exact keys, once each, nothing after the object.
		{line: `{"choice":"on"}}`, err: `unexpected "}" after the object`},
		{line: `{"text":"x"} junk`, err: "invalid JSON"},
		{line: `{"text":"x"}[]`, err: "more than one JSON value"},
		{line: `{"TEXT":"x"}`, err: `unknown key "TEXT"`},
		{line: `{"Choice":"on"}`, err: `unknown key "Choice"`},
		{line: `{"text":"a","text":"b"}`, err: `key "text" given twice`},
		{line: `{"choice":"a","id":"1","choice":"b"}`, err: `key "choice" given twice`},
		{line: `{"text":null}`, err: `"text" must be a string`},
		{line: `{"text":"x","id":7}`, err: `"id" must be a string`},
		{line: `{"text":"x","id":""}`, err: `"id" is empty`},
		{line: `{"text":"x","id":"` + strings.Repeat("i", 201) + `"}`, err: `"id" is longer than 200 bytes`},
		{line: `{"text":"x","id":"run-1/7"}`, text: "x", id: "json:run-1/7"},
		{line: `{"id":"8","choice":"on"}`, choice: "on", id: "json:8"},
		{line: "{\"text\":\"x\"}\t ", text: "x"},
		{line: `{"text":"\u0041\u00e9"}`, text: "Aé"},
		{line: "plain words", text: "plain words"},
		{line: "", text: ""},
		{line: `{"text": "3 GB"}`, text: "3 GB"},
		{line: `  {"choice": "on"}  `, choice: "on"},
		{line: `{"text": ""}`, text: ""},
		{line: `{"choice": ""}`, err: `"choice" is empty`},
		{line: `{"text": "a", "choice": "b"}`, err: "not both"},
		{line: `{}`, err: "neither"},
		{line: `{"other": 1}`, err: `unknown key "other"`},
		{line: `{"text": 3}`, err: `"text" must be a string`},
		{line: `{"text": "a"} {"text": "b"}`, err: "more than one JSON value"},
		{line: `{not json`, err: "invalid JSON"},
	}
	for _, c := range cases {
		var m bot.Message
		err := parseJSONInput(c.line, &m)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want %q", c.line, err, c.err)
			}
		case err != nil:
			t.Errorf("%q: %v", c.line, err)
		case m.Text != c.text || m.Choice != c.choice || m.ID != c.id:
			t.Errorf("%q: text %q choice %q id %q, want %q %q %q", c.line, m.Text, m.Choice, m.ID, c.text, c.choice, c.id)
		}
	}
}

func FuzzParseJSONInput(f *testing.F) {
	for _, s := range []string{"hi", `{"text":"x"}`, `{"choice":"on"}`, `{"text":null}`, `{"text":"\u0000"}`, "{", `{"choice":"a","text":"b"}`,
		`{"choice":"on"}}`, `{"TEXT":"x"}`, `{"text":"a","text":"b"}`, `{"text":"x","id":"1"}`, `{"id":"1","id":"1","choice":"c"}`, `{"text":"x"} `, `{"t\u0065xt":"x"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var m bot.Message
		if err := parseJSONInput(line, &m); err != nil {
			return
		}
		if m.Text != "" && m.Choice != "" {
			t.Fatalf("both text and choice from %q", line)
		}
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "{") {
			// What was accepted is one object whose keys are exactly
			// text, choice or id, each once, and nothing after it.
			var keys map[string]json.RawMessage
			if err := json.Unmarshal([]byte(trimmed), &keys); err != nil {
				t.Fatalf("accepted %q, which is not one JSON object: %v", line, err)
			}
			for k := range keys {
				if k != "text" && k != "choice" && k != "id" {
					t.Fatalf("accepted %q with key %q", line, k)
				}
			}
			if !json.Valid([]byte(trimmed)) {
				t.Fatalf("accepted invalid JSON %q", line)
			}
			if (m.ID == "") != (keys["id"] == nil) || (m.ID != "" && !strings.HasPrefix(m.ID, "json:")) {
				t.Fatalf("%q gave message id %q", line, m.ID)
			}
		} else if m.ID != "" {
			t.Fatalf("plain line %q gave message id %q", line, m.ID)
		}
		if !strings.HasPrefix(strings.TrimSpace(line), "{") && m.Text != line {
			t.Fatalf("plain line %q became %q", line, m.Text)
		}
	})
}

func TestRenderMarkdown(t *testing.T) {
	cases := []struct {
		in        string
		ansi      bool
		want      string
		wantPlain string
	}{
		{in: "**Settings** → iCloud", want: "\x1b[1mSettings\x1b[0m → iCloud", wantPlain: "Settings → iCloud"},
		{in: "say *back*", want: "say back", wantPlain: "say back"},
		{in: "open **bold", want: "open \x1b[1mbold\x1b[0m", wantPlain: "open bold"},
		{in: "evil\x1b[2Jclear\x07bell", want: "evil[2Jclearbell", wantPlain: "evil[2Jclearbell"},
		{in: "line\nnext\ttab", want: "line\nnext\ttab", wantPlain: "line\nnext\ttab"},
		{in: "see [Apple's status page](https://www.apple.com/support/systemstatus/).", want: "see Apple's status page (https://www.apple.com/support/systemstatus/).", wantPlain: "see Apple's status page (https://www.apple.com/support/systemstatus/)."},
		{in: "[not a link](javascript:x) and [a] (b) and [x](https://a b)", want: "[not a link](javascript:x) and [a] (b) and [x](https://a b)", wantPlain: "[not a link](javascript:x) and [a] (b) and [x](https://a b)"},
		{in: "[unclosed](https://x", want: "[unclosed](https://x", wantPlain: "[unclosed](https://x"},
	}
	for _, c := range cases {
		if got := RenderMarkdown(c.in, true); got != c.want {
			t.Errorf("ansi %q = %q, want %q", c.in, got, c.want)
		}
		if got := RenderMarkdown(c.in, false); got != c.wantPlain {
			t.Errorf("plain %q = %q, want %q", c.in, got, c.wantPlain)
		}
	}
}

func FuzzRenderMarkdown(f *testing.F) {
	f.Add("**a** *b* \x1b[31m")
	f.Fuzz(func(t *testing.T, s string) {
		out := RenderMarkdown(s, false)
		if strings.ContainsAny(out, "\x1b\x07\x00*") {
			t.Fatalf("%q rendered with control bytes or markers: %q", s, out)
		}
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("valid UTF-8 %q rendered invalid: %q", s, out)
		}
	})
}

func TestReadLineCutsLongLines(t *testing.T) {
	long := strings.Repeat("x", 100)
	r := bufio.NewReaderSize(strings.NewReader(long+"\nnext\nlast"), 16)
	line, cut, err := readLine(r, 40)
	if err != nil || !cut || line != long[:40] {
		t.Fatalf("long line: %q cut=%v err=%v", line, cut, err)
	}
	line, cut, err = readLine(r, 40)
	if err != nil || cut || line != "next" {
		t.Fatalf("after a cut line the next one is %q cut=%v err=%v", line, cut, err)
	}
	line, _, err = readLine(r, 40)
	if line != "last" || (err != nil && !errors.Is(err, bufio.ErrBufferFull)) {
		t.Fatalf("last line without newline: %q %v", line, err)
	}
}

// echoHandler answers with the text or choice it got and offers choices.
type echoHandler struct{ got []bot.Message }

func (h *echoHandler) Handle(_ context.Context, m bot.Message) (bot.Result, error) {
	h.got = append(h.got, m)
	if m.Text == "fail" {
		return bot.Result{}, errors.New("store down")
	}
	return bot.Result{
		Replies: []bot.Reply{{Text: "got " + m.Text + m.Choice, Choices: []bot.Choice{{ID: "a", Label: "A"}, {ID: "b", Label: "B"}}}},
		Step:    "s1",
	}, nil
}

func TestRunJSONOneLinePerInput(t *testing.T) {
	h := &echoHandler{}
	var out bytes.Buffer
	in := "hello\n2\nfail\n{bad\n\n" + strings.Repeat("y", MaxLine+10) + "\n"
	c := New(strings.NewReader(in), &out, Config{User: "u", Mode: JSON}, nil)
	if err := c.Run(context.Background(), h); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d output lines for 6 inputs:\n%s", len(lines), out.String())
	}
	var second, third, last jsonLine
	for i, p := range []*jsonLine{&second, &third, &last} {
		if err := json.Unmarshal([]byte(lines[[]int{1, 2, 5}[i]]), p); err != nil {
			t.Fatal(err)
		}
	}
	if h.got[1].Choice != "b" || h.got[1].Step != "s1" {
		t.Errorf("typed 2 was sent as %+v, want a click on the second choice", h.got[1])
	}
	if third.Error == "" || third.Replies[0].Text != bot.TroubleReply {
		t.Errorf("a handler failure was answered with %+v", third)
	}
	if !strings.Contains(last.Replies[0].Text, "longer than 64 KB") || len(h.got[len(h.got)-1].Text) != MaxLine {
		t.Errorf("long line: %+v", last.Replies)
	}
	if h.got[0].Address != (bot.Address{Platform: Platform, User: "u"}) {
		t.Errorf("address %+v", h.got[0].Address)
	}
}

// TestRunJSONLongLine: a valid JSON line over MaxLine is reported as too
// long, not as broken JSON, and the next line is read normally.
func TestRunJSONLongLine(t *testing.T) {
	h := &echoHandler{}
	var out bytes.Buffer
	in := `{"text":"` + strings.Repeat("y", MaxLine+10) + `"}` + "\n" + `{"text":"next"}` + "\n"
	c := New(strings.NewReader(in), &out, Config{User: "u", Mode: JSON}, nil)
	if err := c.Run(context.Background(), h); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d output lines for 2 inputs:\n%s", len(lines), out.String())
	}
	var first, second jsonLine
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("line longer than %d bytes", MaxLine)
	if !strings.Contains(first.Error, want) || !strings.Contains(first.Replies[0].Text, want) {
		t.Errorf("long JSON line answered with %+v, want %q", first, want)
	}
	if len(h.got) != 1 || h.got[0].Text != "next" {
		t.Errorf("handled %+v, want only the next line", h.got)
	}
}

// countFlow is a bot.Flow counting the person's messages: each reply says
// how many there have been, so a message applied twice shows.
type countFlow struct{}

func (countFlow) Respond(s *bot.Session, m bot.Message) (bot.Turn, error) {
	n, _ := strconv.Atoi(s.Answers["n"])
	if s.Answers == nil {
		s.Answers = map[string]string{}
	}
	s.Answers["n"] = strconv.Itoa(n + 1)
	s.Step = "q" + strconv.Itoa(n+1)
	return bot.Turn{Replies: []bot.Reply{{Text: fmt.Sprintf("message %d: %s%s", n+1, m.Text, m.Choice)}}}, nil
}

func (countFlow) Current(s *bot.Session) ([]bot.Reply, error) {
	return []bot.Reply{{Text: "now at " + s.Step}}, nil
}

func (countFlow) Outcome(s *bot.Session, kind string, at time.Time) bot.Outcome {
	return bot.Outcome{Key: s.Key, Kind: kind, Ended: at}
}

// TestRunJSONDuplicateIDs re-sends lines with ids, as a script does after
// a crash, through a real engine and store: a known id is not applied
// again; within the process it gets the same reply as the first time,
// after a restart (a new console on the same store) the current question,
// both with "duplicate": true.
func TestRunJSONDuplicateIDs(t *testing.T) {
	store := bot.NewMemoryStore()
	engine := bot.NewEngine(store, countFlow{}, bot.EngineConfig{}, nil)
	run := func(in string) []jsonLine {
		t.Helper()
		var out bytes.Buffer
		c := New(strings.NewReader(in), &out, Config{User: "u", Mode: JSON}, nil)
		if err := c.Run(context.Background(), engine); err != nil {
			t.Fatal(err)
		}
		var lines []jsonLine
		for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
			var j jsonLine
			if err := json.Unmarshal([]byte(l), &j); err != nil {
				t.Fatalf("%q: %v", l, err)
			}
			if !strings.Contains(l, `"duplicate":`) && j.Duplicate {
				t.Fatal("unreachable")
			}
			lines = append(lines, j)
		}
		return lines
	}
	got := run(`{"text":"a","id":"1"}` + "\n" + `{"text":"b","id":"2"}` + "\n" + `{"text":"a","id":"1"}` + "\n" + `{"text":"c"}` + "\n" + `{"text":"b","id":"2"}` + "\n")
	want := []struct {
		text string
		dup  bool
	}{{"message 1: a", false}, {"message 2: b", false}, {"message 1: a", true}, {"message 3: c", false}, {"message 2: b", true}}
	if len(got) != len(want) {
		t.Fatalf("%d lines for %d inputs: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if len(got[i].Replies) != 1 || got[i].Replies[0].Text != w.text || got[i].Duplicate != w.dup {
			t.Errorf("line %d: %+v, want %q duplicate=%v", i+1, got[i], w.text, w.dup)
		}
	}
	if got[2].Step != "q1" || got[4].Step != "q2" {
		t.Errorf("a duplicate's step is the first reply's: %q %q", got[2].Step, got[4].Step)
	}

	// A new process (console) on the same store: the id is still known and
	// not applied again; the reply is the question the conversation is on.
	again := run(`{"text":"b","id":"2"}` + "\n" + `{"text":"d","id":"3"}` + "\n")
	if len(again) != 2 || !again[0].Duplicate || again[0].Replies[0].Text != "now at q3" || again[0].Step != "q3" {
		t.Errorf("after a restart a known id got %+v, want the current question with duplicate", again)
	}
	if again[1].Duplicate || again[1].Replies[0].Text != "message 4: d" {
		t.Errorf("a new id after the restart got %+v", again[1])
	}
}
