package flows

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
)

// builtin holds the guides shipped inside the binary.
//
//go:embed *.yaml
var builtin embed.FS

// Builtin parses the guides embedded in the binary, in file-name order.
func Builtin() ([]*Guide, error) {
	names, err := fs.Glob(builtin, "*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	guides := make([]*Guide, 0, len(names))
	for _, name := range names {
		data, err := builtin.ReadFile(name)
		if err != nil {
			return nil, err
		}
		g, err := Parse(path.Join("flows", name), data)
		if err != nil {
			return nil, err
		}
		guides = append(guides, g)
	}
	return guides, nil
}

// LoadFile reads and parses one guide file.
func LoadFile(file string) (*Guide, error) {
	fi, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("guide file: %w", err)
	}
	if fi.Size() > MaxGuideSize {
		return nil, &Problem{File: file, Msg: fmt.Sprintf("file is %d bytes; guides are limited to %d", fi.Size(), MaxGuideSize)}
	}
	if !fi.Mode().IsRegular() {
		return nil, &Problem{File: file, Msg: "not a regular file (a guide is a YAML file)"}
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("guide file: %w", err)
	}
	defer f.Close()
	// Read through a limit too: the file may change between Stat and
	// Open (swapped for /dev/zero under a running serve).
	data, err := io.ReadAll(io.LimitReader(f, MaxGuideSize+1))
	if err != nil {
		return nil, fmt.Errorf("guide file: %w", err)
	}
	if len(data) > MaxGuideSize {
		return nil, &Problem{File: file, Msg: fmt.Sprintf("file is over %d bytes; guides are limited to %d", MaxGuideSize, MaxGuideSize)}
	}
	return Parse(file, data)
}

// Set is what LoadSet loads: the built-in guides followed by extra files,
// each compiled with its configured values.
type Set struct {
	Guides []*Compiled
}

// LoadSet parses and compiles the built-in guides (unless skipBuiltin) and
// the guide files, applying values[guideID] to each guide. It reports every
// problem in every file at once. A value for a guide that is not loaded, or
// a value name a guide does not declare, is an error: it is almost always a
// typo in config.yaml that would otherwise be silently ignored.
func LoadSet(files []string, values map[string]map[string]string, skipBuiltin bool) (*Set, error) {
	var parsed []*Guide
	var errs []error
	builtins := map[*Guide]bool{}
	if !skipBuiltin {
		b, err := Builtin()
		if err != nil {
			return nil, fmt.Errorf("built-in guides: %w", err)
		}
		parsed = append(parsed, b...)
		for _, g := range b {
			builtins[g] = true
		}
	}
	for _, f := range files {
		g, err := LoadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		parsed = append(parsed, g)
	}
	set := &Set{}
	seen := map[string]*Guide{}
	for _, g := range parsed {
		if prev, dup := seen[g.ID]; dup && g.ID != "" {
			msg := fmt.Sprintf("guide id %q is already used by %s", g.ID, prev.File)
			if builtins[prev] {
				msg = fmt.Sprintf("guide id %q is already used by the built-in guide %s; give this guide another id (or set guides.skip_builtin in config.yaml)", g.ID, prev.File)
			}
			errs = append(errs, &Problem{File: g.File, Line: g.KeyLine("id"), Msg: msg})
			continue
		}
		seen[g.ID] = g
		vals := values[g.ID]
		for name := range vals {
			if _, ok := g.Values[name]; !ok {
				errs = append(errs, fmt.Errorf("config: guides.values.%s.%s: guide %s declares no value %q (it declares: %s)",
					g.ID, name, g.ID, name, strings.Join(sortedKeys(g.Values), ", ")))
			}
		}
		c, err := Compile(g, vals)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		set.Guides = append(set.Guides, c)
	}
	for id := range values {
		if _, ok := seen[id]; !ok {
			errs = append(errs, fmt.Errorf("config: guides.values.%s: no guide with id %q is loaded (loaded: %s)",
				id, id, strings.Join(slices.Sorted(maps.Keys(seen)), ", ")))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return set, nil
}

// sortedKeys returns m's keys in order, for stable output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
