package bot

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	inner := errors.New("i/o timeout")
	err := &url.Error{Op: "Post", URL: "https://discord.com/api/v9/webhooks/2/SECRET_TOKEN?wait=true", Err: inner}
	got := RedactURL(err)
	if strings.Contains(got.Error(), "SECRET_TOKEN") || !strings.Contains(got.Error(), "discord.com") || !errors.Is(got, inner) {
		t.Errorf("RedactURL = %v", got)
	}
	plain := errors.New("plain")
	if RedactURL(plain) != plain {
		t.Error("a plain error was changed")
	}
	if RedactURL(nil) != nil {
		t.Error("nil became an error")
	}
}
