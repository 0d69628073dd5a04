package discord

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
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
	// initialResponseWait bounds how long a turn's first REST call waits
	// for the handler to write the response it released.
	initialResponseWait = 2500 * time.Millisecond
	// holdResponse bounds how long the initial response is held for the
	// turn's save (with the wait for room in discord.max_queued): Discord
	// gives up at 3 seconds from sending, and the answer must travel back.
	holdResponse = 2500 * time.Millisecond
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
		// (the turn releases it once Handle returned; see heldResponse),
		// so that an acknowledged interaction is never lost to a crash.
		// A turn not saved by holdResponse is canceled and answered "try
		// again" in the response itself, within Discord's 3 seconds: an
		// ack then would be a promise a crash could break.
		start := time.Now()
		deadline := time.NewTimer(holdResponse)
		defer deadline.Stop()
		hr := newHeldResponse()
		if _, dup := a.held.m.LoadOrStore(i.ID, hr); dup {
			a.work.done()
			http.Error(w, "this interaction is already being handled", http.StatusConflict)
			return
		}
		defer a.held.m.Delete(i.ID)
		defer close(hr.written)
		first := make(chan *discordgo.InteractionResponse, 1)
		var responded atomic.Bool
		turn := func() {
			defer a.work.done()
			// A turn that ends without releasing its response (a note, a
			// modal, a duplicate) has nothing to save; one that gave no
			// response at all (a panic) is answered with the trouble reply.
			defer func() {
				if !responded.Load() {
					hr.answer(ephemeral(bot.TroubleReply))
				}
				_ = hr.open()
			}()
			a.handleInteraction(h, &i, func(resp *discordgo.InteractionResponse) error {
				responded.Store(true)
				select {
				case first <- resp:
					return nil
				default:
					return errors.New("a second initial response")
				}
			})
		}
		// Taken like a gateway event (an interaction is a queue of its
		// own): past discord.max_queued turns in progress this request
		// waits for room, counted, but only while its answer can still
		// reach Discord in time.
		if !a.takeWithin("interaction "+i.ID, turn, holdResponse) {
			a.work.done()
			hr.answer(ephemeral(busyReply))
			a.refusedBusy.Add(1)
		}
		var resp *discordgo.InteractionResponse
		firstCh, release := first, hr.release
	wait:
		for resp == nil || release != nil {
			select {
			case resp = <-firstCh:
				firstCh = nil
			case <-release:
				release = nil
				if hr.response(nil) != nil {
					break wait // answered in place
				}
			case <-deadline.C:
				break wait
			}
		}
		if hr.answer(ephemeral(bot.TroubleReply)) {
			hr.cancelTurn()
			a.refusedUnsaved.Add(1)
			a.log.Warn("the turn was not saved in time: canceled, and the person asked to try again rather than acknowledged", "interaction", i.ID, "waited", time.Since(start).Round(time.Millisecond))
		}
		out := hr.response(resp)
		if out == nil {
			// Released with no response at all: cannot happen (turn's
			// deferred answer), but never write an empty body.
			out = ephemeral(bot.TroubleReply)
		}
		hr.writeErr = writeJSON(w, out)
		if f, ok := w.(http.Flusher); ok && hr.writeErr == nil {
			f.Flush()
		}
	})
}

// busyReply answers an HTTP interaction that found no room within
// discord.max_queued in time.
const busyReply = "I'm busy with a lot of conversations right now. Please try again in a moment."

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
