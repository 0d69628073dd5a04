package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// buildDesc is what the binary knows of its own build, from
// debug.ReadBuildInfo: shown by `version`, logged at start-up and
// exported as troubleshooter_build_info.
type buildDesc struct {
	// Version is the main module's version: a tag or pseudo-version when
	// built with `go build` in a git checkout, "(devel)" otherwise.
	Version string
	// Revision, Time and Modified come from the VCS stamp (vcs.revision,
	// vcs.time, vcs.modified); HasVCS is false when there is none, as in
	// `go run` and `go test` builds.
	Revision string
	Time     string
	Modified bool
	HasVCS   bool
	// Go is the toolchain that built it.
	Go string
}

// readBuild describes the running binary.
func readBuild() buildDesc {
	bi, ok := debug.ReadBuildInfo()
	return describeBuild(bi, ok)
}

// describeBuild turns build info into a buildDesc; ok false (no build
// info at all) gives "(devel)" without VCS.
func describeBuild(bi *debug.BuildInfo, ok bool) buildDesc {
	d := buildDesc{Version: "(devel)", Go: runtime.Version()}
	if !ok || bi == nil {
		return d
	}
	if bi.Main.Version != "" {
		d.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		d.Go = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			d.Revision, d.HasVCS = s.Value, true
		case "vcs.time":
			d.Time = s.Value
		case "vcs.modified":
			d.Modified = s.Value == "true"
		}
	}
	return d
}

// RevisionLabel is the revision as one label value: the commit, with
// "-dirty" when the tree had uncommitted changes, or "unknown".
func (d buildDesc) RevisionLabel() string {
	if !d.HasVCS {
		return "unknown"
	}
	if d.Modified {
		return d.Revision + "-dirty"
	}
	return d.Revision
}

// String is the one-line description `version` prints: the version, then
// the commit, its time and whether the tree was modified, or why there is
// no commit to show.
func (d buildDesc) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "troubleshooter %s", d.Version)
	if !d.HasVCS {
		fmt.Fprintf(&b, ", no VCS information (go run and go test builds have none, nor builds with -buildvcs=false; build with `go build -buildvcs=true` in a git checkout), %s", d.Go)
		return b.String()
	}
	fmt.Fprintf(&b, ", commit %s", d.Revision)
	if d.Time != "" {
		fmt.Fprintf(&b, " of %s", d.Time)
	}
	if d.Modified {
		b.WriteString(", with uncommitted changes (dirty)")
	}
	fmt.Fprintf(&b, ", %s", d.Go)
	return b.String()
}

// logAttrs are the build's fields for the start-up log line.
func (d buildDesc) logAttrs() []any {
	attrs := []any{"version", d.Version, "go", d.Go}
	if !d.HasVCS {
		return append(attrs, "revision", "unknown (no VCS information in this build)")
	}
	return append(attrs, "revision", d.Revision, "vcs_time", d.Time, "dirty", d.Modified)
}
