package intent

import "testing"

// guideSpec mirrors the YAML shape: a guide's symptoms and each step's keywords.
type guideSpec struct {
	guide    string
	symptoms []string
	steps    []stepSpec
}

type stepSpec struct {
	step     string
	keywords []string
}

const (
	wa = "whatsapp-icloud"
	dn = "discord-notifications"
)

// fixture mirrors the real guides. Phrases marked "added" are not in the
// original YAML and were added to make realistic messages route.
var fixture = []guideSpec{
	{
		guide: wa,
		symptoms: []string{"whatsapp backup", "backup whatsapp", "whatsapp icloud", "icloud backup",
			"chat backup", "backup fail", "backup not working", "backup doesn't work", "can't back up",
			"won't back up", "backup stuck", "backup error",
			"not backing up", "backup to icloud", // added
		},
		steps: []stepSpec{
			{"fix_icloud_access", []string{"switch is off", "whatsapp switch off", "toggle is off",
				"icloud switch off for whatsapp", "whatsapp not allowed to use icloud",
				"switch in icloud is off", "whatsapp is off in icloud", // added
			}},
			{"fix_icloud_signin", []string{"whatsapp isn't in the list", "whatsapp not in the list",
				"can't see whatsapp in icloud", "whatsapp missing from icloud", "not signed in to icloud",
				"icloud drive is off", "signed out of icloud",
				"not in apps using icloud", // added
			}},
			{"fix_auto_backup", []string{"auto backup", "automatic backup", "automatic backups don't happen",
				"doesn't back up automatically", "never backs up automatically",
				"only backs up when i tap back up now", "no backup overnight",
				"back up automatically", // added
			}},
			{"fix_storage", []string{"not enough icloud storage", "not enough icloud space", "icloud is full",
				"icloud storage full", "out of icloud space", "icloud storage", "not enough storage",
				"icloud space", "not enough space in icloud", // added
			}},
			{"fix_phone_storage", []string{"iphone storage full", "phone storage full", "not enough space on my phone",
				"iphone is full", "phone storage",
				"not enough space on my iphone", // added
			}},
			{"fix_update", []string{"outdated", "out of date", "old version", "old ios", "need to update", "update whatsapp"}},
			{"fix_manual", []string{"stuck", "never finishes", "doesn't finish", "takes forever", "hangs", "frozen",
				"stuck at 0%", "back up now"}},
			{"apple_status", []string{"icloud is down", "icloud down", "outage", "apple servers", "server problem"}},
			{"fix_videos", []string{"videos", "too many videos", "large videos"}},
			{"fix_delete_backup", []string{"corrupt", "corrupted", "damaged backup", "broken backup",
				"backup is damaged", // added
			}},
		},
	},
	{
		guide: dn,
		symptoms: []string{"discord notifications", "discord notification", "notifications from discord",
			"discord push", "discord doesn't notify", "no discord notifications", "discord alerts"},
		steps: []stepSpec{
			{"fix_app_notifications", []string{"notifications are off", "discord notifications disabled", "notifications turned off"}},
			{"fix_focus", []string{"do not disturb", "focus mode", "dnd", "sleep mode"}},
			{"fix_server_settings", []string{"server muted", "muted the server", "channel muted", "only mentions"}},
			{"fix_desktop_active", []string{"only on desktop", "notifications go to my pc", "when my computer is on"}},
			{"fix_battery", []string{"battery saver", "low power mode", "battery optimization", "app is closed"}},
		},
	},
}

func entriesOf(specs []guideSpec) []Entry {
	var es []Entry
	for _, g := range specs {
		for _, p := range g.symptoms {
			es = append(es, Entry{Target{Guide: g.guide}, p})
		}
		for _, s := range g.steps {
			for _, p := range s.keywords {
				es = append(es, Entry{Target{g.guide, s.step}, p})
			}
		}
	}
	return es
}

func newFixtureMatcher(tb testing.TB) *Matcher {
	tb.Helper()
	m, err := New(entriesOf(fixture))
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return m
}
