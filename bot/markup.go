package bot

import "strings"

// MarkdownLink reads a link [text](http(s)://…) at the start of s — how
// Reply.Text writes links — and returns its text, its address and its
// length in bytes; ok is false when s does not start with one. The text is
// one line without brackets or backticks; the address has a host and no
// spaces, parentheses, angle brackets, '|', '*' or backticks. Adapters
// render it natively, or as "text (url)" where a link could hide its
// address.
func MarkdownLink(s string) (text, url string, n int, ok bool) {
	if !strings.HasPrefix(s, "[") {
		return "", "", 0, false
	}
	end := strings.Index(s, "](")
	if end < 2 || strings.ContainsAny(s[1:end], "[]\n`") {
		return "", "", 0, false
	}
	closing := strings.IndexByte(s[end+2:], ')')
	if closing < 0 {
		return "", "", 0, false
	}
	url = s[end+2 : end+2+closing]
	host, isHTTP := strings.CutPrefix(url, "https://")
	if !isHTTP {
		host, isHTTP = strings.CutPrefix(url, "http://")
	}
	if !isHTTP || host == "" || strings.HasPrefix(host, "/") || strings.ContainsAny(url, " \t\n()<>|*`") {
		return "", "", 0, false
	}
	return s[1:end], url, end + 3 + closing, true
}
