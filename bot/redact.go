package bot

import (
	"errors"
	"fmt"
	"net/url"
)

// RedactURL returns err without the request URL it may carry, for logging:
// platform URLs can hold secrets in their path (Discord interaction tokens,
// Slack response URLs). Only the host is kept. Other errors are returned
// unchanged.
func RedactURL(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	host := "(request)"
	if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
		host = u.Host
	}
	return fmt.Errorf("%s %s: %w", ue.Op, host, ue.Err)
}
