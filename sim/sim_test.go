package sim

import (
	"context"
	"flag"
	"os"
	"strings"
	"testing"

	"troubleshooter/flows"
)

// floorSeed is the fixed seed of the CI floor.
const floorSeed = 20261204

// TestHarnessFloor is the CI floor: with 400 users of the default mix at a
// fixed seed, at least 95% must reach their right fix.
func TestHarnessFloor(t *testing.T) {
	rep, err := Run(context.Background(), Options{Users: 400, Seed: floorSeed})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := rep.Write(&b); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
	if rep.Users != 400 {
		t.Errorf("report has %d users, want 400", rep.Users)
	}
	if rep.RightShare < TargetRightShare {
		t.Errorf("right-fix share %.1f%% is under the %.0f%% floor", 100*rep.RightShare, 100*TargetRightShare)
	}
	if rep.Errors > 0 {
		t.Errorf("%d output lines had an error field", rep.Errors)
	}
	if len(rep.UnknownSteps) > 0 {
		t.Errorf("the bot asked steps the user model does not know: %v", rep.UnknownSteps)
	}
}

// brokenRunner builds the built-in guides with the WhatsApp guide's text
// changed by edit.
func brokenRunner(t *testing.T, edit func(string) string) *flows.Runner {
	t.Helper()
	data, err := os.ReadFile("../flows/whatsapp-icloud.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := edit(string(data))
	if text == string(data) {
		t.Fatal("the edit changed nothing: the guide's text moved on, update the test")
	}
	broken, err := flows.Parse("whatsapp-icloud-broken.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	guides, err := flows.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var compiled []*flows.Compiled
	for _, g := range guides {
		if g.ID == GuideID {
			g = broken
		}
		c, err := flows.Compile(g, nil)
		if err != nil {
			t.Fatal(err)
		}
		compiled = append(compiled, c)
	}
	r, err := flows.NewRunner(compiled, "")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestHarnessCanFail runs the harness against a guide whose "It's off"
// answer skips the fix that turns the switch on: the share must drop
// under the floor, and the switch_off users must be the ones missing.
func TestHarnessCanFail(t *testing.T) {
	runner := brokenRunner(t, func(s string) string {
		return strings.Replace(s, "        next: fix_icloud_access\n", "        next: symptom\n", 1)
	})
	opts := Options{Users: 300, Seed: floorSeed}
	good, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Runner = runner
	bad, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("right-fix share: guide %.1f%%, broken guide %.1f%%", 100*good.RightShare, 100*bad.RightShare)
	if bad.RightShare >= TargetRightShare || bad.RightShare > good.RightShare-0.05 {
		t.Errorf("the broken guide still scores %.1f%% (the real one %.1f%%): the harness cannot fail", 100*bad.RightShare, 100*good.RightShare)
	}
	for _, c := range bad.ByCause {
		if c.Cause == CauseSwitchOff && c.RightShare > 0.7 {
			t.Errorf("switch_off users still reach their fix %.0f%% of the time with the broken guide", 100*c.RightShare)
		}
	}
}

// TestRunIsReproducible: the same seed gives the same figures.
func TestRunIsReproducible(t *testing.T) {
	a, err := Run(context.Background(), Options{Users: 60, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(context.Background(), Options{Users: 60, Seed: 7, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if a.Figures != b.Figures || a.Messages != b.Messages {
		t.Errorf("same seed, different figures:\n%+v\n%+v", a.Figures, b.Figures)
	}
}

func TestOptionsErrors(t *testing.T) {
	for _, o := range []Options{
		{Users: -1},
		{Mix: map[string]int{"gremlins": 3}},
		{Mix: map[string]int{CauseOutage: -1}},
		{Mix: map[string]int{CauseOutage: 0}},
	} {
		if _, err := Run(context.Background(), o); err == nil {
			t.Errorf("Run(%+v) = nil error", o)
		}
	}
}

func TestAllot(t *testing.T) {
	got := map[string]int{}
	for _, c := range allot(1000, DefaultMix, newRand(1)) {
		got[c]++
	}
	for c, w := range DefaultMix {
		if got[c] != w*10 {
			t.Errorf("%s: %d users, want %d", c, got[c], w*10)
		}
	}
	if n := len(allot(7, DefaultMix, newRand(1))); n != 7 {
		t.Errorf("allot(7) gave %d users", n)
	}
}

var (
	flagUsers = flag.Int("sim.users", 0, "run TestReport with this many users")
	flagSeed  = flag.Uint64("sim.seed", 1, "TestReport's seed")
)

// TestReport prints a full report when -sim.users is given, e.g.
//
//	go test ./sim/ -run TestReport -v -sim.users 1000 -sim.seed 1
func TestReport(t *testing.T) {
	if *flagUsers == 0 {
		t.Skip("give -sim.users N to print a report")
	}
	rep, err := Run(context.Background(), Options{Users: *flagUsers, Seed: *flagSeed})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := rep.Write(&b); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
}
