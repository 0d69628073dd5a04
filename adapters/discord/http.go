package discord

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"troubleshooter/bot"
)

// InteractionsPath is where main mounts InteractionsHandler.
const InteractionsPath = "/discord/interactions"

const (
	// maxInteractionBody bounds an HTTP interaction's body.
	maxInteractionBody = 1 << 20
	// maxClockSkew is how far X-Signature-Timestamp may be from now.
	maxClockSkew = 5 * time.Minute
	// initialResponseWait bounds how long the HTTP handler waits for the
	// initial response; Discord gives up after 3 seconds.
	initialResponseWait = 2500 * time.Millisecond
	// holdResponse bounds how long the initial response is held for the
	// turn's save.
	holdResponse = 2 * time.Second
)

// InteractionsHandler returns the HTTP handler for Discord's interactions
// endpoint (mounted at /discord/interactions; set the same URL as the
// application's Interactions Endpoint URL). Every request must be a POST
// whose Ed25519 signature (X-Signature-Ed25519 over X-Signature-Timestamp
// and the body) verifies with Config.PublicKey and whose timestamp is
// within 5 minutes of now; anything else gets 401 and is not processed.
// PING is answered with PONG. Other interactions get their initial
// response in the HTTP response; the turn then continues in the background
// (bounded by Run's shutdown when Run is running) and replies through the
// REST API. The handler is safe for concurrent use and does not need Run.
func (a *Adapter) InteractionsHandler(h bot.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body, err := a.verify(r)
		if err != nil {
			a.log.Warn("rejected an HTTP interaction", "remote", r.RemoteAddr, "reason", err)
			http.Error(w, "invalid request signature", http.StatusUnauthorized)
			return
		}
		var i discordgo.Interaction
		if err := json.Unmarshal(body, &i); err != nil {
			http.Error(w, "bad interaction", http.StatusBadRequest)
			return
		}
		if i.Type == discordgo.InteractionPing {
			writeJSON(w, &discordgo.InteractionResponse{Type: discordgo.InteractionResponsePong})
			return
		}
		if !a.work.start() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		// The initial response is held until the turn it causes is saved
		// (its first REST call, or its end, releases it; see ready), so
		// that an acknowledged interaction is never lost to a crash; past
		// holdResponse it goes anyway, within Discord's 3 seconds.
		start := time.Now()
		first := make(chan *discordgo.InteractionResponse, 1)
		release, written := make(chan struct{}), make(chan struct{})
		var once sync.Once
		var writeErr error
		open := func() { once.Do(func() { close(release) }) }
		wait := func() error {
			open()
			select {
			case <-written:
				return writeErr
			case <-time.After(initialResponseWait):
				return errors.New("initial response not written in time")
			}
		}
		if _, dup := a.held.m.LoadOrStore(i.ID, wait); dup {
			open() // the same interaction twice at once: hold neither
		} else {
			defer a.held.m.Delete(i.ID)
		}
		// Taken like a gateway event (an interaction is a queue of its
		// own): past discord.max_queued turns in progress this request
		// waits for room, counted, rather than starting one more.
		a.take("interaction "+i.ID, func() {
			defer a.work.done()
			defer open()
			a.handleInteraction(h, &i, func(resp *discordgo.InteractionResponse) error {
				select {
				case first <- resp:
					return nil
				default:
					return errors.New("a second initial response")
				}
			})
		})
		defer close(written)
		var resp *discordgo.InteractionResponse
		select {
		case resp = <-first:
		case <-time.After(initialResponseWait):
			a.log.Error("no initial response in time", "interaction", i.ID)
			http.Error(w, "timeout", http.StatusServiceUnavailable)
			writeErr = errors.New("no initial response in time")
			return
		}
		select {
		case <-release:
		case <-time.After(holdResponse - time.Since(start)):
			a.acksBeforeSave.Add(1)
			a.log.Warn("the turn was not saved in time; sending the initial response first", "interaction", i.ID)
		}
		writeErr = writeJSON(w, resp)
		if f, ok := w.(http.Flusher); ok && writeErr == nil {
			f.Flush()
		}
	})
}

// verify checks the request's signature and timestamp and returns its
// body. The timestamp is checked first (cheap); the signature covers it.
func (a *Adapter) verify(r *http.Request) ([]byte, error) {
	if len(a.publicKey) == 0 {
		return nil, errors.New("no public_key configured")
	}
	ts := r.Header.Get("X-Signature-Timestamp")
	if err := fresh(ts, a.now()); err != nil {
		return nil, err
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxInteractionBody)
	if !discordgo.VerifyInteraction(r, a.publicKey) {
		return nil, errors.New("bad signature")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	// VerifyInteraction swallows read errors; a body cut by the size limit
	// must not count as verified.
	if len(body) >= maxInteractionBody {
		return nil, errors.New("body too large")
	}
	return bytes.Clone(body), nil
}

// fresh checks a unix-seconds timestamp header against now.
func fresh(ts string, now time.Time) error {
	ts = strings.TrimSpace(ts)
	if ts == "" || len(ts) > 20 {
		return errors.New("missing or malformed timestamp")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("malformed timestamp")
	}
	d := now.Sub(time.Unix(sec, 0))
	if d > maxClockSkew || d < -maxClockSkew {
		return errors.New("stale timestamp")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(b)
	return err
}
