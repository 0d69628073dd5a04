package discord

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
)

// discordgo keeps a rate-limit bucket for every bucket id it is given and
// never forgets one, and its Session methods name buckets after
// interaction tokens (each followup, edit and delete), single messages
// (each thread start) and channels (each conversation's thread or DM): a
// bucket, ~400 bytes with its key, for every interaction handled, for the
// life of the process (500 interactions left 500 buckets). The adapter's
// calls therefore go through request, which hands discordgo buckets from
// restBuckets: the same per-route pacing (discordgo still reads
// X-RateLimit-Remaining and -Reset-After into the bucket, holds it for the
// call and waits out a 429 on it), but a bucket is forgotten once its
// route has been idle for bucketIdle, longer than any reset the adapter
// honours (maxRetryAfter).
const bucketIdle = 15 * time.Second

// restBuckets are the rate-limit buckets of routes in use or used lately.
type restBuckets struct {
	mu    sync.Mutex
	m     map[string]*restBucket
	swept time.Time
	now   func() time.Time
}

type restBucket struct {
	b    *discordgo.Bucket
	refs int       // calls holding or waiting for it
	used time.Time // when the last call ended
}

func newRESTBuckets() *restBuckets {
	return &restBuckets{m: make(map[string]*restBucket), now: time.Now}
}

// get returns key's bucket, making it if needed; put must follow.
func (r *restBuckets) get(key string) *discordgo.Bucket {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if now.Sub(r.swept) >= bucketIdle {
		r.swept = now
		for k, e := range r.m {
			if e.refs == 0 && now.Sub(e.used) >= bucketIdle {
				delete(r.m, k)
			}
		}
	}
	e := r.m[key]
	if e == nil {
		// A bucket from a limiter of its own: discordgo's buckets point at
		// their limiter's global reset, which Release writes on a global
		// 429 (the transport pauses counted calls itself, see
		// boundedRateLimits); the limiter goes with the bucket.
		e = &restBucket{b: discordgo.NewRatelimiter().GetBucket(key)}
		r.m[key] = e
	}
	e.refs++
	return e.b
}

// put ends a call's use of key's bucket.
func (r *restBuckets) put(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.m[key]; e != nil {
		e.refs--
		e.used = r.now()
	}
}

// len is how many buckets are remembered.
func (r *restBuckets) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.m)
}

// request makes one REST call as discordgo's Session methods do (its
// client and transport, authorization, retries of 429s and 502s), JSON
// data in and out (out may be nil), under the bucket named bucket (see
// restBuckets).
func (a *Adapter) request(method, uri, bucket string, data, out any, opts ...discordgo.RequestOption) error {
	var body []byte
	if data != nil {
		var err error
		if body, err = json.Marshal(data); err != nil {
			return fmt.Errorf("encode %s request: %w", method, err)
		}
	}
	b := a.buckets.get(bucket)
	defer a.buckets.put(bucket)
	resp, err := a.session.RequestWithLockedBucket(method, uri, "application/json", body, a.session.Ratelimiter.LockBucketObject(b), 0, opts...)
	if err != nil {
		return err
	}
	if out != nil {
		if err := json.Unmarshal(resp, out); err != nil {
			return fmt.Errorf("%w: %w", discordgo.ErrJSONUnmarshal, err)
		}
	}
	return nil
}

// sentID is the one field the adapter reads of a message it sent or
// edited: its id. Decoding Discord's whole message object (author,
// embeds, components, mentions...) into a discordgo.Message took about a
// tenth of the CPU of a discord-http bench run, for a field.
type sentID struct {
	ID string `json:"id"`
}

// sendMessage posts ms in channel (discordgo's ChannelMessageSendComplex,
// without files, which the adapter never sends).
func (a *Adapter) sendMessage(channel string, ms *discordgo.MessageSend, opts ...discordgo.RequestOption) (*discordgo.Message, error) {
	for _, e := range ms.Embeds {
		if e.Type == "" {
			e.Type = discordgo.EmbedTypeRich
		}
	}
	var m sentID
	uri := discordgo.EndpointChannelMessages(channel)
	if err := a.request("POST", uri, uri, ms, &m, opts...); err != nil {
		return nil, err
	}
	return &discordgo.Message{ID: m.ID}, nil
}

// editMessage edits a message the bot sent in a channel.
func (a *Adapter) editMessage(me *discordgo.MessageEdit, opts ...discordgo.RequestOption) (*discordgo.Message, error) {
	var m sentID
	if err := a.request("PATCH", discordgo.EndpointChannelMessage(me.Channel, me.ID), discordgo.EndpointChannelMessage(me.Channel, ""), me, &m, opts...); err != nil {
		return nil, err
	}
	return &discordgo.Message{ID: m.ID}, nil
}

// startThread opens a public thread from message msgID in channel; the
// route's limit is per channel.
func (a *Adapter) startThread(channel, msgID, name string) (*discordgo.Channel, error) {
	var ch discordgo.Channel
	err := a.request("POST", discordgo.EndpointChannelMessageThread(channel, msgID), discordgo.EndpointChannelMessageThread(channel, ""),
		&discordgo.ThreadStart{Name: name, AutoArchiveDuration: threadArchiveMinutes}, &ch)
	if err != nil {
		return nil, err
	}
	return &ch, nil
}

// getChannel looks a channel up.
func (a *Adapter) getChannel(id string) (*discordgo.Channel, error) {
	var ch discordgo.Channel
	uri := discordgo.EndpointChannel(id)
	if err := a.request("GET", uri, uri, nil, &ch); err != nil {
		return nil, err
	}
	return &ch, nil
}

// getMessage looks a message up.
func (a *Adapter) getMessage(channel, id string) (*discordgo.Message, error) {
	var m discordgo.Message
	if err := a.request("GET", discordgo.EndpointChannelMessage(channel, id), discordgo.EndpointChannelMessage(channel, ""), nil, &m); err != nil {
		return nil, err
	}
	return &m, nil
}
