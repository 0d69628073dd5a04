// Package redistest finds the Redis that tests use, or starts a private
// one for tests that stop it.
package redistest

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// URL returns REDIS_URL. When it is unset the test is skipped with a
// message saying how to enable it, except where TROUBLESHOOTER_REQUIRE_REDIS
// is set (CI sets it), where the test fails instead.
func URL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		if os.Getenv("TROUBLESHOOTER_REQUIRE_REDIS") != "" {
			t.Fatal("REDIS_URL is not set but TROUBLESHOOTER_REQUIRE_REDIS is")
		}
		t.Skip("REDIS_URL is not set; start redis-server on 127.0.0.1 and set REDIS_URL=redis://127.0.0.1:6379/0")
	}
	return url
}

// Start starts a throwaway redis-server on a free loopback port for one
// test and returns its URL and process (for SIGSTOP/SIGCONT); it is killed
// when the test ends. It skips the test when redis-server is not installed,
// unless TROUBLESHOOTER_REQUIRE_REDIS=1.
func Start(t testing.TB) (string, *os.Process) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("TROUBLESHOOTER_REQUIRE_REDIS") == "1" {
			t.Fatal("redis-server is not installed, and TROUBLESHOOTER_REQUIRE_REDIS=1")
		}
		t.Skip("redis-server is not installed (set TROUBLESHOOTER_REQUIRE_REDIS=1 to make this an error)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	for range 100 {
		if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			c.Close()
			return "redis://127.0.0.1:" + port + "/0", cmd.Process
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("redis-server did not start")
	return "", nil
}
