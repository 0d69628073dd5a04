package discord

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"troubleshooter/bot"
)

var (
	_ bot.HandoffPoster = (*Adapter)(nil)
	_ bot.Sender        = (*Adapter)(nil)
)

// Discord's embed limits (documented).
const (
	maxEmbedTitle       = 256
	maxEmbedDescription = 4096
	maxEmbedFieldValue  = 1024
)

// Embed colours of handoff posts: open, closed.
const (
	colorOpen   = 0xE67E22
	colorClosed = 0x95A5A6
)

// Notes to staff about the Close button.
const (
	closeUnsupportedNote = "Closing handoffs from Discord isn't available with this bot's setup; the person can say **restart** to talk to the bot again."
	closeForbiddenNote   = "Only the support team can close handoffs."
	alreadyClosedNote    = "This handoff was already closed, or the person restarted with the bot. Nothing to do."
	closeTroubleNote     = "Sorry, I couldn't close that just now. Please try again in a moment."
	closedNotToldNote    = "Closed, but I couldn't tell the person (Discord refused the message); they'll get the bot's answers again when they write."
)

// PostHandoff implements bot.HandoffPoster: it posts h to the support
// channel as one message: the support role's mention (when configured)
// and who asked in the content, an embed with the guide title, the
// summary, when the conversation started and a link to it, and a Close
// button. Only the support role can be pinged: the person's mention is
// rendered without notifying them, and the summary (the person's own
// answers, so untrusted) is escaped so that nothing in it can mention,
// link or format. It blocks until Discord accepted the post, honouring
// ctx, and is safe for concurrent use. Errors: no support_channel
// configured, an address that is not a Discord conversation, or the REST
// call failing (missing permissions, rate limits past the bounded
// retries).
func (a *Adapter) PostHandoff(ctx context.Context, h bot.Handoff) error {
	if !a.HandsOff() {
		return errors.New("discord: no support_channel configured")
	}
	ms, err := a.handoffMessage(h)
	if err != nil {
		return err
	}
	if _, err := a.sendMessage(a.cfg.SupportChannel, ms, discordgo.WithContext(ctx)); err != nil {
		return fmt.Errorf("discord: post handoff to the support channel: %w", bot.RedactURL(err))
	}
	return nil
}

// handoffMessage builds the support channel post for h.
func (a *Adapter) handoffMessage(h bot.Handoff) (*discordgo.MessageSend, error) {
	addr := h.Address
	addr.Platform = Platform
	closeID, err := closeCustomIDAt(addr, h.Started)
	if err != nil {
		return nil, fmt.Errorf("discord: handoff for a conversation that is not Discord's: %w", err)
	}
	content := fmt.Sprintf("**Handoff:** <@%s> needs a person.", addr.User)
	mentions := noMentions()
	if a.cfg.SupportRole != "" {
		content = fmt.Sprintf("<@&%s> %s", a.cfg.SupportRole, content)
		mentions.Roles = []string{a.cfg.SupportRole}
	}
	title := strings.TrimSpace(cleanText(h.GuideTitle))
	if title == "" {
		title = h.Guide
	}
	embed := &discordgo.MessageEmbed{
		Title:       trimText(escapeMarkdown(cleanText(title)), maxEmbedTitle),
		Description: summaryToDiscord(h.Summary, maxEmbedDescription),
		Color:       colorOpen,
		Fields: []*discordgo.MessageEmbedField{
			{Name: "Person", Value: fmt.Sprintf("<@%s>", addr.User), Inline: true},
			{Name: "Started", Value: discordTime(h.Started), Inline: true},
			{Name: "Conversation", Value: trimText(conversationLink(addr), maxEmbedFieldValue)},
		},
	}
	if !h.At.IsZero() {
		embed.Timestamp = h.At.UTC().Format(time.RFC3339)
	}
	return &discordgo.MessageSend{
		Content: content,
		Embeds:  []*discordgo.MessageEmbed{embed},
		Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: "Close", Style: discordgo.SecondaryButton, CustomID: closeID, Emoji: &discordgo.ComponentEmoji{Name: "✅"}},
		}}},
		AllowedMentions: mentions,
	}, nil
}

// conversationLink is the Discord URL of the conversation at a: its thread,
// or its channel; "@me" stands for the guild of a DM.
func conversationLink(a bot.Address) string {
	guild := a.Workspace
	if guild == "" {
		guild = "@me"
	}
	where := a.Thread
	if where == "" {
		where = a.Channel
	}
	return "https://discord.com/channels/" + guild + "/" + where
}

// discordTime renders t as a Discord timestamp, shown in each reader's
// own time zone, with the relative time.
func discordTime(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	u := t.Unix()
	return fmt.Sprintf("<t:%d:f> (<t:%d:R>)", u, u)
}

// summaryToDiscord converts a handoff summary (light markdown holding the
// person's own answers) for an embed description of at most limit: a line
// that is wholly bold ("**Answers**") stays a bold heading and a line
// starting "- " stays a list item, but everything inside is escaped, so
// that no answer can mention, link, quote, spoil or fence. Lines that do
// not fit are dropped, and the drop is said.
func summaryToDiscord(summary string, limit int) string {
	lines := strings.Split(cleanText(summary), "\n")
	out := make([]string, 0, len(lines))
	n := 0
	for k, line := range lines {
		line = strings.TrimRight(line, " \t")
		var conv string
		switch inner, ok := boldLine(line); {
		case ok:
			conv = "**" + escapeMarkdown(inner) + "**"
		case strings.HasPrefix(line, "- "):
			conv = "- " + escapeMarkdown(strings.TrimPrefix(line, "- "))
		default:
			conv = escapeMarkdown(line)
		}
		conv = trimText(conv, 400) // one runaway answer must not crowd out the rest
		more := fmt.Sprintf("… (%d more lines)", len(lines)-k)
		if n+discordLen(conv)+1+discordLen(more) > limit && k < len(lines)-1 || n+discordLen(conv) > limit {
			out = append(out, more)
			break
		}
		out = append(out, conv)
		n += discordLen(conv) + 1
	}
	s := strings.TrimSpace(strings.Join(out, "\n"))
	if s == "" {
		return "(no summary)"
	}
	return s
}

// boldLine reports whether line is "**text**" and returns text.
func boldLine(line string) (string, bool) {
	if len(line) < 5 || !strings.HasPrefix(line, "**") || !strings.HasSuffix(line, "**") {
		return "", false
	}
	inner := line[2 : len(line)-2]
	if strings.Contains(inner, "*") {
		return "", false
	}
	return inner, true
}

// onClose handles a click on a handoff post's Close button: the member
// must be support staff; the handler closes the handoff; the person is
// told, and the post shows who closed it and loses its button.
func (a *Adapter) onClose(ctx context.Context, h bot.Handler, i *discordgo.Interaction, u *discordgo.User, cid customID, respond responder) error {
	closer, ok := h.(bot.HandoffCloser)
	if !ok {
		return respond(ephemeral(closeUnsupportedNote))
	}
	if !a.mayClose(i) {
		return respond(ephemeral(closeForbiddenNote))
	}
	// Acknowledge before touching the store: Discord waits 3 seconds.
	if err := respond(&discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate}); err != nil {
		return fmt.Errorf("acknowledge close: %w", err)
	}
	addr := closeAddress(cid)
	replies, closed, err := closer.CloseHandoff(ctx, addr, closeStarted(cid))
	if err != nil {
		// The button stays, so staff can try again.
		return errors.Join(fmt.Errorf("close handoff: %w", err), a.followupNote(i, closeTroubleNote))
	}
	if !closed {
		return errors.Join(a.editHandoffPost(i, ""), a.followupNote(i, alreadyClosedNote))
	}
	a.log.Info("handoff closed from Discord", "conversation", bot.LogKey(addr.Key()), "staff", bot.LogKey(u.ID))
	var errs []error
	if err := a.Send(ctx, addr, replies); err != nil {
		a.log.Warn("could not tell the person their handoff was closed", "conversation", bot.LogKey(addr.Key()), "err", bot.RedactURL(err))
		errs = append(errs, a.followupNote(i, closedNotToldNote))
	}
	errs = append(errs, a.editHandoffPost(i, u.ID))
	return errors.Join(errs...)
}

// mayClose reports whether the member who clicked may close a handoff:
// anyone who can see the support channel when no support role is
// configured; else members with the role, Manage Messages or
// Administrator.
func (a *Adapter) mayClose(i *discordgo.Interaction) bool {
	// Only the adapter's own posts in the support channel carry Close
	// buttons; a click anywhere else (a DM, a copied component) is not one.
	if i.ChannelID != a.cfg.SupportChannel {
		return false
	}
	if a.cfg.SupportRole == "" {
		return true
	}
	m := i.Member
	if m == nil {
		return false
	}
	return slices.Contains(m.Roles, a.cfg.SupportRole) ||
		m.Permissions&(discordgo.PermissionManageMessages|discordgo.PermissionAdministrator) != 0
}

// editHandoffPost removes the Close button from the clicked handoff post
// and, when staff is set, marks it closed by them (rendered, not pinged).
func (a *Adapter) editHandoffPost(i *discordgo.Interaction, staff string) error {
	comps := []discordgo.MessageComponent{}
	edit := &discordgo.WebhookEdit{Components: &comps, AllowedMentions: noMentions()}
	if staff != "" {
		closedBy := fmt.Sprintf("Closed by <@%s> %s", staff, discordTime(time.Now()))
		var embeds []*discordgo.MessageEmbed
		if i.Message != nil {
			for _, e := range i.Message.Embeds {
				if e != nil {
					c := *e
					embeds = append(embeds, &c)
				}
			}
		}
		if len(embeds) == 0 {
			embeds = []*discordgo.MessageEmbed{{Title: "Handoff"}}
		}
		e := embeds[0]
		e.Color = colorClosed
		e.Fields = append(slices.Clone(e.Fields), &discordgo.MessageEmbedField{Name: "Status", Value: closedBy})
		if len(e.Fields) > 25 {
			e.Fields = e.Fields[len(e.Fields)-25:]
		}
		edit.Embeds = &embeds
	}
	if _, err := a.editOriginal(i, edit); err != nil {
		return fmt.Errorf("edit handoff post: %w", err)
	}
	return nil
}
