package discord

import (
	"encoding/json"
	"sync/atomic"
	"testing"

	"github.com/bwmarrin/discordgo"
)

// FuzzInteractionPayload feeds arbitrary interaction JSON (as a verified
// HTTP interaction or a gateway dispatch would deliver it) through the
// adapter: it must never panic, and every interaction it accepts gets
// exactly one initial response. REST calls go to a local server that
// answers 404.
func FuzzInteractionPayload(f *testing.F) {
	rest := notFoundServer(f)
	a, err := New(Config{Token: "t", ApplicationID: "1", APIURL: rest.URL}, nil)
	if err != nil {
		f.Fatal(err)
	}
	a.session.MaxRestRetries = 0
	eng, _ := testEngine(f)
	for _, seed := range []string{
		`{"id":"1","type":2,"token":"t","guild_id":"5","channel_id":"6","member":{"user":{"id":"7"}},"data":{"name":"troubleshoot","options":[{"name":"problem","type":3,"value":"x"}]}}`,
		`{"id":"1","type":3,"token":"t","channel_id":"6","user":{"id":"7"},"message":{"id":"9","components":[{"type":1,"components":[{"type":2,"custom_id":"ts1|c|7|s|c"}]}]},"data":{"custom_id":"ts1|c|7|s|c","component_type":2}}`,
		`{"id":"1","type":3,"token":"t","channel_id":"6","user":{"id":"7"},"data":{"custom_id":"ts1|s|7|s|1","component_type":3,"values":[]}}`,
		`{"id":"1","type":3,"token":"t","channel_id":"6","user":{"id":"7"},"data":{"custom_id":"ts1|t|7|s|size","component_type":2}}`,
		`{"id":"1","type":5,"token":"t","channel_id":"6","user":{"id":"7"},"data":{"custom_id":"ts1|m|7|s|size","components":[{"type":1,"components":[{"type":4,"custom_id":"answer","value":"3 GB"}]}]}}`,
		`{"id":"1","type":5,"token":"t","channel_id":"6","user":{"id":"7"},"data":{"custom_id":"ts1|m|7|s|size","components":[]}}`,
		`{"id":"1","type":2,"token":"t","user":{"id":"7"}}`,
		`{"id":"1","type":3,"token":"t","member":{}}`,
		`{"id":"1","type":4,"token":"t","user":{"id":"7"},"data":{"name":"troubleshoot"}}`,
		`{"id":"1","type":3,"token":"t","guild_id":"5","channel_id":"6","member":{"user":{"id":"8"},"roles":["3"],"permissions":"0"},"message":{"id":"9"},"data":{"custom_id":"ts1|x|7|6|5.","component_type":2}}`,
		`{"id":"1","type":3,"token":"t","channel_id":"6","user":{"id":"8"},"data":{"custom_id":"ts1|x|7|6|.","component_type":2}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var i discordgo.Interaction
		if json.Unmarshal(body, &i) != nil || i.Type == discordgo.InteractionPing {
			return
		}
		var n atomic.Int32
		a.handleInteraction(eng, &i, func(*discordgo.InteractionResponse) error {
			n.Add(1)
			return nil
		})
		if got := n.Load(); got != 1 {
			t.Fatalf("%d initial responses to %s", got, body)
		}
	})
}

// FuzzMessagePayload feeds arbitrary MESSAGE_CREATE payloads through the
// adapter's message handling: it must never panic, whatever the mode.
func FuzzMessagePayload(f *testing.F) {
	rest := notFoundServer(f)
	eng, _ := testEngine(f)
	var adapters []*Adapter
	for _, mode := range []string{ModeThread, ModeEphemeral, ModeDM} {
		a, err := New(Config{Token: "t", ApplicationID: "1", APIURL: rest.URL, Mode: mode, MessageContent: true}, nil)
		if err != nil {
			f.Fatal(err)
		}
		a.session.MaxRestRetries = 0
		a.botID = "42"
		adapters = append(adapters, a)
	}
	for _, seed := range []string{
		`{"id":"1","channel_id":"6","content":"hi","author":{"id":"7"}}`,
		`{"id":"1","channel_id":"6","guild_id":"5","content":"<@42> help","author":{"id":"7"},"mentions":[{"id":"42"}]}`,
		`{"id":"1","channel_id":"6","guild_id":"5","content":"3 GB","author":{"id":"7"}}`,
		`{"id":"1","channel_id":"6","guild_id":"5","content":"","author":{"id":"7"},"mentions":[null]}`,
		`{"id":"1","channel_id":"6","content":"x","author":{"id":"42","bot":true}}`,
	} {
		f.Add([]byte(seed), uint8(0))
	}
	f.Fuzz(func(t *testing.T, body []byte, mode uint8) {
		var m discordgo.Message
		if json.Unmarshal(body, &m) != nil {
			return
		}
		adapters[int(mode)%len(adapters)].handleMessage(eng, &m)
	})
}
