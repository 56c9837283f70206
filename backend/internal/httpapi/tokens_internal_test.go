package httpapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/token"
)

// TestHandEncodedTokensMatchEncodingJSON holds the list's hand-written encoder to what
// encoding/json makes of the same response, on awkward subjects.
func TestHandEncodedTokensMatchEncodingJSON(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 123456789, time.FixedZone("x", 3600))
	for _, subject := range []string{
		"ci", "", `quote " backslash \ slash /`, "<script>alert(1)</script> & co", "tab\tnew\nline\rcr\x00\x1f\x7f",
		"é 日本 🚀", "line\u2028sep\u2029", "bad \xff\xfe utf8", "\ufffd", "trailing \\",
	} {
		for _, lastUsed := range []*time.Time{nil, &at} {
			for _, scopes := range [][]string{nil, {}, {"metrics:read", "pipeline:write"}} {
				tok := token.Token{ID: "id-" + subject, Subject: subject, Scopes: scopes, CreatedAt: at, ExpiresAt: at.Add(time.Hour), CreatedBy: subject + "@example.com", LastUsedAt: lastUsed, ServiceUserID: 42, Description: subject}
				if lastUsed != nil { // and revoked, with the subject as the reason, after a rotation
					ends := at.Add(time.Minute)
					tok.LastUsedAddress, tok.LastUsedUserAgent = "2001:db8::1", subject
					tok.DailyRequests = make([]int64, token.RecentDays)
					tok.DailyRequests[0], tok.DailyRequests[29] = 7, 1<<40
					tok.StillPresented = &token.StillPresented{Times: 3, LastSeen: at, LastAddress: subject}
					tok.RevokedBy, tok.RevocationReason, tok.RevokedAt = "admin@example.com", subject, &at
					tok.Replaces, tok.ReplacedBy, tok.GraceEndsAt = "old-"+subject, "new-"+subject, &ends
				}
				for _, now := range []time.Time{at, at.Add(2 * time.Hour)} {
					want, err := json.Marshal(toTokenResponse(tok, now, at))
					if err != nil {
						t.Fatal(err)
					}
					if got := appendTokenJSON(nil, tok, now, at); string(got) != string(want) {
						t.Errorf("subject %q:\n got %s\nwant %s", subject, got, want)
					}
				}
			}
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\x00", "\xff", "\u2028", "<&>", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("%q: got %s want %s", s, got, want)
		}
	})
}

// tokenResponse is the reference the hand-written encoder is held to.
type tokenResponse struct {
	TokenID   string   `json:"tokenId"`
	Created   string   `json:"created"`
	Expires   string   `json:"expires"`
	Sub       string   `json:"sub"`
	CreatedBy string   `json:"createdBy"`
	LastUsed  *string  `json:"lastUsed"`
	Scopes    []string `json:"scopes"`

	ServiceUserID int64   `json:"serviceUserId"`
	RevokedBy     *string `json:"revokedBy"`
	Reason        *string `json:"revocationReason"`

	Description string  `json:"description"`
	Status      string  `json:"status"`
	Revoked     *string `json:"revoked"`
	Replaces    *string `json:"replaces"`
	ReplacedBy  *string `json:"replacedBy"`
	Ends        string  `json:"ends"`
	Stale       bool    `json:"stale"`

	LastUsedAddress   *string          `json:"lastUsedAddress"`
	LastUsedUserAgent *string          `json:"lastUsedUserAgent"`
	Requests30d       int64            `json:"requests30d"`
	DailyRequests30d  []int64          `json:"dailyRequests30d"`
	StillPresented    *stillPresentedR `json:"stillPresented"`
}

type stillPresentedR struct {
	Times       int64  `json:"times"`
	LastSeen    string `json:"lastSeen"`
	LastAddress string `json:"lastAddress"`
}

func toTokenResponse(t token.Token, now, staleBefore time.Time) tokenResponse {
	r := tokenResponse{
		TokenID: t.ID, Created: formatTime(t.CreatedAt), Expires: formatTime(t.ExpiresAt),
		Sub: t.Subject, CreatedBy: t.CreatedBy, LastUsed: formatTimePtr(t.LastUsedAt), Scopes: t.Scopes, ServiceUserID: t.ServiceUserID,
		Description: t.Description, Status: t.Status(now), Revoked: formatTimePtr(t.RevokedAt),
		Replaces: nullable(t.Replaces), ReplacedBy: nullable(t.ReplacedBy), Ends: formatTime(t.StopsAt()), Stale: t.Stale(now, staleBefore),
		LastUsedAddress: nullable(t.LastUsedAddress), LastUsedUserAgent: nullable(t.LastUsedUserAgent),
		DailyRequests30d: make([]int64, token.RecentDays),
	}
	for i, n := range t.DailyRequests {
		r.DailyRequests30d[i] = n
		r.Requests30d += n
	}
	if p := t.StillPresented; p != nil {
		r.StillPresented = &stillPresentedR{Times: p.Times, LastSeen: formatTime(p.LastSeen), LastAddress: p.LastAddress}
	}
	if t.RevokedBy != "" {
		r.RevokedBy = &t.RevokedBy
	}
	if t.RevocationReason != "" {
		r.Reason = &t.RevocationReason
	}
	return r
}

// TestExportDefusesOnlyFreeText: a formula typed into a description, a subject or a reason is
// defused, but CodeMetrics' own values are exported as they are: a token id starting with '-'
// (one in 64 ids) stays the id a script can look up.
func TestExportDefusesOnlyFreeText(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	tok := token.Token{
		ID: "-xNuOP-_TFtevmfJEye8LA", Subject: "=cmd|' /C calc'!A0", Description: "+1", CreatedBy: "@admin",
		RevokedBy: "-ops", RevocationReason: "\tleaked", Replaces: "-older", ReplacedBy: "=newer",
		Scopes: []string{"metrics:read"}, CreatedAt: at, ExpiresAt: at.Add(time.Hour), RevokedAt: &at,
		LastUsedUserAgent: "=HYPERLINK(\"https://evil.example\")", LastUsedAddress: "-1+1",
	}
	rec := make([]string, len(exportColumns))
	exportRecord(rec, tok, at, at)
	want := map[string]string{
		"tokenId": "-xNuOP-_TFtevmfJEye8LA", "sub": "'=cmd|' /C calc'!A0", "description": "'+1", "createdBy": "'@admin",
		"revokedBy": "'-ops", "revocationReason": "'\tleaked", "replaces": "-older", "replacedBy": "=newer",
		"lastUsedUserAgent": "'=HYPERLINK(\"https://evil.example\")", "lastUsedAddress": "'-1+1",
	}
	for i, col := range exportColumns {
		if w, ok := want[col.name]; ok && rec[i] != w {
			t.Errorf("%s: %q, want %q", col.name, rec[i], w)
		}
	}
}
