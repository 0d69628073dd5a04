// Package confval parses the values people write in config.yaml where the
// Go standard library's own parsers are too strict or too cryptic: a
// duration may be written in days ("1d", "1d12h"), and a mistake is
// explained in plain words with an example, never as a Go-internal
// message. It imports only the standard library.
package confval

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// DurationExample is the hint every duration error ends with.
const DurationExample = "write e.g. 30m, 1h30m or 1d"

// ErrDuration is matched (errors.Is) by every error ParseDuration returns.
var ErrDuration = errors.New("not a duration")

// durationError says what is wrong with a value, in plain words.
type durationError struct{ msg string }

func (e *durationError) Error() string        { return e.msg }
func (e *durationError) Is(target error) bool { return target == ErrDuration }

// bareNumber is a number with no unit.
var bareNumber = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$`)

// maxShown bounds how much of a bad value an error repeats: a value is
// echoed so the reader can find it, not copied whole.
const maxShown = 40

func fail(s, what string) error {
	shown := s
	if len(shown) > maxShown {
		shown = shown[:maxShown] + "…"
	}
	return &durationError{fmt.Sprintf("%s %s; %s", strconv.Quote(shown), what, DurationExample)}
}

// ParseDuration parses a duration as people write them in config files:
// what time.ParseDuration accepts ("90s", "1h30m", "-1s", "0") plus days,
// "d", of 24 hours ("1d", "1.5d", "2d12h"). Surrounding spaces are
// ignored. A number without a unit ("30") is refused, since it could mean
// seconds or minutes; so are words ("30 minutes"). Every error matches
// ErrDuration and ends with an example of what to write.
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fail(s, "is empty, not a duration")
	}
	if t == "0" || t == "+0" || t == "-0" {
		return 0, nil // no unit needed: zero is zero in any unit
	}
	if bareNumber.MatchString(t) {
		return 0, fail(s, "has no unit (seconds? minutes?)")
	}
	neg := false
	rest := t
	if rest[0] == '-' || rest[0] == '+' {
		neg = rest[0] == '-'
		rest = rest[1:]
	}
	// Split off every "<number>d" part; the rest goes to the standard
	// parser, which already knows ns, us, µs, ms, s, m and h.
	var days, other time.Duration
	var std strings.Builder
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, fail(s, "is not a duration")
		}
		num := rest[:i]
		j := i
		for j < len(rest) && !(rest[j] >= '0' && rest[j] <= '9' || rest[j] == '.') {
			j++
		}
		unit := rest[i:j]
		rest = rest[j:]
		if unit != "d" {
			std.WriteString(num + unit)
			continue
		}
		// n days = n×24 hours; parse "<n>h" so fractions work as they
		// do for the other units, then scale with an overflow check.
		h, err := time.ParseDuration(num + "h")
		if err != nil {
			return 0, fail(s, "is not a duration")
		}
		if h > math.MaxInt64/24 {
			return 0, fail(s, "is too long (at most about 290 years)")
		}
		if days+h*24 < days {
			return 0, fail(s, "is too long (at most about 290 years)")
		}
		days += h * 24
	}
	if std.Len() > 0 {
		d, err := time.ParseDuration(std.String())
		if err != nil {
			// The standard messages ("time: unknown unit") name Go,
			// not the value: say it plainly.
			return 0, fail(s, "is not a duration")
		}
		other = d
	}
	total := days + other
	if total < days {
		return 0, fail(s, "is too long (at most about 290 years)")
	}
	if neg {
		total = -total
	}
	return total, nil
}
