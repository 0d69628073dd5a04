package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFlowsCommandsTakeAGuideFile(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join("flows", "whatsapp-icloud.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The shipped guide under another id: a guide author's copy.
	mine := filepath.Join(dir, "mine.yaml")
	if err := os.WriteFile(mine, []byte(strings.Replace(string(data), "id: whatsapp-icloud", "id: my-backups", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "", "flows", "graph", mine, "--format", "dot")
	if code != 0 || !strings.Contains(stdout, "digraph fsm") || !strings.Contains(stdout, "fix_icloud_access") {
		t.Errorf("graph FILE: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "", "flows", "paths", mine)
	if code != 0 || !strings.HasPrefix(stdout, "#") {
		t.Errorf("paths FILE: exit %d\n%.200s%s", code, stdout, stderr)
	}

	// The shipped guide copied as is clashes with the built-in one.
	clash := filepath.Join(dir, "clash.yaml")
	if err := os.WriteFile(clash, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLI(t, "", "flows", "check", clash)
	if code != 1 || !strings.Contains(stderr, clash+`:18: guide id "whatsapp-icloud" is already used by the built-in guide`) || strings.Contains(stdout, "ok ") {
		t.Errorf("check FILE with a built-in id: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}
