package bench

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// How the bench names users, channels and events (Options.IDs).
const (
	// IDsRandom draws platform-like ids: Slack's U/D/Ev followed by
	// uppercase letters and digits, Discord snowflakes. The default, so
	// that neither a hash's quirks nor sorted keys flatter a figure.
	IDsRandom = "random"
	// IDsCounter derives ids from a sender and message counter, as the
	// bench did before (reproducible, but unlike real ids).
	IDsCounter = "counter"
)

const slackAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// slackID is prefix followed by 9 to 11 random uppercase letters and
// digits, the shape of Slack's user (U…), DM channel (D…) and team ids.
// Safe for concurrent use.
func slackID(prefix string) string {
	n := 9 + rand.IntN(3)
	b := make([]byte, len(prefix), len(prefix)+n)
	copy(b, prefix)
	for range n {
		b = append(b, slackAlphabet[rand.IntN(len(slackAlphabet))])
	}
	return string(b)
}

// discordEpochMs is the first millisecond of 2015 (Unix ms), where
// snowflakes count from.
const discordEpochMs = 1420070400000

// snowflakeAt is a Discord snowflake for time t with the low 22 bits
// (worker, process, increment) taken from low.
func snowflakeAt(t time.Time, low uint64) string {
	return strconv.FormatUint(uint64(t.UnixMilli()-discordEpochMs)<<22|low&(1<<22-1), 10)
}

// snowflake is a random snowflake of the recent past, as user and channel
// ids are. Safe for concurrent use.
func snowflake() string {
	back := time.Duration(rand.Int64N(int64(5 * 365 * 24 * time.Hour)))
	return snowflakeAt(time.Now().Add(-back), rand.Uint64())
}

// counterSnowflake is the counter-mode Discord id of sender c's i-th
// object of a kind (kind 1 users, 2 channels, 3 interactions).
func counterSnowflake(kind, c, i int) string {
	return strconv.FormatUint(uint64(kind)<<58|uint64(c)<<32|uint64(i), 10)
}
