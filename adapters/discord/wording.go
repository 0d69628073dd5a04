package discord

import (
	"strings"

	"troubleshooter/bot"
)

// render turns one turn's replies for the conversation at to into Discord
// messages (renderTurn), after wording them for what the person can do
// there (reword) and remembering each typed-answer question's form labels
// (title and example) for its "Type …" button.
func (a *Adapter) render(to bot.Address, replies []bot.Reply, ref string) []outMsg {
	if a.cannotRead(to) {
		replies = reword(replies)
	}
	if ref != "" {
		for _, r := range replies {
			if r.Input != "" && (r.Title != "" || r.Example != "") {
				a.rememberForm(to.User, ref, r.Input, form{title: r.Title, example: r.Example})
			}
		}
	}
	return renderTurn(replies, to.User, ref)
}

// cannotRead reports whether plain messages the person types in the
// conversation at to never reach the bot: a server conversation without
// the Message Content intent, where only mentions of the bot, buttons,
// forms and /troubleshoot come through. DMs are always readable.
func (a *Adapter) cannotRead(to bot.Address) bool {
	return to.Workspace != "" && !a.cfg.MessageContent
}

// unreadable rewrites the phrases of the engine's and the adapter's texts
// that invite a plain typed message, for conversations where the bot
// cannot read one (cannotRead): the person answers with the buttons or
// the ✏️ form, mentions the bot, or runs a /troubleshoot subcommand.
var unreadable = strings.NewReplacer(
	// bot.NudgeNotice
	"Answer the question above to continue, or say **stop** to end.",
	"Answer the question above with its buttons to continue, or use **/"+CommandName+" stop** to end.",
	// bot.ExpiredNoticeFormat
	"Send me a message any time: you can pick up where we stopped or start over.",
	"Use **/"+CommandName+" start** or mention me any time: you can pick up where we stopped or start over.",
	// bot.HandoffClosedNotice, bot.HandoffFailedNotice
	"send me a message any time to start again",
	"use **/"+CommandName+" start** or mention me any time to start again",
	"send me a message to start again",
	"use **/"+CommandName+" start** or mention me to start again",
	// bot.HandoffNotice, bot.HandoffDelayedNotice, quietNote, the resume note
	"say **restart** if you want to start over with me",
	"use **/"+CommandName+" restart** if you want to start over with me",
	"Say **restart** if you'd rather start over with me",
	"Use **/"+CommandName+" restart** if you'd rather start over with me",
	"Say **restart** to start over with me",
	"Use **/"+CommandName+" restart** to start over with me",
	"Say **restart** to start over",
	"Use **/"+CommandName+" restart** to start over",
	// flows' help text and answer hints
	" You can also say:\n",
	" You can also mention me with one of these words (or run **/"+CommandName+"** back, status, restart or stop):\n",
	"type your answer in your own words", "mention me with your answer in your own words",
	"type the answer in your own words", "mention me with the answer in your own words",
	"say **stop**", "use **/"+CommandName+" stop**",
	"say **restart**", "use **/"+CommandName+" restart**",
	"say **back**", "use **/"+CommandName+" back**",
	"say **status**", "use **/"+CommandName+" status**",
	"Send me a message", "Mention me or use **/"+CommandName+" start**",
	"send me a message", "mention me or use **/"+CommandName+" start**",
)

// reword applies unreadable to each reply's text.
func reword(replies []bot.Reply) []bot.Reply {
	out := make([]bot.Reply, len(replies))
	for k, r := range replies {
		r.Text = unreadable.Replace(r.Text)
		out[k] = r
	}
	return out
}

// rememberForm keeps a typed-answer question's form labels until its
// "Type …" button is clicked: the modal must be the click's initial
// response, sent without a store lookup. Lost on restart (the modal then
// asks the engine, or uses generic labels).
func (a *Adapter) rememberForm(owner, ref, input string, fm form) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.forms == nil || len(a.forms) >= maxRemembered {
		a.forms = make(map[string]form)
	}
	a.forms[owner+"|"+ref+"|"+input] = fm
}

// formOf is the remembered form of a question, if any.
func (a *Adapter) formOf(owner, ref, input string) (form, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	fm, ok := a.forms[owner+"|"+ref+"|"+input]
	return fm, ok
}

// word is one text of the adapter's own, worded for the conversation at to
// (see unreadable).
func (a *Adapter) word(to bot.Address, text string) string {
	if a.cannotRead(to) {
		return unreadable.Replace(text)
	}
	return text
}
