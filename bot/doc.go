// Package bot is the platform-neutral heart of the troubleshooter: the domain
// types (messages, replies, sessions, outcomes), the Store contract that keeps
// sessions durable, and the Engine that turns one person's messages into a
// guided conversation, one message at a time per conversation.
//
// bot imports only the standard library. It knows no chat platform, no YAML
// and no state-machine library: those live in adapters and flows, and only
// the main package wires them together.
package bot
