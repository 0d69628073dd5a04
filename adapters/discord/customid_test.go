package discord

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"troubleshooter/bot"
)

func TestParseCustomID(t *testing.T) {
	tests := []struct {
		in      string
		want    customID
		wantErr string // substring; "" for success
	}{
		{"ts1|c|700000000000000001|icloud|on", customID{Kind: kindChoice, Owner: alice, Step: "icloud", Choice: "on"}, ""},
		{"ts1|t|700000000000000001|size|size", customID{Kind: kindType, Owner: alice, Step: "size", Choice: "size"}, ""},
		{"ts1|m|700000000000000001|size|", customID{Kind: kindModal, Owner: alice, Step: "size"}, ""},
		{"ts1|s|1|step|2", customID{Kind: kindSelect, Owner: "1", Step: "step", Choice: "2"}, ""},
		{"ts1|c|1|a%7Cb|x%25y", customID{Kind: kindChoice, Owner: "1", Step: "a|b", Choice: "x%y"}, ""},
		{"", customID{}, "not a troubleshooter"},
		{"ts0|c|1|s|c", customID{}, "not a troubleshooter"},
		{"other-bot:button", customID{}, "not a troubleshooter"},
		{"ts1|c|1|s", customID{}, "4 parts"},
		{"ts1|c|1|s|c|extra", customID{}, "6 parts"},
		{"ts1|z|1|s|c", customID{}, "unknown kind"},
		{"ts1|c|1|s|", customID{}, "needs a choice"},
		{"ts1|c|abc|s|c", customID{}, "not a Discord user id"},
		{"ts1|c||s|c", customID{}, "not a Discord user id"},
		{"ts1|c|123456789012345678901|s|c", customID{}, "not a Discord user id"},
		{"ts1|c|1||c", customID{}, "empty step"},
		{"ts1|c|1|s%|c", customID{}, "bad escape"},
		{"ts1|c|1|s|%7", customID{}, "bad escape"},
		{"ts1|c|1|" + strings.Repeat("s", 100) + "|c", customID{}, "longer than"},
	}
	for _, tt := range tests {
		got, err := parseCustomID(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseCustomID(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseCustomID(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	if _, err := parseCustomID("x|y"); !errors.Is(err, errNotOurs) {
		t.Errorf("foreign id: err = %v, want errNotOurs", err)
	}
}

func TestEncodeCustomID(t *testing.T) {
	id, err := customID{Kind: kindChoice, Owner: alice, Step: "fix_delete_backup", Choice: "not_fixed"}.encode()
	if err != nil || id != "ts1|c|700000000000000001|fix_delete_backup|not_fixed" {
		t.Fatalf("encode = %q, %v", id, err)
	}
	if _, err := (customID{Kind: kindChoice, Owner: alice, Step: strings.Repeat("x", 60), Choice: strings.Repeat("y", 20)}).encode(); err == nil || !strings.Contains(err.Error(), "Discord allows 100") {
		t.Errorf("too long: err = %v", err)
	}
	if _, err := (customID{Kind: kindChoice, Owner: "bob", Step: "s", Choice: "c"}).encode(); err == nil {
		t.Error("bad owner encoded")
	}
}

func TestCloseCustomID(t *testing.T) {
	const g, c, th, u = "800000000000000001", "800000000000000002", "1100000000000000004", "700000000000000001"
	max20 := strings.Repeat("9", 20)
	tests := []struct {
		name    string
		addr    bot.Address
		want    string
		wantErr string
	}{
		{"thread", bot.Address{Platform: Platform, Workspace: g, Channel: c, Thread: th, User: u}, "ts1|x|" + u + "|" + c + "|" + g + "." + th, ""},
		{"channel", bot.Address{Platform: Platform, Workspace: g, Channel: c, User: u}, "ts1|x|" + u + "|" + c + "|" + g + ".", ""},
		{"dm", bot.Address{Platform: Platform, Channel: c, User: u}, "ts1|x|" + u + "|" + c + "|.", ""},
		{"longest ids", bot.Address{Platform: Platform, Workspace: max20, Channel: max20, Thread: max20, User: max20}, "ts1|x|" + max20 + "|" + max20 + "|" + max20 + "." + max20, ""},
		{"no user", bot.Address{Platform: Platform, Channel: c}, "", "owner"},
		{"no channel", bot.Address{Platform: Platform, User: u}, "", "channel"},
		{"slack ids", bot.Address{Platform: "slack", Workspace: "T1", Channel: "C1", User: "U1"}, "", "not a Discord"},
		{"thread without guild", bot.Address{Platform: Platform, Channel: c, Thread: th, User: u}, "", "<guild>.<thread>"},
		{"dotted guild", bot.Address{Platform: Platform, Workspace: "1.2", Channel: c, User: u}, "", "<guild>.<thread>"},
	}
	for _, tt := range tests {
		got, err := closeCustomID(tt.addr)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: closeCustomID = %q, %v; want an error with %q", tt.name, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want || len(got) > maxCustomID {
			t.Errorf("%s: closeCustomID = %q (%d), %v; want %q", tt.name, got, len(got), err, tt.want)
			continue
		}
		cid, err := parseCustomID(got)
		if err != nil || cid.Kind != kindClose || closeAddress(cid) != tt.addr {
			t.Errorf("%s: parse back = %+v → %+v, %v", tt.name, cid, closeAddress(cid), err)
		}
	}
	for _, bad := range []string{"ts1|x|1|2|3", "ts1|x|1|2|", "ts1|x|1|2|.3", "ts1|x|1|2|a.", "ts1|x|1|2|1.2.3.4", "ts1|x|1|2|1.2.0", "ts1|x|1|2|1.2.-3", "ts1|x|1|2|1.2.03", "ts1|x|1||1.", "ts1|x|1|c|1."} {
		if _, err := parseCustomID(bad); err == nil {
			t.Errorf("parseCustomID(%q) accepted", bad)
		}
	}
}

// FuzzCloseCustomID: every Discord address encodes within 100 characters
// or is refused, and what encodes parses back to the same address.
func FuzzCloseCustomID(f *testing.F) {
	f.Add("800000000000000001", "800000000000000002", "1100000000000000004", "700000000000000001")
	f.Add("", "7700000000000000001", "", "700000000000000001")
	f.Add("1.2", "3", "", "4")
	f.Add("", "3", "5", "4")
	f.Add(".", "0", "1", "0") // found by fuzzing: "..1" read back as a start time
	f.Fuzz(func(t *testing.T, guild, channel, thread, user string) {
		a := bot.Address{Platform: Platform, Workspace: guild, Channel: channel, Thread: thread, User: user}
		id, err := closeCustomID(a)
		if err != nil {
			return
		}
		if len(id) > maxCustomID {
			t.Fatalf("%+v encoded to %d characters", a, len(id))
		}
		c, err := parseCustomID(id)
		if err != nil || c.Kind != kindClose || closeAddress(c) != a {
			t.Fatalf("%+v → %q → %+v, %v", a, id, closeAddress(c), err)
		}
	})
}

func FuzzParseCustomID(f *testing.F) {
	for _, s := range []string{"ts1|c|1|icloud|on", "ts1|m|1|size|", "ts1|c|1|a%7Cb|x%25y", "ts1|s|1|s|2", "", "|||||", "ts1|c|1|%|%",
		"ts1|x|700000000000000001|800000000000000002|800000000000000001.1100000000000000004", "ts1|x|1|2|.", "ts1|x|1|2|.3", "ts1|x|1|2|1.2.3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCustomID(s)
		if err != nil {
			return
		}
		// Whatever parses must encode back to an id that parses the same.
		again, err := c.encode()
		if err != nil {
			t.Fatalf("parsed %q to %+v, which does not encode: %v", s, c, err)
		}
		c2, err := parseCustomID(again)
		if err != nil || c2 != c {
			t.Fatalf("round trip %q → %+v → %q → %+v, %v", s, c, again, c2, err)
		}
	})
}

func FuzzEncodeCustomID(f *testing.F) {
	f.Add("c", alice, "icloud", "on")
	f.Add("s", "1", "a|b%", "1")
	f.Fuzz(func(t *testing.T, kind, owner, step, choice string) {
		c := customID{Kind: kind, Owner: owner, Step: step, Choice: choice}
		s, err := c.encode()
		if err != nil {
			return
		}
		if len(s) > maxCustomID {
			t.Fatalf("encoded %d characters", len(s))
		}
		got, err := parseCustomID(s)
		if err != nil || got != c {
			t.Fatalf("%+v → %q → %+v, %v", c, s, got, err)
		}
	})
}

func TestStepRefCarriesTheGuideVersion(t *testing.T) {
	for _, c := range []struct{ step, version, ref string }{
		{"size", "3", "size@3"}, {"size", "", "size"}, {"fix_update", "2024-11", "fix_update@2024-11"},
	} {
		ref := stepRef(c.step, c.version)
		if ref != c.ref || stepOf(ref) != c.step || versionOf(ref) != c.version {
			t.Errorf("stepRef(%q, %q) = %q → %q, %q", c.step, c.version, ref, stepOf(ref), versionOf(ref))
		}
	}
}

// TestCloseCustomIDCarriesTheHandoffStart: the Close button names the
// handoff it was posted for, and fits Discord's 100 characters with the
// longest ids.
func TestCloseCustomIDCarriesTheHandoffStart(t *testing.T) {
	long := "18446744073709551615" // the largest snowflake: 20 digits
	a := bot.Address{Platform: Platform, Workspace: long, Channel: long, Thread: long, User: long}
	started := time.Unix(4102444800, 0) // 2100-01-01
	id, err := closeCustomIDAt(a, started)
	if err != nil || len(id) > 100 {
		t.Fatalf("closeCustomIDAt = %q (%d), %v; want at most 100 characters", id, len(id), err)
	}
	c, err := parseCustomID(id)
	if err != nil || closeAddress(c) != a || !closeStarted(c).Equal(started) {
		t.Errorf("%q parsed to %+v, %v, %v", id, closeAddress(c), closeStarted(c), err)
	}
	old, _ := closeCustomID(a) // posted before buttons carried the start
	if c, err := parseCustomID(old); err != nil || closeAddress(c) != a || !closeStarted(c).IsZero() {
		t.Errorf("old-style %q parsed to %+v, %v, %v", old, closeAddress(c), closeStarted(c), err)
	}
	for _, bad := range []string{id + "x!", strings.Replace(id, "."+strconv.FormatInt(started.Unix(), 36), ".0", 1), strings.Replace(id, "."+strconv.FormatInt(started.Unix(), 36), ".-1", 1)} {
		if _, err := parseCustomID(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
