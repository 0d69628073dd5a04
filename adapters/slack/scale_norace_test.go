//go:build !race

package slack

// scaleConversations is TestOrderAndCountAtScale's size: issue 14's 1,000
// conversations × 10 messages (under -race, scale_race_test.go runs fewer).
const scaleConversations = 1000

// scaleMaxQueued is max_queued_turns in the test: the default (0), which
// 1,000 conversations sending 10 messages each do reach.
const scaleMaxQueued = 0
