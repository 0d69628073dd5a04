package bot

import (
	"fmt"
	"strings"
)

// EscapeRefField makes s safe as one field of a '|'-separated reference
// (the ids adapters put into buttons): '%' and '|' are percent-escaped, so
// no field can forge a separator.
func EscapeRefField(s string) string {
	if !strings.ContainsAny(s, "|%") {
		return s
	}
	return strings.NewReplacer("%", "%25", "|", "%7C").Replace(s)
}

// UnescapeRefField reverses EscapeRefField; any other escape is an error.
func UnescapeRefField(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "%25"):
			b.WriteByte('%')
		case strings.HasPrefix(s[i:], "%7C"):
			b.WriteByte('|')
		default:
			return "", fmt.Errorf("bad escape at byte %d", i)
		}
		i += 2
	}
	return b.String(), nil
}
