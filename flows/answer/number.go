package answer

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/dustin/go-humanize"
)

// Sentinel errors. Every error this package returns wraps exactly one of
// them, so callers pick their reply with errors.Is.
var (
	// ErrNoSize: the text holds no usable size (nothing that looks like one,
	// or one that is negative, malformed or larger than 1 EB).
	ErrNoSize = errors.New("answer: no size found")
	// ErrNoUnit: the text holds a number but no unit; "3" could be GB or
	// MB, and guessing wrong would pick the wrong fix.
	ErrNoUnit = errors.New("answer: number has no unit")
	// ErrAmbiguous: the text holds two different values ("3 GB or 5 GB",
	// "16 or 17"), and picking either would be a guess.
	ErrAmbiguous = errors.New("answer: more than one value")
	// ErrNoNumber: the text holds no usable number.
	ErrNoNumber = errors.New("answer: no number found")
)

var (
	errNegativeSize  = fmt.Errorf("%w: a size cannot be negative", ErrNoSize)
	errTooLarge      = fmt.Errorf("%w: larger than 1 EB", ErrNoSize)
	errMalformedSize = fmt.Errorf("%w: malformed number", ErrNoSize)
	errMalformedNum  = fmt.Errorf("%w: malformed number", ErrNoNumber)
	errNumTooLarge   = fmt.Errorf("%w: number out of range", ErrNoNumber)
)

// maxSize is the largest size accepted: no phone or iCloud plan comes near
// it, so anything bigger is a typo or an attack.
const maxSize = humanize.EByte

// units maps every spelling of a unit to its size in bytes. Apple counts
// storage in powers of 1000 (1 GB = 1000 MB), so the plain units are decimal
// as in go-humanize; only the explicit binary ones (GiB) are powers of 1024.
var units = map[string]uint64{
	"b": humanize.Byte, "byte": humanize.Byte, "bytes": humanize.Byte,
	"k": humanize.KByte, "kb": humanize.KByte, "kbs": humanize.KByte, "kilobyte": humanize.KByte,
	"kilobytes": humanize.KByte, "kib": humanize.KiByte, "kibibyte": humanize.KiByte, "kibibytes": humanize.KiByte,
	"m": humanize.MByte, "mb": humanize.MByte, "mbs": humanize.MByte, "meg": humanize.MByte,
	"megs": humanize.MByte, "mega": humanize.MByte, "megabyte": humanize.MByte, "megabytes": humanize.MByte,
	"mib": humanize.MiByte, "mebibyte": humanize.MiByte, "mebibytes": humanize.MiByte,
	"g": humanize.GByte, "gb": humanize.GByte, "gbs": humanize.GByte, "gig": humanize.GByte,
	"gigs": humanize.GByte, "giga": humanize.GByte, "gigabyte": humanize.GByte, "gigabytes": humanize.GByte,
	"gib": humanize.GiByte, "gibibyte": humanize.GiByte, "gibibytes": humanize.GiByte,
	"t": humanize.TByte, "tb": humanize.TByte, "tbs": humanize.TByte, "tera": humanize.TByte,
	"terabyte": humanize.TByte, "terabytes": humanize.TByte,
	"tib": humanize.TiByte, "tebibyte": humanize.TiByte, "tebibytes": humanize.TiByte,
	"pb": humanize.PByte, "petabyte": humanize.PByte, "petabytes": humanize.PByte,
	"pib": humanize.PiByte, "pebibyte": humanize.PiByte, "pebibytes": humanize.PiByte,
	"eb": humanize.EByte, "exabyte": humanize.EByte, "exabytes": humanize.EByte,
	"eib": humanize.EiByte, "exbibyte": humanize.EiByte, "exbibytes": humanize.EiByte,
}

// Size parses a storage size as people type it: "3.2 GB", "3,2 GB" (decimal
// comma), "800mb", "about 1.5GB", "~2 TB", "1.5 gigs", "2 gigabytes",
// "700 KB", "3 GiB", "0 GB". GB, MB, TB and KB are decimal because Apple
// counts that way; KiB, MiB, GiB and TiB are binary. A comma followed by
// exactly three digits and then a non-digit separates thousands
// ("1,024 MB" is 1024 MB); any other comma is a decimal comma. The result is
// rounded to the nearest byte.
//
// Words around the size are ignored ("it says 3.2 GB"), and the same size
// twice is fine. Errors: ErrNoUnit for a bare number ("3" could be GB or MB);
// ErrAmbiguous for two different sizes or a range ("3 GB or 5 GB",
// "3-5 GB"); ErrNoSize otherwise, including negative, malformed and
// larger-than-1-EB sizes. Scientific notation is not read.
func Size(s string) (bytes uint64, err error) {
	var buf [MaxLen]byte
	n, _ := normalizeInto(&buf, s)
	b := buf[:n]
	found, bare := false, false
	prevEnd, prevSized := -1, false // the quantity before, for "3 to 5 GB"
	for i := 0; i < len(b); {
		if !numberStart(b, i) {
			i = skipNonNumber(b, i)
			continue
		}
		nm := scanNumber(b, i)
		unitEnd, mult, sized := unitAt(b, nm.end)
		if !sized && gluedToWord(b, nm.end) {
			i = skipWord(b, nm.end) // "2nd", "iphone13", "21e236"
			continue
		}
		if prevEnd >= 0 && prevSized != sized && isConnector(b[prevEnd:nm.start]) {
			return 0, ErrAmbiguous // a range: "3 to 5 GB", "5 GB or 3"
		}
		if !sized {
			bare = true
			prevEnd, prevSized = nm.end, false
			i = nm.end
			continue
		}
		switch {
		case nm.neg:
			return 0, errNegativeSize
		case !nm.ok:
			return 0, errMalformedSize
		}
		v, ok := nm.times(mult)
		if !ok {
			return 0, errTooLarge
		}
		if found && v != bytes {
			return 0, ErrAmbiguous
		}
		found, bytes = true, v
		prevEnd, prevSized = unitEnd, true
		i = unitEnd
	}
	switch {
	case found:
		return bytes, nil
	case bare:
		return 0, ErrNoUnit
	}
	return 0, ErrNoSize
}

// FormatSize renders a size the way iPhone Settings does: decimal units
// (B, KB, MB, GB, TB, PB, EB) with at most one decimal, which is dropped when
// it is zero: 3200000000 → "3.2 GB", 800000000 → "800 MB", 0 → "0 B".
// Size reads the result back to within half of its last digit.
func FormatSize(b uint64) string {
	const names = "BKMGTPE"
	if b < 1000 {
		return strconv.FormatUint(b, 10) + " B"
	}
	k, unit := 1, uint64(1000)
	for b/unit >= 1000 && k < 6 {
		k, unit = k+1, unit*1000
	}
	// Round to tenths of the unit without floats: b*10 could overflow.
	q, r := b/unit, b%unit
	tenths := q*10 + (r*10+unit/2)/unit
	if tenths >= 10000 && k < 6 { // 999.96 MB rounds up to 1 GB
		k, unit = k+1, unit*1000
		q, r = b/unit, b%unit
		tenths = q*10 + (r*10+unit/2)/unit
	}
	var out [32]byte
	o := strconv.AppendUint(out[:0], tenths/10, 10)
	if d := tenths % 10; d != 0 {
		o = append(o, '.', byte('0'+d))
	}
	o = append(o, ' ', names[k], 'B')
	return string(o)
}

// Number parses one plain number: "3", "2.5", "2,5" (decimal comma),
// "1,000" (thousands), "-4", "about 10". Numbers glued to letters ("2nd",
// "iphone13") are not plain and are skipped. Errors: ErrAmbiguous for two
// different numbers, ErrNoNumber otherwise.
func Number(s string) (float64, error) {
	var buf [MaxLen]byte
	n, _ := normalizeInto(&buf, s)
	b := buf[:n]
	found := false
	var val float64
	for i := 0; i < len(b); {
		if !numberStart(b, i) {
			i = skipNonNumber(b, i)
			continue
		}
		nm := scanNumber(b, i)
		if gluedToWord(b, nm.end) {
			i = skipWord(b, nm.end)
			continue
		}
		i = nm.end
		if !nm.ok {
			return 0, errMalformedNum
		}
		v, ok := nm.float(b)
		if !ok {
			return 0, errNumTooLarge
		}
		if found && v != val {
			return 0, ErrAmbiguous
		}
		found, val = true, v
	}
	if !found {
		return 0, ErrNoNumber
	}
	return val, nil
}

// number is one number as written, digits and separators already read.
type number struct {
	start, end int // the digits and separators, without any sign
	neg        bool
	ok         bool   // well formed: at most one decimal separator
	intPart    uint64 // saturates at math.MaxUint64
	frac       uint64 // the first 18 fraction digits
	fracDigits int
}

// maxFracDigits keeps frac*10 in range; further digits change a size by
// less than a byte.
const maxFracDigits = 18

var pow10 = func() (p [maxFracDigits + 1]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// numberStart reports whether a number begins at b[i]: a digit, or a point
// before a digit (".5 GB"). Digits inside words never get here because
// skipNonNumber steps over whole words.
func numberStart(b []byte, i int) bool {
	return isDigit(b[i]) || (b[i] == '.' && i+1 < len(b) && isDigit(b[i+1]))
}

// scanNumber reads the number that starts at b[i].
func scanNumber(b []byte, i int) number {
	nm := number{start: i, ok: true}
	// A minus directly before the number, not after another number or word
	// ("3-5 GB" is a range, not minus five).
	switch {
	case i >= 1 && b[i-1] == '-' && (i == 1 || !isAlnum(b[i-2])):
		nm.neg = true
	case i >= 3 && string(b[i-3:i]) == "\u2212" && (i == 3 || !isAlnum(b[i-4])):
		nm.neg = true
	}
	e := i
	for e < len(b) && (isDigit(b[e]) || ((b[e] == '.' || b[e] == ',') && e+1 < len(b) && isDigit(b[e+1]))) {
		e++
	}
	nm.end = e
	point := false
	for k := i; k < e; k++ {
		c := b[k]
		switch {
		case isDigit(c):
			d := uint64(c - '0')
			switch {
			case point:
				if nm.fracDigits < maxFracDigits {
					nm.frac = nm.frac*10 + d
					nm.fracDigits++
				}
			case nm.intPart > (math.MaxUint64-d)/10:
				nm.intPart = math.MaxUint64
			default:
				nm.intPart = nm.intPart*10 + d
			}
		case c == ',' && thousands(b[k+1:e]):
			if point {
				nm.ok = false // "1.5,000"
			}
		default: // '.' or a decimal comma
			if point {
				nm.ok = false // "1.2.3"
			}
			point = true
		}
	}
	return nm
}

// thousands reports whether the digits after a comma make it a thousands
// separator: exactly three digits, then a non-digit or the end.
func thousands(rest []byte) bool {
	return len(rest) >= 3 && isDigit(rest[0]) && isDigit(rest[1]) && isDigit(rest[2]) &&
		(len(rest) == 3 || !isDigit(rest[3]))
}

// times returns the number times mult, rounded to the nearest whole, and
// false when that exceeds maxSize. It works in integers: go-humanize's
// ParseBytes multiplies in float64 and truncates, which reads "4.1 GB" as
// 4099999999 bytes and "8.2 MB" as 8199999.
func (nm number) times(mult uint64) (uint64, bool) {
	hi, v := bits.Mul64(nm.intPart, mult)
	if hi != 0 {
		return 0, false
	}
	if nm.fracDigits > 0 {
		// frac < 10^d and mult < 2^64, so the high word is below 10^d and
		// Div64 cannot overflow.
		div := pow10[nm.fracDigits]
		fh, fl := bits.Mul64(nm.frac, mult)
		q, r := bits.Div64(fh, fl, div)
		if r >= div-r {
			q++
		}
		var carry uint64
		v, carry = bits.Add64(v, q, 0)
		if carry != 0 {
			return 0, false
		}
	}
	return v, v <= maxSize
}

// float returns the number's value, rounded correctly, and false when it is
// out of float64 range.
func (nm number) float(b []byte) (float64, bool) {
	// Rebuild the number in Go syntax and let strconv round it: summing
	// parts by hand would round twice.
	var buf [MaxLen + 2]byte
	o := buf[:0]
	if nm.neg {
		o = append(o, '-')
	}
	o = append(o, '0')
	for k := nm.start; k < nm.end; k++ {
		c := b[k]
		if c == ',' && thousands(b[k+1:nm.end]) {
			continue
		}
		if !isDigit(c) {
			c = '.'
		}
		o = append(o, c)
	}
	f, err := strconv.ParseFloat(string(o), 64)
	return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
}

// unitAt reads a unit word at b[i:], after at most one space, and returns
// where it ends and its size in bytes.
func unitAt(b []byte, i int) (end int, mult uint64, ok bool) {
	if i < len(b) && b[i] == ' ' {
		i++
	}
	e := i
	for e < len(b) && b[e] >= 'a' && b[e] <= 'z' {
		e++
	}
	if e == i || gluedToWord(b, e) || (e < len(b) && isDigit(b[e])) {
		return 0, 0, false
	}
	mult, ok = units[string(b[i:e])]
	return e, mult, ok
}

// connectors join two numbers into a range or a list of choices.
var connectors = buildSet("or", "to", "-", "–", "—", "and", "/", "of", "out of", "or maybe", "vs", "~")

// isConnector reports whether gap, between two numbers, makes them a range.
func isConnector(gap []byte) bool {
	for len(gap) > 0 && gap[0] == ' ' {
		gap = gap[1:]
	}
	for len(gap) > 0 && gap[len(gap)-1] == ' ' {
		gap = gap[:len(gap)-1]
	}
	return connectors[string(gap)]
}

func isAlnum(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// isWordRune reports letters, digits and marks, in any script.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return isAlnum(byte(r))
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// gluedToWord reports whether a letter follows directly at b[i]: then the
// number before it is part of a word ("2nd", "a15") or carries a unit.
func gluedToWord(b []byte, i int) bool {
	if i >= len(b) {
		return false
	}
	r, _ := utf8.DecodeRune(b[i:])
	return isWordRune(r) && !(r < utf8.RuneSelf && isDigit(byte(r)))
}

// skipWord returns the end of the word (letters and digits) at b[i].
func skipWord(b []byte, i int) int {
	for i < len(b) {
		r, size := utf8.DecodeRune(b[i:])
		if !isWordRune(r) {
			break
		}
		i += size
	}
	return i
}

// skipNonNumber steps past whatever is at b[i]: a whole word, so digits in
// "iphone13" are not read as a number, or one other rune.
func skipNonNumber(b []byte, i int) int {
	r, size := utf8.DecodeRune(b[i:])
	if isWordRune(r) {
		return skipWord(b, i)
	}
	return i + size
}
