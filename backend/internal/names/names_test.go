package names_test

import (
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/names"
)

func TestEmail(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"Boss@Example.COM", "boss@example.com", true},
		{"kim@example.com", "kim@example.com", true},
		{"\u212Aim@example.com", "", false},                // Kelvin sign: strings.ToLower and NFC both make it "k"/"K"
		{"\uFF4Bim@example.com", "", false},                // fullwidth k: NFKC makes it "k"
		{"admin@example.com\u200B", "", false},             // zero-width space
		{"admin\u202E@example.com", "", false},             // right-to-left override
		{"e\u0301@example.com", "", false},                 // decomposed é: not NFC
		{"\u00e9@example.com", "\u00e9@example.com", true}, // composed é stays as it is
		{"\u00c9@example.com", "\u00c9@example.com", true}, // and non-ASCII is not case-folded
		{"", "", false},
		{"a\x00@example.com", "", false},
		{"a\xff@example.com", "", false},
	}
	for _, c := range cases {
		got, ok := names.Email(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("Email(%+q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestCheckVisible(t *testing.T) {
	refused := map[string]string{
		"RLO":                   "ci\u202Eteg",
		"LRE":                   "a\u202Ab",
		"PDF":                   "a\u202Cb",
		"LRI":                   "a\u2066b",
		"PDI":                   "a\u2069b",
		"LRM":                   "a\u200Eb",
		"RLM":                   "a\u200Fb",
		"ALM":                   "a\u061Cb",
		"zero-width space":      "a\u200Bb",
		"zero-width non-joiner": "a\u200Cb",
		"zero-width joiner":     "a\u200Db",
		"word joiner":           "a\u2060b",
		"BOM":                   "\uFEFFab",
		"soft hyphen":           "a\u00ADb",
		"Hangul filler":         "a\u3164b",
		"variation selector":    "a\uFE0Fb",
		"grapheme joiner":       "a\u034Fb",
		"tag character":         "a\U000E0041b",
		"NUL":                   "a\x00b",
		"newline":               "a\nb",
		"DEL":                   "a\x7fb",
		"C1 control":            "a\u0085b",
		"line separator":        "a\u2028b",
		"invalid UTF-8":         "a\xc3b",
	}
	for name, s := range refused {
		if err := names.CheckVisible(s); err == nil {
			t.Errorf("%s: CheckVisible(%+q) accepted it", name, s)
		}
	}
	for _, s := range []string{"ci-deploy", "Ada Lovelace", "Zoë Ñúñez", "山田太郎", "مريم", "ci bot (staging)", "\uFFFD"} {
		if err := names.CheckVisible(s); err != nil {
			t.Errorf("CheckVisible(%+q) = %v, want nil", s, err)
		}
	}
}

func TestStripAndTruncate(t *testing.T) {
	if got := names.Strip("Ad\u200Ba\u202E Love\x00lace\xff"); got != "Ada Lovelace" {
		t.Errorf("Strip = %+q", got)
	}
	if got := names.Truncate("Zoë😀x", 4); got != "Zoë😀" {
		t.Errorf("Truncate = %+q", got)
	}
	if got := names.Truncate("abc", 4); got != "abc" {
		t.Errorf("Truncate short = %+q", got)
	}
}
