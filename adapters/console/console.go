// Package console is the terminal chat: an interactive chat for people, a
// plain line-per-message mode for pipes, and a JSON-lines scripting mode
// whose contract is documented on Run.
package console

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"troubleshooter/bot"
)

// InputNumberKind is the Reply.Input of questions whose answer is a number.
const InputNumberKind = "number"

// Platform is the Address.Platform of console conversations.
const Platform = "console"

// MaxLine bounds one input line; the rest of a longer line is discarded and
// the person told, so a runaway paste cannot exhaust memory.
const MaxLine = 64 << 10

// Mode selects how the console talks.
type Mode int

const (
	// Plain reads one message per line and prints replies as text, for
	// pipes and files.
	Plain Mode = iota
	// Interactive is Plain plus a greeting, the current question on
	// start-up, a prompt, and bold text on terminals.
	Interactive
	// JSON is the scripting interface (see Console.Run).
	JSON
)

// Config configures a Console.
type Config struct {
	// User is the conversation key's user: the same user in a later run
	// resumes the same conversation. Default "local".
	User string
	// Guide is the guide id for new conversations; "" for the default.
	Guide string
	Mode  Mode
}

// Resumer is implemented by handlers that can show the question a
// conversation is waiting on (*bot.Engine does).
type Resumer interface {
	Current(ctx context.Context, a bot.Address) (bot.Result, error)
}

// Console is the terminal chat adapter. It is used by one goroutine.
type Console struct {
	in   *bufio.Reader
	out  io.Writer
	cfg  Config
	log  *slog.Logger
	last bot.Result // what the bot last asked, to map typed numbers
	// lastHandled is the result of the last line, duplicates included.
	lastHandled bot.Result
	// replies holds the output line of each JSON line with an id, so that
	// the id sent again gets the same reply; order is the ids oldest first,
	// for forgetting past MaxRemembered.
	replies map[string]jsonLine
	order   []string
}

// MaxRemembered is how many JSON lines with ids a console remembers the
// reply of; an older id sent again gets the current question instead.
const MaxRemembered = 10000

// New returns a Console reading in and writing out. A nil log discards.
func New(in io.Reader, out io.Writer, cfg Config, log *slog.Logger) *Console {
	if cfg.User == "" {
		cfg.User = "local"
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Console{in: bufio.NewReaderSize(in, 64<<10), out: out, cfg: cfg, log: log}
}

// Address is the conversation the console talks in.
func (c *Console) Address() bot.Address {
	return bot.Address{Platform: Platform, User: c.cfg.User}
}

// jsonReply is one reply on the JSON interface; every field is always
// present so scripts need no special cases.
type jsonReply struct {
	Text    string       `json:"text"`
	Choices []bot.Choice `json:"choices"`
	Input   string       `json:"input"`
}

// jsonLine is one output line of the JSON interface.
type jsonLine struct {
	Replies []jsonReply `json:"replies"`
	Step    string      `json:"step"`
	Done    bool        `json:"done"`
	Outcome string      `json:"outcome"`
	// ID echoes the input line's "id", when it had one.
	ID string `json:"id,omitempty"`
	// Duplicate is true when the line's id had already been applied: the
	// line was not applied again (see Console.Run).
	Duplicate bool `json:"duplicate,omitempty"`
	// Error is set only when the line could not be handled; the replies
	// then say what to do.
	Error string `json:"error,omitempty"`
}

// jsonInput is an input line of the JSON interface.
type jsonInput struct {
	Text   *string `json:"text"`
	Choice *string `json:"choice"`
}

// Run chats until the input ends (returning nil) or ctx is done.
//
// In JSON mode each input line is plain text, or a JSON object
// {"text": "..."} or {"choice": "<choice id>"}, either with an optional
// "id": "<your id>", and for each input line exactly one line of JSON is
// written:
//
//	{"replies":[{"text":"…","choices":[{"id":"yes","label":"Yes"}],"input":"size"}],"step":"<step id>","done":false,"outcome":""}
//
// replies is everything the bot said that turn, input names the kind of
// typed answer expected ("" when none), done is true when the conversation
// ended and outcome is then resolved, escalated or stopped. A line that
// cannot be handled still gets its one line, with an "error" field and a
// reply saying what to do.
//
// Objects are read strictly: the keys are exactly text, choice and id
// (case included), each at most once, with string values, and nothing may
// follow the object on the line. A line is at most MaxLine bytes; a longer
// object is refused with "line longer than 65536 bytes" (a longer plain
// line is read up to the limit, with a notice).
//
// An id makes a line safe to send again (say, after a crash): the output
// echoes it as "id", and a line whose id was already applied to this
// conversation is not applied again but answered with "duplicate": true
// and, when this process answered it, the same replies and step as the
// first time (the last MaxRemembered ids are kept in memory), otherwise
// (after a restart) the question the conversation is on now. The id
// becomes the message's event id ("json:" + id), which the engine keeps
// with the conversation, as it does for platform event ids.
func (c *Console) Run(ctx context.Context, h bot.Handler) error {
	if c.cfg.Mode == Interactive {
		if err := c.greet(ctx, h); err != nil {
			return err
		}
	}
	for {
		if c.cfg.Mode == Interactive {
			fmt.Fprint(c.out, "> ")
		}
		line, cut, err := readLine(c.in, MaxLine)
		if errors.Is(err, io.EOF) && line == "" {
			return nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read input: %w", err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if werr := c.turn(ctx, h, line, cut); werr != nil {
			return werr
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
}

// greet shows how to use the chat and, for a conversation in progress, the
// question it is waiting on.
func (c *Console) greet(ctx context.Context, h bot.Handler) error {
	fmt.Fprintln(c.out, "Troubleshooter: tell me what's wrong in your own words, or say hi to see what I can help with.")
	fmt.Fprintln(c.out, "Type a number to pick an option; say help, back, skip, status, restart or stop at any time. Ctrl-D quits.")
	r, ok := h.(Resumer)
	if !ok {
		return nil
	}
	res, err := r.Current(ctx, c.Address())
	if err != nil {
		c.log.Error("could not look up the conversation in progress", "err", err)
		return nil
	}
	if len(res.Replies) > 0 {
		fmt.Fprintln(c.out, "\nWelcome back. We were here:")
		c.last = res
		return c.printText(res.Replies)
	}
	return nil
}

// Say handles one input line as Run would, writing its output: what a
// transcript runner calls line by line.
func (c *Console) Say(ctx context.Context, h bot.Handler, line string) error {
	cut := false
	if len(line) > MaxLine {
		line, cut = strings.ToValidUTF8(line[:MaxLine], ""), true
	}
	return c.turn(ctx, h, line, cut)
}

// turn handles one input line and writes its output.
func (c *Console) turn(ctx context.Context, h bot.Handler, line string, cut bool) error {
	m := bot.Message{Address: c.Address(), Guide: c.cfg.Guide}
	if c.cfg.Mode == JSON {
		err := parseJSONInput(line, &m)
		if cut && strings.HasPrefix(strings.TrimSpace(line), "{") {
			// The object was cut off: say so, not "unexpected EOF".
			err = fmt.Errorf("line longer than %d bytes; the rest was not read", MaxLine)
		}
		if err != nil {
			return c.writeJSON(jsonLine{
				Replies: []jsonReply{{Text: "I couldn't read that line: " + err.Error() + `. Send plain text, {"text": "..."} or {"choice": "<choice id>"}.`, Choices: []bot.Choice{}}},
				Step:    c.last.Step,
				Error:   err.Error(),
			})
		}
	} else {
		m.Text = line
	}
	if m.Choice == "" {
		c.pickByNumber(&m)
	}
	res, err := h.Handle(ctx, m)
	var prefix []bot.Reply
	if cut {
		prefix = []bot.Reply{{Text: fmt.Sprintf("(Your message was longer than %d KB, so I only read the start of it.)", MaxLine>>10)}}
	}
	if err != nil {
		c.log.Error("could not handle message", "err", err)
		if c.cfg.Mode == JSON {
			return c.writeJSON(jsonLine{
				Replies: []jsonReply{{Text: bot.TroubleReply, Choices: []bot.Choice{}}},
				Step:    c.last.Step,
				Error:   err.Error(),
			})
		}
		return c.printText([]bot.Reply{{Text: bot.TroubleReply}})
	}
	c.lastHandled = res
	if !res.Duplicate {
		c.last = res
	}
	res.Replies = append(prefix, res.Replies...)
	if c.cfg.Mode == JSON {
		if m.ID != "" && res.Duplicate {
			return c.writeJSON(c.duplicate(ctx, h, m.ID, res))
		}
		out := toJSONLine(res)
		if m.ID != "" {
			out.ID = strings.TrimPrefix(m.ID, IDPrefix)
			c.remember(out)
		}
		return c.writeJSON(out)
	}
	return c.printText(res.Replies)
}

// toJSONLine is the JSON interface's line for a result.
func toJSONLine(res bot.Result) jsonLine {
	out := jsonLine{Replies: make([]jsonReply, len(res.Replies)), Step: res.Step, Done: res.Done, Outcome: res.Outcome}
	for i, r := range res.Replies {
		out.Replies[i] = jsonReply{Text: r.Text, Choices: r.Choices, Input: r.Input}
		if out.Replies[i].Choices == nil {
			out.Replies[i].Choices = []bot.Choice{}
		}
	}
	return out
}

// remember keeps out as the reply to its id, forgetting the oldest past
// MaxRemembered.
func (c *Console) remember(out jsonLine) {
	if c.replies == nil {
		c.replies = make(map[string]jsonLine)
	}
	if _, ok := c.replies[out.ID]; !ok {
		c.order = append(c.order, out.ID)
	}
	c.replies[out.ID] = out
	if len(c.order) > MaxRemembered {
		delete(c.replies, c.order[0])
		c.order = c.order[1:]
	}
}

// duplicate is the line answering an id the engine had already applied:
// the reply given the first time when this console remembers it; else the
// replies the engine still holds unsent for it; else (after a restart)
// the question the conversation is on now. All say "duplicate": true.
func (c *Console) duplicate(ctx context.Context, h bot.Handler, id string, res bot.Result) jsonLine {
	id = strings.TrimPrefix(id, IDPrefix)
	if out, ok := c.replies[id]; ok {
		out.Duplicate = true
		return out
	}
	if len(res.Replies) == 0 {
		if r, ok := h.(Resumer); ok {
			if cur, err := r.Current(ctx, c.Address()); err == nil {
				res.Replies, res.Step = cur.Replies, cur.Step
			} else {
				c.log.Error("could not look up the conversation in progress", "err", err)
			}
		}
	}
	out := toJSONLine(res)
	out.ID, out.Duplicate = id, true
	return out
}

// pickByNumber turns a typed bare number into a click on the option the
// console showed with that number, so "1" picks "Where do I find it?" even
// on a question that expects a size.
func (c *Console) pickByNumber(m *bot.Message) {
	if len(c.last.Replies) == 0 || c.last.Done {
		return
	}
	last := c.last.Replies[len(c.last.Replies)-1]
	if last.Input == InputNumberKind {
		// A number is the answer itself here, not an option's number.
		return
	}
	choices := last.Choices
	n, err := strconv.Atoi(strings.TrimSpace(m.Text))
	if err != nil || n < 1 || n > len(choices) {
		return
	}
	m.Choice, m.Step, m.Text = choices[n-1].ID, c.last.Step, ""
}

// MaxID bounds an input line's "id".
const MaxID = 200

// IDPrefix starts the bot.Message.ID of a JSON line with an "id", so that
// script ids never collide with other event ids.
const IDPrefix = "json:"

// parseJSONInput reads one JSON-mode input line into m. A line not
// starting with "{" is plain text. An object is read strictly: its keys
// are exactly "text", "choice" and "id" (case included), each at most
// once, with string values, and nothing may follow it on the line.
func parseJSONInput(line string, m *bot.Message) error {
	trimmed := strings.TrimSpace(line)
	if !strings.HasPrefix(trimmed, "{") {
		m.Text = line
		return nil
	}
	fields, err := strictObject(trimmed)
	if err != nil {
		return err
	}
	str := func(key string) (*string, error) {
		raw, ok := fields[key]
		if !ok {
			return nil, nil
		}
		var v string
		if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &v) != nil {
			return nil, fmt.Errorf("%q must be a string", key)
		}
		return &v, nil
	}
	text, err := str("text")
	if err != nil {
		return err
	}
	choice, err := str("choice")
	if err != nil {
		return err
	}
	id, err := str("id")
	if err != nil {
		return err
	}
	switch {
	case text != nil && choice != nil:
		return errors.New(`give either "text" or "choice", not both`)
	case text != nil:
		m.Text = *text
	case choice != nil:
		if *choice == "" {
			return errors.New(`"choice" is empty`)
		}
		m.Choice = *choice
	default:
		return errors.New(`the object has neither "text" nor "choice"`)
	}
	if id != nil {
		switch {
		case *id == "":
			return errors.New(`"id" is empty`)
		case len(*id) > MaxID:
			return fmt.Errorf(`"id" is longer than %d bytes`, MaxID)
		}
		m.ID = IDPrefix + *id
	}
	return nil
}

// strictObject decodes one JSON object with the keys text, choice and id,
// walking its tokens so that keys match exactly (encoding/json would match
// "TEXT" to text) and a key given twice is an error (encoding/json would
// keep the last), and refusing anything after the object.
func strictObject(line string) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("invalid JSON (%v)", tokenError(err))
	}
	fields := make(map[string]json.RawMessage, 3)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("invalid JSON (%v)", tokenError(err))
		}
		key, _ := tok.(string)
		switch key {
		case "text", "choice", "id":
		default:
			return nil, fmt.Errorf(`unknown key %q; the keys are "text", "choice" and "id"`, key)
		}
		if _, dup := fields[key]; dup {
			return nil, fmt.Errorf("key %q given twice", key)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("invalid JSON (%v)", tokenError(err))
		}
		fields[key] = raw
	}
	if _, err := dec.Token(); err != nil { // the closing }
		return nil, fmt.Errorf("invalid JSON (%v)", tokenError(err))
	}
	// Only blanks may follow. The decoder reads tokens, not characters:
	// a stray "}" or "]" is a token error, a second value is not.
	rest := strings.TrimSpace(line[dec.InputOffset():])
	switch {
	case rest == "":
		return fields, nil
	case rest[0] == '}' || rest[0] == ']':
		return nil, fmt.Errorf("invalid JSON (unexpected %q after the object)", rest[:1])
	case json.Valid([]byte(rest)):
		return nil, errors.New("more than one JSON value on the line")
	}
	return nil, fmt.Errorf("invalid JSON (unexpected %q after the object)", firstRune(rest))
}

// tokenError names a decoding error; io.EOF means the object was cut off.
func tokenError(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func firstRune(s string) string {
	for _, r := range s {
		return string(r)
	}
	return ""
}

func (c *Console) writeJSON(v jsonLine) error {
	if v.Replies == nil {
		v.Replies = []jsonReply{}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode reply: %w", err)
	}
	b = append(b, '\n')
	if _, err := c.out.Write(b); err != nil {
		return fmt.Errorf("write reply: %w", err)
	}
	return nil
}

// printText writes replies for people: light markdown rendered, choices as
// numbered lines.
func (c *Console) printText(replies []bot.Reply) error {
	var b strings.Builder
	for i, r := range replies {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(RenderMarkdown(r.Text, c.cfg.Mode == Interactive))
		b.WriteByte('\n')
		for i, ch := range r.Choices {
			fmt.Fprintf(&b, "  %d. %s\n", i+1, ch.Label)
		}
		if r.Input != "" && len(r.Choices) > 0 {
			fmt.Fprintf(&b, "  (or type the %s)\n", r.Input)
		}
	}
	b.WriteByte('\n')
	_, err := io.WriteString(c.out, b.String())
	if err != nil {
		return fmt.Errorf("write reply: %w", err)
	}
	return nil
}

// RenderMarkdown turns the bot's light markdown into terminal text:
// **bold** becomes ANSI bold when ansi is set and plain text otherwise;
// *emphasis* markers are dropped. Control characters other than newlines
// are removed so that echoed text cannot drive the terminal.
func RenderMarkdown(md string, ansi bool) string {
	var b strings.Builder
	bold := false
	for i := 0; i < len(md); i++ {
		ch := md[i]
		switch {
		case ch == '*' && i+1 < len(md) && md[i+1] == '*':
			i++
			bold = !bold
			if ansi {
				if bold {
					b.WriteString("\x1b[1m")
				} else {
					b.WriteString("\x1b[0m")
				}
			}
		case ch == '*':
			// single asterisk emphasis: drop the marker
		case ch == '[':
			// A markdown link [text](https://…) prints as "text (url)":
			// a terminal has no link markup, and the address must show.
			if text, url, n, ok := bot.MarkdownLink(md[i:]); ok {
				b.WriteString(text + " (" + url + ")")
				i += n - 1
				continue
			}
			b.WriteByte(ch)
		case ch < 0x20 && ch != '\n' && ch != '\t', ch == 0x7f:
		default:
			b.WriteByte(ch)
		}
	}
	if bold && ansi {
		b.WriteString("\x1b[0m")
	}
	return b.String()
}

// readLine reads one line without its line ending. A line longer than max
// is cut at max bytes (cut is then true) and the rest of it discarded.
func readLine(r *bufio.Reader, max int) (line string, cut bool, err error) {
	var buf []byte
	for {
		chunk, isPrefix, err := r.ReadLine()
		if len(buf) < max {
			room := max - len(buf)
			if len(chunk) > room {
				chunk, cut = chunk[:room], true
			}
			buf = append(buf, chunk...)
		} else if len(chunk) > 0 {
			cut = true
		}
		if err != nil {
			return string(buf), cut, err
		}
		if !isPrefix {
			return string(buf), cut, nil
		}
	}
}
