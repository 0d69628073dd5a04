// Package storetest is the conformance suite for bot.Store implementations.
// Every implementation's tests call Run:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) bot.Store { return open(t) })
//	}
//
// The suite checks the contract written on bot.Store: Load/Save/Delete
// semantics, compare-and-swap on Session.Version, copy isolation, outcome
// ordering and filtering, absence of lost updates under concurrency,
// context cancellation and Close; and, for stores that are a bot.Claimer,
// its contract (one first claim per id within the ttl, under concurrency);
// and, for stores that are a bot.Tallier, that the running counts are the
// sum of bot.TallyAdds over the records saved.
package storetest

import (
	"errors"
	"testing"

	"troubleshooter/bot"
)

// Run runs the conformance suite as subtests of t. open is called once per
// subtest and must return a new, empty, open store; the suite closes it
// (and reports an error from that Close) when the subtest ends, so open must
// not register its own Close. open may call t.Fatal.
//
// A store must return an error from Load, Save, Delete and Outcomes when
// the context is already canceled (checking ctx.Err() on entry is enough),
// and Save must then store nothing.
func Run(t *testing.T, open func(t *testing.T) bot.Store) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s bot.Store)
	}{
		{"LoadMissing", testLoadMissing},
		{"SaveLoadRoundTrip", testRoundTrip},
		{"SaveStaleVersion", testStaleVersion},
		{"SaveNewOverExisting", testNewOverExisting},
		{"SaveVersionOnMissingKey", testVersionOnMissing},
		{"CopiesAreIndependent", testCopies},
		{"Delete", testDelete},
		{"DeleteMissing", testDeleteMissing},
		{"Outcomes", testOutcomes},
		{"OutcomesStopOnError", testOutcomesStop},
		{"ConcurrentIncrements", testConcurrentIncrements},
		{"ParallelDistinctKeys", testParallelDistinctKeys},
		{"CanceledContext", testCanceled},
		{"EngineTurnsOnOneConversation", testEngineTurns},
		{"ReplayFiveTimes", testReplay},
		{"DueIndex", testDue},
		{"DueStopOnError", testDueStop},
		{"Close", testClose},
		{"ClaimOnce", testClaimOnce},
		{"ClaimExpires", testClaimExpires},
		{"ClaimIndependent", testClaimIndependent},
		{"ClaimErrors", testClaimErrors},
		{"TalliesSumOfRecords", testTalliesSum},
		{"TalliesSince", testTalliesSince},
		{"TalliesStopOnError", testTalliesStop},
		{"TalliesConflictAddsNothing", testTalliesConflict},
		{"TalliesConcurrent", testTalliesConcurrent},
		{"TalliesCanceledClosed", testTalliesCanceledClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, openStore(t, open))
		})
	}
}

// openStore opens the store for one test and closes it when the test ends,
// unless the test did (a second Close returns ErrClosed). The store is
// passed on unwrapped: a wrapper would hide the optional interfaces
// (Locker, LeaseLoader, SaveUnlocker, Claimer, Tallier) the engine looks
// for, and the suite would test another path than the bot runs.
func openStore(t *testing.T, open func(t *testing.T) bot.Store) bot.Store {
	t.Helper()
	s := open(t)
	if s == nil {
		t.Fatal("open returned a nil store")
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, bot.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}
