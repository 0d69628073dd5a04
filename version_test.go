package main

import (
	"bytes"
	"runtime/debug"
	"strings"
	"testing"
)

func TestDescribeBuild(t *testing.T) {
	stamped := func(modified string) *debug.BuildInfo {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20260301120000-154c9af01234+dirty"},
			Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "154c9af01234"},
				{Key: "vcs.time", Value: "2026-03-01T12:00:00Z"}, {Key: "vcs.modified", Value: modified}}}
	}
	cases := []struct {
		name     string
		bi       *debug.BuildInfo
		ok       bool
		line     string
		revision string
	}{
		{"dirty", stamped("true"), true,
			"troubleshooter v0.0.0-20260301120000-154c9af01234+dirty, commit 154c9af01234 of 2026-03-01T12:00:00Z, with uncommitted changes (dirty), go1.26.8",
			"154c9af01234-dirty"},
		{"clean", stamped("false"), true,
			"troubleshooter v0.0.0-20260301120000-154c9af01234+dirty, commit 154c9af01234 of 2026-03-01T12:00:00Z, go1.26.8", "154c9af01234"},
		{"go run", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, true,
			"troubleshooter (devel), no VCS information (go run and go test builds have none, nor builds with -buildvcs=false; build with `go build -buildvcs=true` in a git checkout), go1.26.8", "unknown"},
		{"no build info", nil, false, "troubleshooter (devel), no VCS information", "unknown"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := describeBuild(c.bi, c.ok)
			if got := d.String(); !strings.HasPrefix(got, c.line) {
				t.Errorf("String() = %q\nwant      %q", got, c.line)
			}
			if got := d.RevisionLabel(); got != c.revision {
				t.Errorf("RevisionLabel() = %q, want %q", got, c.revision)
			}
		})
	}
}

// TestVersionCommandSaysWhatItKnows: `version` is never a bare
// "troubleshooter (devel)": a test binary has no VCS stamp, and says so.
func TestVersionCommandSaysWhatItKnows(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"version"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	first, _, _ := strings.Cut(out.String(), "\n")
	if first != readBuild().String() || !strings.Contains(first, "no VCS information") {
		t.Errorf("version printed %q; want %q", first, readBuild().String())
	}
	if !strings.Contains(out.String(), "guide whatsapp-icloud version") {
		t.Errorf("version lacks the built-in guides:\n%s", out.String())
	}
}
