package console

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"troubleshooter/bot"
)

func TestParseJSONInput(t *testing.T) {
	cases := []struct {
		line, text, choice, err string
	}{
		{line: "plain words", text: "plain words"},
		{line: "", text: ""},
		{line: `{"text": "3 GB"}`, text: "3 GB"},
		{line: `  {"choice": "on"}  `, choice: "on"},
		{line: `{"text": ""}`, text: ""},
		{line: `{"choice": ""}`, err: `"choice" is empty`},
		{line: `{"text": "a", "choice": "b"}`, err: "not both"},
		{line: `{}`, err: "neither"},
		{line: `{"other": 1}`, err: "invalid JSON"},
		{line: `{"text": 3}`, err: "invalid JSON"},
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
		case m.Text != c.text || m.Choice != c.choice:
			t.Errorf("%q: text %q choice %q, want %q %q", c.line, m.Text, m.Choice, c.text, c.choice)
		}
	}
}

func FuzzParseJSONInput(f *testing.F) {
	for _, s := range []string{"hi", `{"text":"x"}`, `{"choice":"on"}`, `{"text":null}`, `{"text":"\u0000"}`, "{", `{"choice":"a","text":"b"}`} {
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
