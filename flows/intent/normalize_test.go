package intent

import (
	"reflect"
	"strings"
	"testing"
)

// tokensOf renders what the matcher sees: content tokens after stopword
// removal, stemming and (when m has a vocabulary) typo correction, with "|"
// between clauses.
func tokensOf(m *Matcher, text string) string {
	sc := &scratch{}
	m.analyze(text, sc, true)
	var out []string
	for i, t := range sc.toks {
		if i > 0 && t.clause != sc.toks[i-1].clause {
			out = append(out, "|")
		}
		s := sc.stems[i]
		if t.id >= 0 {
			s = m.vocabStr[t.id]
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func TestNormalize(t *testing.T) {
	bare := &Matcher{backupID: -1}
	tests := []struct{ in, want string }{
		{"", ""},
		{"   ...!!! 😭", ""},
		{"WhatsApp Backup", "whatsapp backup"},
		{"isn't", "not"}, // contractions match as "not"; TestLexer checks the raw "isnt"
		{"is not", "not"},
		{"can’t back up", "not backup"}, // typographic apostrophe
		{"not backing up", "not backup"},
		{"doesn‘t ʼem", "not em"},
		{"'quoted'", "quot"}, // leading/trailing quotes are separators
		{"ÉCHEC SAUVEGARDE", "échec sauvegard"},
		{"İCLOUD", "icloud"},
		{"backups", "backup"},
		{"videos", "video"},
		{"fails failing failed", "fail fail fail"},
		{"notifications batteries", "notification battery"},
		{"status ios less", "status ios less"}, // not plurals
		{"finishes finished finishing finish", "finish finish finish finish"},
		{"getting stopped", "get stop"},
		{"missing filled", "miss fill"},
		{"update updated outdated", "updat updat outdat"},
		{"muted mute", "mut mut"},
		{"back up backs up backing up backup", "backup backup backup backup"},
		{"the backup is not working", "backup not work"},
		{"whatsapp-backup/icloud", "whatsapp backup icloud"},
		{"stuck at 0%", "stuck 0"},
		{"storage is fine, but backup fails", "storag fin | backup fail"},
		{"icloud is full and backup fails because of videos", "icloud full | backup fail | video"},
		{"IS ICLOUD DOWN???", "icloud down"},
		{"hi there can you help me please", "help"},
	}
	for _, tc := range tests {
		if got := tokensOf(bare, tc.in); got != tc.want {
			t.Errorf("normalise(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLexer(t *testing.T) {
	tests := []struct{ in, want string }{
		{"isn't", "isnt"},
		{"can’t", "cant"}, // typographic apostrophe
		{"CAN‘T ʼem", "cant em"},
		{"don't, won't", "dont | wont"},
		{"WhatsApp İCLOUD Ünïcode", "whatsapp icloud ünïcode"},
		{"a…b;c!d?e.f", "a | b | c | d | e | f"},
		{"e\u0301clair", "e\u0301clair"},
		{"\xff\xfe bad utf8", "bad utf8"},
	}
	for _, tc := range tests {
		lx := lexer{s: tc.in}
		var out []string
		var buf []byte
		for {
			w, brk, ok := lx.next(buf)
			if !ok {
				break
			}
			if brk {
				out = append(out, "|")
				continue
			}
			out = append(out, string(w))
		}
		if got := strings.Join(out, " "); got != tc.want {
			t.Errorf("lex(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTypoCorrection(t *testing.T) {
	m := newFixtureMatcher(t)
	tests := []struct{ in, want string }{
		{"icoud", "icloud"},
		{"storge", "storag"},
		{"backpu", "backup"},
		{"whatsap", "whatsapp"},
		{"notificaton", "notification"},
		{"watsapp", "whatsapp"}, // one deletion
		{"wtsapp", "wtsapp"},    // two edits: left alone
		{"icluod", "icloud"},    // transposition
		{"doge", "dog"},         // under 5 letters: never corrected
		{"phones", "phon"},      // real word, exact after stemming
		{"arnt", "arnt"},        // under 5 letters: never corrected
		{"zebras", "zebra"},     // nothing within one edit
	}
	for _, tc := range tests {
		if got := tokensOf(m, tc.in); got != tc.want {
			t.Errorf("tokens(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestWithinOneEdit(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"icloud", "icloud", true},
		{"icoud", "icloud", true},
		{"icloudd", "icloud", true},
		{"icluod", "icloud", true},
		{"iclaud", "icloud", true},
		{"cilodu", "icloud", false},
		{"icl", "icloud", false},
		{"", "a", true},
		{"ab", "ba", true},
		{"abc", "bca", false},
	}
	for _, tc := range tests {
		if got := withinOneEdit([]byte(tc.a), tc.b); got != tc.want {
			t.Errorf("withinOneEdit(%q,%q) = %v", tc.a, tc.b, got)
		}
	}
}

func TestStemIsIdempotentOnPhrasesAndMessages(t *testing.T) {
	// The same words in a phrase and a message must produce the same tokens.
	m := newFixtureMatcher(t)
	for _, e := range entriesOf(fixture) {
		a, b := tokensOf(&Matcher{backupID: -1}, e.Phrase), tokensOf(m, e.Phrase)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("phrase %q: bare %q vs matcher %q", e.Phrase, a, b)
		}
	}
}
