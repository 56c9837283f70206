package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/token"
)

// TestCreateTokenResponse checks the answer of POST /api/tokens and the JWT in it.
func TestCreateTokenResponse(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db)
		admin := e.SignIn("admin@example.com", true)

		r := e.Do(http.MethodPost, "/api/tokens", map[string]any{"subject": "ci-pipeline"}, e.As(admin))
		if r.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q, want no-store: the token must not be cached", cc)
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type %q, want application/json", ct)
		}
		var fields map[string]any
		r.JSON(t, &fields)
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, []string{"accessToken", "expires", "tokenId"}) {
			t.Errorf("response fields %v, want exactly accessToken, expires, tokenId: %s", keys, r.Body)
		}
		var created testenv.CreatedToken
		r.JSON(t, &created)

		header, claims := jwtParts(t, created.AccessToken)
		if header["alg"] != "HS256" || header["typ"] != "JWT" {
			t.Errorf("JWT header %v, want alg HS256 and typ JWT", header)
		}
		if kid, _ := header["kid"].(string); kid != token.KeyID([]byte(testenv.SigningKey)) {
			t.Errorf("JWT kid %v, want the id of the signing key", header["kid"])
		}
		wantStr := map[string]string{
			"jti": created.TokenID, "sub": "ci-pipeline", "iss": "codemetrics",
			"aud": "codemetrics-api", "token_use": "service", "scope": "metrics:read",
		}
		for k, want := range wantStr {
			if got, ok := claims[k].(string); !ok || got != want {
				t.Errorf("claim %s = %#v, want the string %q", k, claims[k], want)
			}
		}
		if _, ok := claims["sid"]; ok {
			t.Errorf("a service token carries a session id: %v", claims)
		}
		iat := numClaim(t, claims, "iat")
		exp := numClaim(t, claims, "exp")
		if iat != testenv.Epoch.Unix() {
			t.Errorf("iat %d, want the clock's time %d", iat, testenv.Epoch.Unix())
		}
		if want := time.Unix(exp, 0).UTC().Format(apiTimeFormat); created.Expires != want {
			t.Errorf("expires %q, want %q (the exp claim)", created.Expires, want)
		}
		if !apiTime.MatchString(created.Expires) {
			t.Errorf("expires %q is not formatted like 2024-01-15T10:30:00.000Z", created.Expires)
		}

		// The token is listed under the id the response gave, and works.
		l := listTokens(t, e, admin)
		if len(l) != 1 || l[0].TokenID != created.TokenID || l[0].Expires != created.Expires || !slices.Equal(l[0].Scopes, []string{"metrics:read"}) {
			t.Errorf("list = %+v, want the created token with scope metrics:read", l)
		}
		if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(created.AccessToken)); r.Status != http.StatusOK {
			t.Errorf("the new token is refused: %d %s", r.Status, r.Body)
		}
	})
}

func numClaim(t *testing.T, claims map[string]any, name string) int64 {
	t.Helper()
	n, ok := claims[name].(json.Number)
	if !ok {
		t.Fatalf("claim %s = %#v, want a number", name, claims[name])
	}
	v, err := n.Int64()
	if err != nil {
		t.Fatalf("claim %s = %v, want whole seconds", name, n)
	}
	return v
}

// TestCreateTokenSubject checks what subjects are accepted, how they are stored, and that the
// refusals say what is allowed.
func TestCreateTokenSubject(t *testing.T) {
	t.Parallel()
	accepted := []struct {
		name, body, want string
	}{
		{"trimmed", `{"subject":"  x  "}`, "x"},
		{"100 two-byte characters", `{"subject":"` + strings.Repeat("é", 100) + `"}`, strings.Repeat("é", 100)},
		{"100 four-byte characters", `{"subject":"` + strings.Repeat("😀", 100) + `"}`, strings.Repeat("😀", 100)},
		{"markup is data", `{"subject":"<script>alert(1)</script>"}`, "<script>alert(1)</script>"},
		{"quotes and SQL are data", `{"subject":"x' OR '1'='1"}`, "x' OR '1'='1"},
	}
	refused := []struct {
		name string
		body []byte
		says string // the detail says this about what is allowed
	}{
		{"no subject", []byte(`{}`), "subject is required"},
		{"null subject", []byte(`{"subject":null}`), "subject is required"},
		{"empty", []byte(`{"subject":""}`), "1 to 100 characters"},
		{"whitespace only", []byte(`{"subject":" \t\n "}`), "1 to 100 characters"},
		{"101 characters", []byte(`{"subject":"` + strings.Repeat("a", 101) + `"}`), "at most 100"},
		{"101 two-byte characters", []byte(`{"subject":"` + strings.Repeat("é", 101) + `"}`), "at most 100"},
		{"newline", []byte(`{"subject":"a\nb"}`), "control characters"},
		{"tab", []byte(`{"subject":"a\tb"}`), "control characters"},
		{"NUL", []byte(`{"subject":"a\u0000b"}`), "control characters"},
		{"NEL", []byte(`{"subject":"a\u0085b"}`), "control characters"},
		{"escape", []byte(`{"subject":"a\u001b[31mb"}`), "control characters"},
		{"line separator", []byte(`{"subject":"a\u2028b"}`), "line breaks"},
		{"invalid UTF-8 bytes", []byte("{\"subject\":\"a\xff\xfeb\"}"), "UTF-8"},
	}
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db)
		admin := e.SignIn("admin@example.com", true)

		for _, c := range refused {
			t.Run("refused/"+c.name, func(t *testing.T) {
				before := ids(listTokens(t, e, admin))
				r := e.Do(http.MethodPost, "/api/tokens", c.body, e.As(admin))
				p := wantProblem(t, r, http.StatusBadRequest)
				if !strings.Contains(p.Detail, c.says) {
					t.Errorf("detail %q does not say %q", p.Detail, c.says)
				}
				if after := ids(listTokens(t, e, admin)); !slices.Equal(after, before) {
					t.Errorf("a refused subject created a token: %v", after)
				}
			})
		}

		ids := map[string]string{}
		for _, c := range accepted {
			e.Clock.Advance(time.Second)
			r := e.Do(http.MethodPost, "/api/tokens", c.body, e.As(admin))
			if r.Status != http.StatusCreated {
				t.Errorf("%s: %d %s, want 201", c.name, r.Status, r.Body)
				continue
			}
			var created testenv.CreatedToken
			r.JSON(t, &created)
			ids[created.TokenID] = c.want
			if _, claims := jwtParts(t, created.AccessToken); claims["sub"] != c.want {
				t.Errorf("%s: sub claim %q, want %q", c.name, claims["sub"], c.want)
			}
		}
		r := e.Do(http.MethodGet, "/api/tokens", nil, e.As(admin))
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("list Content-Type %q, want application/json (markup in a subject must stay data)", ct)
		}
		var l []tokenEntry
		r.JSON(t, &l)
		listed := map[string]string{}
		for _, tk := range l {
			listed[tk.TokenID] = tk.Sub
		}
		for id, want := range ids {
			if got, ok := listed[id]; !ok || got != want {
				t.Errorf("token %s is listed with sub %q (listed: %v), want %q", id, got, ok, want)
			}
		}
	})
}

// TestCreateTokenScopes checks the scopes a token can be given and that they bind.
func TestCreateTokenScopes(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db)
		admin := e.SignIn("admin@example.com", true)

		both := e.CreateToken(admin, map[string]any{"subject": "both", "scopes": []string{"metrics:read", "pipeline:write"}, "workloads": []string{"*"}})
		if _, claims := jwtParts(t, both.AccessToken); claims["scope"] != "metrics:read pipeline:write" {
			t.Errorf("scope claim %q, want %q", claims["scope"], "metrics:read pipeline:write")
		}
		e.Clock.Advance(time.Second)
		writeOnly := e.CreateToken(admin, map[string]any{"subject": "writer", "scopes": []string{"pipeline:write"}, "workloads": []string{"*"}})
		e.Clock.Advance(time.Second)
		dflt := e.CreateToken(admin, map[string]any{"subject": "default", "scopes": []string{}})

		want := map[string][]string{
			both.TokenID:      {"metrics:read", "pipeline:write"},
			writeOnly.TokenID: {"pipeline:write"},
			dflt.TokenID:      {"metrics:read"},
		}
		l := listTokens(t, e, admin)
		if len(l) != 3 {
			t.Fatalf("list has %d tokens, want 3: %+v", len(l), l)
		}
		for _, tk := range l {
			if !slices.Equal(tk.Scopes, want[tk.TokenID]) {
				t.Errorf("token %s (%s) lists scopes %v, want %v", tk.TokenID, tk.Sub, tk.Scopes, want[tk.TokenID])
			}
		}

		// A token without metrics:read cannot read.
		r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(writeOnly.AccessToken))
		wantProblem(t, r, http.StatusForbidden)
		if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(both.AccessToken)); r.Status != http.StatusOK {
			t.Errorf("token with metrics:read refused: %d %s", r.Status, r.Body)
		}

		for _, body := range []string{
			`{"subject":"x","scopes":["admin"]}`,
			`{"subject":"x","scopes":["metrics:read","tokens:write"]}`,
			`{"subject":"x","scopes":["METRICS:READ"]}`,
			`{"subject":"x","scopes":["metrics:read "]}`,
			`{"subject":"x","scopes":["*"]}`,
			`{"subject":"x","scopes":"metrics:read"}`,
		} {
			r := e.Do(http.MethodPost, "/api/tokens", body, e.As(admin))
			wantProblem(t, r, http.StatusBadRequest)
		}
		if l := listTokens(t, e, admin); len(l) != 3 {
			t.Errorf("refused requests created tokens: %+v", l)
		}
	})
}

// TestCreateTokenBadBodies sends what a broken or hostile client might, and checks each is
// refused with a problem and creates nothing.
func TestCreateTokenBadBodies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		body        string
		contentType string
		status      int
	}{
		{"malformed JSON", `{"subject":`, "", http.StatusBadRequest},
		{"not JSON at all", `subject=x`, "", http.StatusBadRequest},
		{"JSON array", `[{"subject":"x"}]`, "", http.StatusBadRequest},
		{"JSON string", `"x"`, "", http.StatusBadRequest},
		{"JSON null", `null`, "", http.StatusBadRequest},
		{"wrong type", `{"subject": 5}`, "", http.StatusBadRequest},
		{"unknown field", `{"subject":"x","createdBy":"someone@example.com"}`, "", http.StatusBadRequest},
		{"two objects back to back", `{"subject":"a"}{"subject":"b"}`, "", http.StatusBadRequest},
		{"trailing garbage", `{"subject":"a"} x`, "", http.StatusBadRequest},
		{"empty body", ``, "", http.StatusBadRequest},
		{"over 64 KiB", `{"subject":"x","scopes":["` + strings.Repeat("a", 70<<10) + `"]}`, "", http.StatusRequestEntityTooLarge},
		{"over 64 KiB of whitespace", `{"subject":"x"` + strings.Repeat(" ", 70<<10) + `}`, "", http.StatusRequestEntityTooLarge},
		{"text/plain", `{"subject":"x"}`, "text/plain", http.StatusUnsupportedMediaType},
		{"form", `subject=x`, "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
		{"multipart", `{"subject":"x"}`, "multipart/form-data; boundary=x", http.StatusUnsupportedMediaType},
	}
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db)
		admin := e.SignIn("admin@example.com", true)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				opts := []testenv.Opt{e.As(admin)}
				if c.contentType != "" {
					opts = append(opts, testenv.Header("Content-Type", c.contentType))
				}
				r := e.Do(http.MethodPost, "/api/tokens", c.body, opts...)
				p := wantProblem(t, r, c.status)
				if strings.Contains(p.Detail, "httpapi.") || strings.Contains(p.Detail, "struct") {
					t.Errorf("detail %q shows Go internals instead of what to send", p.Detail)
				}
				wantNoTokens(t, e, admin)
			})
		}
	})
}

// TestListTokens checks GET /api/tokens: a plain array, newest first, exact time format, and
// only active tokens.
func TestListTokens(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db, testenv.Settings{Env: map[string]string{"SERVICE_TOKEN_TTL": "1h"}})
		admin := e.SignIn("admin@example.com", true)

		r := e.Do(http.MethodGet, "/api/tokens", nil, e.As(admin))
		if r.Status != http.StatusOK || strings.TrimSpace(string(r.Body)) != "[]" {
			t.Errorf("empty list: %d %q, want 200 []", r.Status, r.Body)
		}

		var made []testenv.CreatedToken
		var at []time.Time
		for i := range 3 {
			if i > 0 {
				e.Clock.Advance(20 * time.Minute)
			}
			at = append(at, e.Clock.Now())
			made = append(made, e.CreateToken(admin, map[string]any{"subject": fmt.Sprintf("svc-%d", i)}))
		}
		l := listTokens(t, e, admin)
		if len(l) != 3 {
			t.Fatalf("list has %d tokens, want 3", len(l))
		}
		for i, tk := range l {
			j := 2 - i // newest first
			if tk.TokenID != made[j].TokenID {
				t.Errorf("position %d holds %s, want %s (newest first)", i, tk.Sub, fmt.Sprintf("svc-%d", j))
			}
			for name, v := range map[string]string{"created": tk.Created, "expires": tk.Expires} {
				if !apiTime.MatchString(v) {
					t.Errorf("%s %q is not formatted like 2024-01-15T10:30:00.000Z", name, v)
				}
			}
			if want := at[j].UTC().Format(apiTimeFormat); tk.Created != want {
				t.Errorf("created %q, want %q", tk.Created, want)
			}
			if want := at[j].Add(time.Hour).UTC().Format(apiTimeFormat); tk.Expires != want {
				t.Errorf("expires %q, want %q", tk.Expires, want)
			}
			if tk.CreatedBy != "admin@example.com" || tk.LastUsed != nil {
				t.Errorf("entry %+v: want createdBy admin@example.com and lastUsed null", tk)
			}
		}

		// Revoked: gone from the list.
		if r := e.Do(http.MethodDelete, "/api/tokens/"+made[1].TokenID, nil, e.As(admin)); r.Status != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
		if got := ids(listTokens(t, e, admin)); !slices.Equal(got, []string{made[2].TokenID, made[0].TokenID}) {
			t.Errorf("after revoking svc-1 the list is %v", got)
		}

		// Expired: svc-0 was created 40 minutes ago; its hour ends 20 minutes from now.
		e.Clock.Advance(20*time.Minute - time.Second)
		if got := ids(listTokens(t, e, admin)); !slices.Equal(got, []string{made[2].TokenID, made[0].TokenID}) {
			t.Errorf("one second before svc-0 expires the list is %v", got)
		}
		e.Clock.Advance(time.Second)
		if got := ids(listTokens(t, e, admin)); !slices.Equal(got, []string{made[2].TokenID}) {
			t.Errorf("after svc-0 expired the list is %v, want only svc-2", got)
		}
		e.Clock.Advance(time.Hour)
		r = e.Do(http.MethodGet, "/api/tokens", nil, e.As(admin))
		if r.Status != http.StatusOK || strings.TrimSpace(string(r.Body)) != "[]" {
			t.Errorf("list when every token expired: %d %q, want 200 []", r.Status, r.Body)
		}
	})
}

func ids(l []tokenEntry) []string {
	out := make([]string, len(l))
	for i, tk := range l {
		out[i] = tk.TokenID
	}
	return out
}

var nextLink = regexp.MustCompile(`^<(/api/tokens\?[^>]+)>; rel="next"$`)

// TestListTokensPaging follows the Link headers and checks every token is seen once, in order,
// also when several tokens share a creation second.
func TestListTokensPaging(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db)
		admin := e.SignIn("admin@example.com", true)
		for i := range 7 {
			e.CreateToken(admin, map[string]any{"subject": fmt.Sprintf("svc-%d", i)})
			if i%3 == 2 { // three tokens in each second
				e.Clock.Advance(time.Second)
			}
		}
		all := ids(listTokens(t, e, admin))
		if len(all) != 7 {
			t.Fatalf("list has %d tokens, want 7", len(all))
		}

		var seen []string
		path := "/api/tokens?limit=2"
		for pages := 0; path != ""; pages++ {
			if pages > 10 {
				t.Fatalf("paging does not end; seen %v", seen)
			}
			r := e.Do(http.MethodGet, path, nil, e.As(admin))
			if r.Status != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
			}
			var page []tokenEntry
			r.JSON(t, &page)
			if len(page) > 2 {
				t.Errorf("page of %d tokens with limit=2", len(page))
			}
			if pages == 0 && len(page) != 2 {
				t.Errorf("first page has %d tokens, want 2", len(page))
			}
			seen = append(seen, ids(page)...)
			path = ""
			if link := r.Header.Get("Link"); link != "" {
				m := nextLink.FindStringSubmatch(link)
				if m == nil {
					t.Fatalf("Link %q is not </api/tokens?...>; rel=\"next\"", link)
				}
				path = m[1]
			} else if pages == 0 {
				t.Errorf("first page has no Link header")
			}
		}
		if !slices.Equal(seen, all) {
			t.Errorf("paging visited\n%v\nwant every token once, newest first:\n%v", seen, all)
		}

		for _, q := range []string{"limit=0", "limit=-1", "limit=1001", "limit=abc", "limit=2.5", "limit=1e3",
			"limit=2&cursor=garbage", "limit=2&cursor=%21%21%21", "limit=2&cursor=" + base64.RawURLEncoding.EncodeToString([]byte("not json")),
			"limit=2&cursor=" + base64.RawURLEncoding.EncodeToString([]byte(`{"c":1,"i":""}`))} {
			r := e.Do(http.MethodGet, "/api/tokens?"+q, nil, e.As(admin))
			if r.Status != http.StatusBadRequest {
				t.Errorf("?%s: %d, want 400", q, r.Status)
				continue
			}
			wantProblem(t, r, http.StatusBadRequest)
		}
	})
}

// TestRevokeToken checks DELETE /api/tokens/{id} against ids that are unknown, already
// revoked, oversized or hostile.
func TestRevokeToken(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db)
		admin := e.SignIn("admin@example.com", true)
		keep := e.CreateToken(admin, map[string]any{"subject": "keep"})
		unknownID, err := token.NewID()
		if err != nil {
			t.Fatal(err)
		}

		for _, id := range []string{
			unknownID,
			strings.Repeat("a", 200),
			"%27%20OR%201=1",
			"%27%20OR%20%271%27=%271",
			keep.TokenID + "%27%20OR%201=1",
			"%25",
			"..%2F..%2Fetc%2Fpasswd",
			"%00",
		} {
			r := e.Do(http.MethodDelete, "/api/tokens/"+id, nil, e.As(admin))
			wantProblem(t, r, http.StatusNotFound)
		}
		if got := ids(listTokens(t, e, admin)); !slices.Equal(got, []string{keep.TokenID}) {
			t.Errorf("after refused revocations the list is %v, want the kept token only", got)
		}
		if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(keep.AccessToken)); r.Status != http.StatusOK {
			t.Errorf("the kept token stopped working: %d %s", r.Status, r.Body)
		}

		e.Clock.Advance(time.Second)
		gone := e.CreateToken(admin, map[string]any{"subject": "gone"})
		if r := e.Do(http.MethodDelete, "/api/tokens/"+gone.TokenID, nil, e.As(admin)); r.Status != http.StatusNoContent || len(r.Body) != 0 {
			t.Fatalf("revoke: %d %q, want 204 with no body", r.Status, r.Body)
		}
		wantProblem(t, e.Do(http.MethodDelete, "/api/tokens/"+gone.TokenID, nil, e.As(admin)), http.StatusNotFound)
		if got := ids(listTokens(t, e, admin)); !slices.Equal(got, []string{keep.TokenID}) {
			t.Errorf("list is %v, want the kept token only", got)
		}
	})
}

// TestAuditEvents checks creation and revocation are audited with actor and target, and that
// no event holds the token value.
func TestAuditEvents(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db)
		admin := e.SignIn("admin@example.com", true)
		created := e.CreateToken(admin, map[string]any{"subject": "audited"})
		if r := e.Do(http.MethodDelete, "/api/tokens/"+created.TokenID, nil, e.As(admin)); r.Status != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}

		events, err := e.Server.Audit.List(context.Background(), audit.Query{})
		if err != nil {
			t.Fatal(err)
		}
		found := map[string]bool{}
		signature := created.AccessToken[strings.LastIndex(created.AccessToken, ".")+1:]
		for _, ev := range events {
			details, _ := json.Marshal(ev.Details)
			for _, secret := range []string{created.AccessToken, signature} {
				if strings.Contains(string(details), secret) || strings.Contains(ev.Target, secret) {
					t.Errorf("audit event %s holds the token value: %s", ev.Action, details)
				}
			}
			if ev.Action == "token.created" || ev.Action == "token.revoked" {
				found[ev.Action] = true
				if ev.Actor != "admin@example.com" || ev.Target != created.TokenID {
					t.Errorf("%s: actor %q target %q, want admin@example.com and %s", ev.Action, ev.Actor, ev.Target, created.TokenID)
				}
			}
		}
		if !found["token.created"] || !found["token.revoked"] {
			t.Errorf("audit log lacks token.created or token.revoked: %+v", events)
		}
	})
}

// TestLastUsed checks lastUsed is null until a use, then the time of the latest use.
func TestLastUsed(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db)
		admin := e.SignIn("admin@example.com", true)
		created := e.CreateToken(admin, map[string]any{"subject": "used"})
		e.Flush()
		if l := listTokens(t, e, admin); len(l) != 1 || l[0].LastUsed != nil {
			t.Fatalf("before use: %+v, want lastUsed null", l)
		}

		for _, step := range []time.Duration{90*time.Minute + 250*time.Millisecond, 3*time.Hour + 7*time.Millisecond} {
			e.Clock.Advance(step)
			e.Sync() // the revocation feed is read all the time in production
			usedAt := e.Clock.Now()
			if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(created.AccessToken)); r.Status != http.StatusOK {
				t.Fatalf("use: %d %s", r.Status, r.Body)
			}
			e.Flush()
			l := listTokens(t, e, admin)
			want := usedAt.UTC().Format(apiTimeFormat)
			if len(l) != 1 || l[0].LastUsed == nil || *l[0].LastUsed != want {
				var got any = l
				if len(l) == 1 && l[0].LastUsed != nil {
					got = *l[0].LastUsed
				}
				t.Errorf("after a use at %s lastUsed is %v", want, got)
			}
		}
	})
}
