package redisstore

import (
	"context"
	"strings"
	"testing"
)

// An unparseable URL's error never carries its password, however the URL
// library quotes it.
func TestOpenErrorHidesThePassword(t *testing.T) {
	for _, url := range []string{
		`redis://:pa"ss-SECRET7@127.0.0.1:6379/0`,
		`redis://:pa\ss-SECRET7@127.0.0.1:6379/x`,
		"redis://:pass-SECRET7@127.0.0.1:notaport/0",
	} {
		_, err := Open(context.Background(), Config{URL: url})
		if err == nil {
			t.Errorf("%s: opened", url)
			continue
		}
		if strings.Contains(err.Error(), "SECRET7") {
			t.Errorf("the error prints the password: %v", err)
		}
	}
}
