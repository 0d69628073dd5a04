//go:build race

package slack

// scaleConversations is TestOrderAndCountAtScale's size under the race
// detector, which slows the bot 5–10×: 200 conversations × 10 messages
// still run every queue, bound and ordering path, in seconds on 2 shared
// cores. Without -race the test runs all 1,000 (scale_norace_test.go).
const scaleConversations = 200

// scaleMaxQueued is lower than the default under -race, so that the
// smaller run still reaches max_queued_turns and redelivers refused
// messages.
const scaleMaxQueued = 256
