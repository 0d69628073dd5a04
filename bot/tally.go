package bot

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// OutcomeStarted is the kind of the record a flow writes when a conversation
// begins. It is not an ending: it exists so that reports count starts when
// they happen, not when (or whether) the conversation ends. A restart is not
// a new start: the person's conversation goes on from the top (see
// OutcomeRestarted), so ten people of whom one restarts count as ten.
const OutcomeStarted = "started"

// OutcomeResumed is the kind of the record a flow writes when a conversation
// that expired is taken up again (the person picked up where they stopped).
// It cancels that expiry, so that the conversation is counted once, by how
// it finally ends. It carries the expired record's fields (Step, Path,
// Started, and Ended = when it expired), so that its TallyAdds take back
// exactly what the expiry added, in the expiry's own bucket.
const OutcomeResumed = "resumed"

// IsEnding reports whether kind ends a conversation: resolved, escalated,
// stopped or expired. Started, resumed and restarted records are events
// within a conversation, not endings.
func IsEnding(kind string) bool {
	switch kind {
	case OutcomeResolved, OutcomeEscalated, OutcomeStopped, OutcomeExpired:
		return true
	}
	return false
}

// TallyKey names one bucket of running counts: one guide in one UTC hour.
type TallyKey struct {
	Guide string
	Hour  time.Time // truncated to the hour, UTC
}

// String encodes k for use as a store key: the hour as a zero-padded Unix
// hour number first, so that keys sort by time, then the guide id.
func (k TallyKey) String() string {
	return fmt.Sprintf("%010d/%s", k.Hour.Unix()/3600, k.Guide)
}

// ParseTallyKey is the inverse of TallyKey.String.
func ParseTallyKey(s string) (TallyKey, error) {
	hour, guide, ok := strings.Cut(s, "/")
	n, err := strconv.ParseInt(hour, 10, 64)
	if !ok || err != nil || len(hour) != 10 {
		return TallyKey{}, fmt.Errorf("tally key %q: want HOUR/GUIDE", s)
	}
	return TallyKey{Guide: guide, Hour: time.Unix(n*3600, 0).UTC()}, nil
}

// TallyAdd is one change to a running count: add N to Field in Bucket.
type TallyAdd struct {
	Bucket TallyKey
	Field  string
	N      int64
}

// Tally fields every store keeps verbatim; their meaning belongs to the
// report. Per-step fields are the prefix followed by the step id.
const (
	TallyReached = "reached:" // conversations that reached the step
	TallyLeft    = "left:"    // conversations that ended unresolved there
	TallyFixed   = "fixed:"   // conversations the step (a fix) resolved
	TallyTTR     = "ttr:"     // resolved conversations by time-to-resolution bucket
	TallyRestart = "restart:" // restarts made at the step
)

// TallyAdds returns the running-count changes outcome record o makes. Every
// Tallier applies exactly these, for every record passed to Save, in the same
// atomic step as the records themselves, so the counts always agree with the
// records.
//
// The changes, all in the bucket of o's guide and hour (the hour it began
// for a started record, else the hour it ended):
//   - o.Kind: +1 (every kind is counted under its own name);
//   - an ending (IsEnding): +1 "reached:" for each step of o.Path, because
//     a conversation's path is known once it ends;
//   - resolved: +1 "fixed:" at o.Step and +1 in its "ttr:" bucket;
//   - stopped or expired: +1 "left:" at o.Step;
//   - restarted: +1 "restart:" at o.Step, and nothing else: the
//     conversation goes on, and is counted by how it ends;
//   - resumed: every change its expiry made, negated, plus +1 "resumed".
//
// Counts of a bucket can therefore go down (a resumed expiry), but never
// below what the records saved in that bucket add up to.
func TallyAdds(o Outcome) []TallyAdd {
	if o.Guide == "" {
		return nil
	}
	if o.Kind == OutcomeResumed {
		expired := o
		expired.Kind = OutcomeExpired
		adds := TallyAdds(expired)
		for i := range adds {
			adds[i].N = -adds[i].N
		}
		return append(adds, TallyAdd{adds[0].Bucket, OutcomeResumed, 1})
	}
	at := o.Ended
	if o.Kind == OutcomeStarted {
		at = o.Started
	}
	k := TallyKey{Guide: o.Guide, Hour: at.UTC().Truncate(time.Hour)}
	adds := make([]TallyAdd, 1, 3+len(o.Path))
	adds[0] = TallyAdd{k, o.Kind, 1}
	switch o.Kind {
	case OutcomeResolved:
		adds = append(adds, TallyAdd{k, TallyFixed + o.Step, 1}, TallyAdd{k, TallyTTR + strconv.Itoa(TTRBucket(o.Ended.Sub(o.Started))), 1})
	case OutcomeStopped, OutcomeExpired:
		adds = append(adds, TallyAdd{k, TallyLeft + o.Step, 1})
	case OutcomeRestarted:
		adds = append(adds, TallyAdd{k, TallyRestart + o.Step, 1})
	}
	if IsEnding(o.Kind) {
		for _, step := range o.Path {
			adds = append(adds, TallyAdd{k, TallyReached + step, 1})
		}
	}
	return adds
}

// ttrBounds are the upper bounds of the time-to-resolution buckets; the
// last bucket is everything longer.
var ttrBounds = []time.Duration{
	30 * time.Second, time.Minute, 2 * time.Minute, 3 * time.Minute, 5 * time.Minute,
	7 * time.Minute, 10 * time.Minute, 15 * time.Minute, 20 * time.Minute, 30 * time.Minute,
	45 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 24 * time.Hour,
}

// TTRBucket is the index of the time-to-resolution bucket d falls in.
func TTRBucket(d time.Duration) int {
	for i, b := range ttrBounds {
		if d <= b {
			return i
		}
	}
	return len(ttrBounds)
}

// TTRBucketBound is the upper bound of bucket i; 0 for the open last one.
func TTRBucketBound(i int) time.Duration {
	if i >= 0 && i < len(ttrBounds) {
		return ttrBounds[i]
	}
	return 0
}

// Tallier is implemented by stores that keep running counts (TallyAdds of
// every record saved), so that reports read a few hundred buckets instead
// of every record.
//
// Tallies calls fn once per bucket whose hour is at or after since
// truncated to the hour, in time order, with the bucket's counts (fn must
// not keep the map), and stops at fn's first error, returning it. Buckets
// written before the store kept tallies are rebuilt from the records when
// the store opens, or by the store's own documented migration.
type Tallier interface {
	Tallies(ctx context.Context, since time.Time, fn func(TallyKey, map[string]int64) error) error
}

// LeaseLoader is implemented by shared stores that can take a conversation's
// lease and read its session in one round trip. The engine then uses it in
// place of Locker.Lock followed by Store.Load. s is nil, with a nil error,
// when there is no stored session; otherwise it is the caller's own copy.
// The lease is as Locker.Lock describes.
type LeaseLoader interface {
	LockLoad(ctx context.Context, key string, ttl time.Duration) (s *Session, unlock func(), err error)
}

// SaveUnlocker is implemented by shared stores that can save a session and
// release this process's lease on its key in one round trip. SaveUnlock is
// Save, and when the save succeeds the lease on s.Key is released too, so
// that the unlock function returned with it becomes a no-op; on any error
// (ErrConflict included) the lease is kept for the caller to retry or
// unlock.
type SaveUnlocker interface {
	SaveUnlock(ctx context.Context, s *Session, outcomes []Outcome) error
}
