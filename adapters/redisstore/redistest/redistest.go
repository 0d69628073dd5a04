// Package redistest finds the Redis that tests use.
package redistest

import (
	"os"
	"testing"
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
