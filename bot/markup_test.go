package bot

import "testing"

func TestMarkdownLink(t *testing.T) {
	cases := []struct {
		in, text, url string
		n             int
		ok            bool
	}{
		{"[Apple](https://www.apple.com/x/) rest", "Apple", "https://www.apple.com/x/", 33, true},
		{"[a b](http://h)", "a b", "http://h", 15, true},
		{"[x](javascript:alert(1))", "", "", 0, false},
		{"[x](https://)", "", "", 0, false},
		{"[x](https:///path)", "", "", 0, false},
		{"[x](https://a b)", "", "", 0, false},
		{"[x](<https://evil>)", "", "", 0, false},
		{"[x](https://a|b)", "", "", 0, false},
		{"[](https://a)", "", "", 0, false},
		{"[a\nb](https://a)", "", "", 0, false},
		{"[a](https://a", "", "", 0, false},
		{"no link", "", "", 0, false},
		{"[a] (https://a)", "", "", 0, false},
	}
	for _, c := range cases {
		text, url, n, ok := MarkdownLink(c.in)
		if text != c.text || url != c.url || n != c.n || ok != c.ok {
			t.Errorf("MarkdownLink(%q) = %q, %q, %d, %v; want %q, %q, %d, %v", c.in, text, url, n, ok, c.text, c.url, c.n, c.ok)
		}
	}
}

func FuzzMarkdownLink(f *testing.F) {
	f.Add("[Apple](https://www.apple.com/)")
	f.Add("[x](https://a|b)")
	f.Fuzz(func(t *testing.T, s string) {
		text, url, n, ok := MarkdownLink(s)
		if !ok {
			return
		}
		if n > len(s) || s[:n] != "["+text+"]("+url+")" {
			t.Fatalf("MarkdownLink(%q) = %q, %q, %d: not the prefix it read", s, text, url, n)
		}
	})
}
