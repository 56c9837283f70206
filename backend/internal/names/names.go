// Package names holds the names of people and services: how they are normalised before they
// are compared, and which characters they may hold, so that what is shown is what is there.
package names

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Email returns the address to compare with ADMIN_EMAILS: ASCII letters lower-cased, nothing
// else changed. ok is false for an address that is not plain text (see CheckVisible) or is
// not stable under Unicode normalisation (NFC and NFKC): such an address can look like another
// one (the Kelvin sign U+212A for "K", fullwidth letters), so it must match nothing. Full
// Unicode case folding is avoided on purpose: it maps U+212A to "k".
func Email(s string) (normalized string, ok bool) {
	if s == "" || CheckVisible(s) != nil || !norm.NFC.IsNormalString(s) || !norm.NFKC.IsNormalString(s) {
		return "", false
	}
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b), true
}

// CheckVisible refuses text that would not show what it holds: invalid UTF-8, control
// characters (category Cc), line and paragraph separators, bidirectional controls (U+061C,
// U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), format characters (category Cf: zero-width
// space, joiners, word joiner, BOM, soft hyphen…) and the other default-ignorable code points
// (variation selectors, Hangul fillers, the combining grapheme joiner…).
func CheckVisible(s string) error {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				return fmt.Errorf("invalid UTF-8 at byte %d", i)
			}
		}
		if what := refused(r); what != "" {
			return fmt.Errorf("%s U+%04X at byte %d", what, r, i)
		}
	}
	return nil
}

// Strip returns s without the characters CheckVisible refuses (and without invalid UTF-8),
// for display names, where a zero-width joiner may be part of a real name but must not hide
// anything.
func Strip(s string) string {
	out := make([]rune, 0, len(s))
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				continue
			}
		}
		if refused(r) == "" {
			out = append(out, r)
		}
	}
	return string(out)
}

// Truncate cuts s to at most n runes, on a rune boundary.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// refused names the class of r when names may not hold it, else "".
func refused(r rune) string {
	switch {
	case r == 0x061C || r == 0x200E || r == 0x200F || (0x202A <= r && r <= 0x202E) || (0x2066 <= r && r <= 0x2069):
		return "bidirectional control"
	case unicode.Is(unicode.Cc, r):
		return "control character"
	case r == 0x2028 || r == 0x2029:
		return "line or paragraph separator"
	case unicode.Is(unicode.Cf, r):
		return "invisible format character"
	case unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) || unicode.Is(unicode.Variation_Selector, r):
		return "invisible (default-ignorable) character"
	}
	return ""
}
