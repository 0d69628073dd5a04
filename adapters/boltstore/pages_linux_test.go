//go:build linux

package boltstore

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"troubleshooter/bot"
)

// mappedKB is how much of path's memory map is resident in this process
// (the Rss of its mappings in /proc/self/smaps).
func mappedKB(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kb, in := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			in = len(fields) >= 6 && fields[5] == path
			continue
		}
		if in && len(fields) >= 2 && fields[0] == "Rss:" {
			n, err := strconv.Atoi(fields[1])
			if err != nil {
				t.Fatal(err)
			}
			kb += n
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return kb
}

// TestOpenLeavesTheFileOutOfRSS: Open's check reads every page of an
// existing file through the memory map; afterwards those pages must not
// stay resident in the process (a restarted bot with 100k stored sessions
// counted its whole file, 60 MB more, in its RSS). Nor may pages that
// saves and loads read stay resident for longer than dropEvery commits.
func TestOpenLeavesTheFileOutOfRSS(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.db")
	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// 4000 sessions of 2 kB, saved 64 at a time so they share commits.
	var wg sync.WaitGroup
	for w := range 64 {
		wg.Go(func() {
			for i := w; i < 4000; i += 64 {
				s := &bot.Session{Key: fmt.Sprintf("key-%06d", i), Guide: "g", Step: strings.Repeat("x", 2000)}
				if err := st.Save(ctx, s, nil); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err = Open(path) // checks the whole file: it is under checkAlways
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	size := int(fi.Size() / 1024)
	if kb := mappedKB(t, path); kb > size/4 {
		t.Errorf("after Open, %d kB of the %d kB file are resident in the process; want at most a quarter", kb, size)
	}

	// Reading every session maps the whole file again; the next
	// dropEvery-th group commit gives it back.
	for i := range 4000 {
		if _, err := st.Load(ctx, fmt.Sprintf("key-%06d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if kb := mappedKB(t, path); kb < size/2 {
		t.Fatalf("after reading every session, only %d kB of the %d kB file are resident: the test measures nothing", kb, size)
	}
	for range dropEvery {
		st.committed()
	}
	if kb := mappedKB(t, path); kb > size/4 {
		t.Errorf("after %d commits, %d kB of the %d kB file are still resident; want at most a quarter", dropEvery, kb, size)
	}
}
