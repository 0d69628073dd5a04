package flows

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// builtin holds the guides shipped inside the binary.
//
//go:embed *.yaml
var builtin embed.FS

// Builtin parses the guides embedded in the binary, in file-name order.
func Builtin() ([]*Guide, error) {
	names, err := fs.Glob(builtin, "*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	guides := make([]*Guide, 0, len(names))
	for _, name := range names {
		data, err := builtin.ReadFile(name)
		if err != nil {
			return nil, err
		}
		g, err := Parse(path.Join("flows", name), data)
		if err != nil {
			return nil, err
		}
		guides = append(guides, g)
	}
	return guides, nil
}

// LoadFile reads and parses one guide file.
func LoadFile(file string) (*Guide, error) {
	fi, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("guide file: %w", err)
	}
	if fi.Size() > MaxGuideSize {
		return nil, &Problem{File: file, Msg: fmt.Sprintf("file is %d bytes; guides are limited to %d", fi.Size(), MaxGuideSize)}
	}
	if !fi.Mode().IsRegular() {
		return nil, &Problem{File: file, Msg: "not a regular file (a guide is a YAML file)"}
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("guide file: %w", err)
	}
	defer f.Close()
	// Read through a limit too: the file may change between Stat and
	// Open (swapped for /dev/zero under a running serve).
	data, err := io.ReadAll(io.LimitReader(f, MaxGuideSize+1))
	if err != nil {
		return nil, fmt.Errorf("guide file: %w", err)
	}
	if len(data) > MaxGuideSize {
		return nil, &Problem{File: file, Msg: fmt.Sprintf("file is over %d bytes; guides are limited to %d", MaxGuideSize, MaxGuideSize)}
	}
	return Parse(file, data)
}

// Set is what LoadSet loads: the built-in guides followed by extra files,
// each compiled with its configured values.
type Set struct {
	Guides []*Compiled
}

// LoadSet parses and compiles the built-in guides (unless skipBuiltin) and
// the guide files, applying values[guideID] to each guide. It reports every
// problem in every file at once. A value for a guide that is not loaded, or
// a value name a guide does not declare, is an error: it is almost always a
// typo in config.yaml that would otherwise be silently ignored.
func LoadSet(files []string, values map[string]map[string]string, skipBuiltin bool) (*Set, error) {
	var parsed []*Guide
	var errs []error
	builtins := map[*Guide]bool{}
	if !skipBuiltin {
		b, err := Builtin()
		if err != nil {
			return nil, fmt.Errorf("built-in guides: %w", err)
		}
		parsed = append(parsed, b...)
		for _, g := range b {
			builtins[g] = true
		}
	}
	for _, f := range files {
		g, err := LoadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		parsed = append(parsed, g)
	}
	set := &Set{}
	seen := map[string]*Guide{}
	for _, g := range parsed {
		if prev, dup := seen[g.ID]; dup && g.ID != "" {
			msg := fmt.Sprintf("guide id %q is already used by %s", g.ID, prev.File)
			if builtins[prev] {
				msg = fmt.Sprintf("guide id %q is already used by the built-in guide %s; give this guide another id (or set guides.skip_builtin in config.yaml)", g.ID, prev.File)
			}
			errs = append(errs, &Problem{File: g.File, Line: g.KeyLine("id"), Msg: msg})
			continue
		}
		seen[g.ID] = g
		vals := values[g.ID]
		for name := range vals {
			if _, ok := g.Values[name]; !ok {
				errs = append(errs, fmt.Errorf("config: guides.values.%s.%s: guide %s declares no value %q (it declares: %s)",
					g.ID, name, g.ID, name, strings.Join(sortedKeys(g.Values), ", ")))
			}
		}
		c, err := Compile(g, vals)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		set.Guides = append(set.Guides, c)
	}
	for id := range values {
		if _, ok := seen[id]; !ok {
			errs = append(errs, fmt.Errorf("config: guides.values.%s: no guide with id %q is loaded (loaded: %s)",
				id, id, strings.Join(slices.Sorted(maps.Keys(seen)), ", ")))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return set, nil
}

// sortedKeys returns m's keys in order, for stable output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// explainSyntax turns a YAML syntax error (msg, at the parser's line) into
// a problem at the line of its likely cause with a hint in plain words.
// The parser reports where it gave up, which for an unclosed quote is
// wherever the next quote happens to be, so the text is scanned for the
// usual mistakes of hand-written YAML: quotes, tabs, ": " in a text, a
// "-" without its space, a text starting with "{", an open "[", a line
// indented under a key that has a value. When none fits, the parser's
// words stay, with where to look.
func explainSyntax(file string, data []byte, line int, msg string) *Problem {
	lines := yamlLines(data)
	if line < 1 || line > len(lines) {
		line = len(lines)
	}
	if i := strings.Index(msg, ". "); i > 0 {
		msg = msg[:i] // goccy adds internals: ". map key-value is pre-defined"
	}
	at := func(n int, format string, args ...any) *Problem {
		return &Problem{File: file, Line: n, Msg: fmt.Sprintf(format, args...)}
	}
	stopped := fmt.Sprintf("(the YAML parser stopped at line %d: %s)", line, msg)
	// A tab may sit legitimately in a block text's indentation, so tabs
	// are blamed only when the parser stopped at one.
	if strings.Contains(msg, "'\t'") || strings.Contains(leadingBlanks(lines[line-1]), "\t") {
		for n := 1; n <= line; n++ {
			if strings.Contains(leadingBlanks(lines[n-1]), "\t") {
				return at(n, "this line is indented with a tab; YAML indents with spaces only")
			}
		}
	}
	for _, q := range scanQuotes(lines) {
		if q.start <= line && (q.end == 0 || q.start < q.end && q.end >= line) {
			esc := `\"`
			if q.char == '\'' {
				esc = "''"
			}
			return at(q.start, "a %cquoted%c text starts on this line and is not closed on it, so the lines after it were read as part of the text %s; end the text with %c on line %d, or write %s for a %c inside it",
				q.char, q.char, stopped, q.char, q.start, esc, q.char)
		}
		if q.start == line && q.end == line && q.trailing {
			if q.char == '"' {
				return at(line, `the "quoted" text ends at its second " and more follows on the line; write \" for a " inside a "…" text, or quote the whole text with '…' instead`)
			}
			return at(line, `the 'quoted' text ends at its second ' and more follows on the line; write '' for a ' inside a '…' text (it''s), or quote the whole text with "…" instead`)
		}
	}
	if m := duplicateKey.FindStringSubmatch(msg); m != nil {
		return at(line, "key %q appears twice in the same mapping (first on line %s); keep one", m[1], m[2])
	}
	content := strings.TrimSpace(lines[line-1])
	if len(content) > 1 && content[0] == '-' && content[1] != ' ' && content[1] != '-' {
		return at(line, `"-" starts a list item only when a space follows it: write "- %s"`, content[1:])
	}
	key, value, hasValue := keyAndValue(content)
	if hasValue && strings.HasPrefix(value, "{{") {
		return at(line, `a text that starts with "{" must be in quotes, or YAML reads it as a {mapping}: %s: %q`, key, value)
	}
	if strings.Contains(msg, "']' must be specified") || strings.Contains(msg, "'}' must be specified") {
		open, close := byte('['), byte(']')
		what := "[list]"
		if strings.Contains(msg, "'}'") {
			open, close, what = '{', '}', "{mapping}"
		}
		for n := line; n >= 1; n-- {
			if strings.Count(lines[n-1], string(open)) > strings.Count(lines[n-1], string(close)) {
				return at(n, "a %s opened here is not closed with %c %s", what, close, stopped)
			}
		}
	}
	if strings.Contains(msg, "mapping value is not allowed") {
		if hasValue && value != "" && !strings.ContainsAny(value[:1], `"'[{|>&*!`) && (strings.Contains(value, ": ") || strings.HasSuffix(value, ":")) {
			return at(line, `the text after "%s:" holds ": ", which YAML reads as the start of another key; put the whole text in quotes: %s: %q`, key, key, value)
		}
		if next := nextContentLine(lines, line); next > 0 && hasValue && value != "" &&
			len(leadingBlanks(lines[next-1])) > len(leadingBlanks(lines[line-1])) {
			return at(next, "this line is indented further than line %d, whose key already has a value; line up the keys of one mapping in the same column %s", line, stopped)
		}
	}
	return at(line, `%s; check the quotes and indentation of line %d and the lines above it: a quoted text ends on its line with the quote it began with, the keys of one mapping line up in one column, and the "- " items of one list in another`, msg, line)
}

// yamlLines splits data into lines as YAML counts them: "\r\n", "\n" and
// a lone "\r" each end one.
func yamlLines(data []byte) []string {
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	return strings.Split(strings.ReplaceAll(s, "\r", "\n"), "\n")
}

// duplicateKey matches goccy's duplicate key error, for its key and line.
var duplicateKey = regexp.MustCompile(`mapping key "(.*)" already defined at \[(\d+):\d+\]`)

// leadingBlanks is the run of spaces and tabs that indents s.
func leadingBlanks(s string) string {
	return s[:len(s)-len(strings.TrimLeft(s, " \t"))]
}

// nextContentLine is the number of the first line after n that is not
// blank or a comment, or 0.
func nextContentLine(lines []string, n int) int {
	for i := n; i < len(lines); i++ {
		if t := strings.TrimSpace(lines[i]); t != "" && t[0] != '#' {
			return i + 1
		}
	}
	return 0
}

// keyAndValue splits a line's content "- key: value # note" into key and
// value (comment dropped); ok is false when it holds no "key:".
func keyAndValue(content string) (key, value string, ok bool) {
	for strings.HasPrefix(content, "- ") {
		content = strings.TrimSpace(content[2:])
	}
	i := strings.Index(content, ": ")
	if i < 0 {
		if strings.HasSuffix(content, ":") {
			return strings.TrimSuffix(content, ":"), "", true
		}
		return "", "", false
	}
	key, value = content[:i], strings.TrimSpace(content[i+2:])
	if j := strings.Index(value, " #"); j >= 0 && !strings.ContainsAny(value[:1], `"'`) {
		value = strings.TrimSpace(value[:j])
	}
	return key, value, true
}

// quoted is one quoted text: the lines it starts and ends on (end 0 when
// it never ends), its quote, and whether more follows its end on the line.
type quoted struct {
	start, end int
	char       byte
	trailing   bool
}

// scanQuotes finds the quoted texts of a YAML file the way the parser
// does, closely enough to name the line an unclosed one starts on: a quote
// opens a text where a value starts (after "key: ", "- ", "[", "{" or ","),
// "\" escapes in "…" and "”" in '…', comments and block texts (| and >)
// are skipped. A "," starts a value only inside [ ] or { }: in a plain
// text it is just a comma.
func scanQuotes(lines []string) []quoted {
	var out []quoted
	var cur *quoted
	blockAt := -1 // while >= 0, lines indented further are block text
	depth := 0    // open [ and {, where "," starts a value
	for n, text := range lines {
		indent := len(leadingBlanks(text))
		if cur == nil && blockAt >= 0 {
			if strings.TrimSpace(text) == "" || indent > blockAt {
				continue
			}
			blockAt = -1
		}
		valueStart := true
		for i := 0; i < len(text); i++ {
			c := text[i]
			if cur != nil {
				switch {
				case cur.char == '"' && c == '\\':
					i++
				case c == cur.char && cur.char == '\'' && i+1 < len(text) && text[i+1] == '\'':
					i++
				case c == cur.char:
					cur.end = n + 1
					rest := strings.TrimSpace(text[i+1:])
					cur.trailing = rest != "" && !strings.ContainsAny(rest[:1], "#:,]}")
					out = append(out, *cur)
					cur = nil
					valueStart = false
				}
				continue
			}
			switch {
			case c == ' ' || c == '\t':
			case (c == '"' || c == '\'') && valueStart:
				cur = &quoted{start: n + 1, char: c}
			case c == '#' && (i == 0 || text[i-1] == ' ' || text[i-1] == '\t'):
				i = len(text)
			case (c == '[' || c == '{') && valueStart:
				depth++
			case c == ',' && depth > 0:
				valueStart = true
			case (c == ']' || c == '}') && depth > 0:
				depth--
				valueStart = false
			case (c == '-' && valueStart || c == ':') && (i+1 == len(text) || text[i+1] == ' '):
				valueStart = true
				if blockScalarHeader([]byte(strings.TrimSpace(text[i+1:]))) {
					blockAt = indent
					i = len(text)
				}
			default:
				valueStart = false
			}
		}
	}
	if cur != nil {
		out = append(out, *cur)
	}
	return out
}
