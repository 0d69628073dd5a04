package answer

// guideOptions mirror the first question of the WhatsApp guide.
var guideOptions = []Option{
	{ID: "on", Label: "It's on", Aliases: []string{"green", "it is green", "allowed"}, Means: "yes"},
	{ID: "off", Label: "It's off", Aliases: []string{"grey", "gray", "not allowed"}, Means: "no"},
	{ID: "missing", Label: "WhatsApp isn't in the list", Aliases: []string{"not there", "not listed",
		"not in the list", "can't see whatsapp", "cannot see whatsapp"}},
}
