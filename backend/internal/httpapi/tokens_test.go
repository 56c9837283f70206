package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/codemetrics/codemetrics/backend/internal/config"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/testenv/jwttest"
	"github.com/codemetrics/codemetrics/backend/internal/token"
)

// TestCreateTokenResponse checks the answer of POST /api/tokens and the JWT in it.
func TestCreateTokenResponse(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {

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

		header, claims := jwttest.Parts(t, created.AccessToken)
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
		iat := jwttest.Num(t, claims, "iat")
		exp := jwttest.Num(t, claims, "exp")
		if iat != testenv.Epoch.Unix() {
			t.Errorf("iat %d, want the clock's time %d", iat, testenv.Epoch.Unix())
		}
		if want := time.Unix(exp, 0).UTC().Format(testenv.TimeFormat); created.Expires != want {
			t.Errorf("expires %q, want %q (the exp claim)", created.Expires, want)
		}
		if !testenv.APITime.MatchString(created.Expires) {
			t.Errorf("expires %q is not formatted like 2024-01-15T10:30:00.000Z", created.Expires)
		}

		// The token is listed under the id the response gave, and works.
		l := e.ListTokens(admin)
		if len(l) != 1 || l[0].TokenID != created.TokenID || l[0].Expires != created.Expires || !slices.Equal(l[0].Scopes, []string{"metrics:read"}) {
			t.Errorf("list = %+v, want the created token with scope metrics:read", l)
		}
		if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(created.AccessToken)); r.Status != http.StatusOK {
			t.Errorf("the new token is refused: %d %s", r.Status, r.Body)
		}
	})
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
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {

		for _, c := range refused {
			t.Run("refused/"+c.name, func(t *testing.T) {
				e := e.For(t)
				before := testenv.TokenIDs(e.ListTokens(admin))
				r := e.Do(http.MethodPost, "/api/tokens", c.body, e.As(admin))
				p := testenv.WantProblem(t, r, http.StatusBadRequest)
				if !strings.Contains(p.Detail, c.says) {
					t.Errorf("detail %q does not say %q", p.Detail, c.says)
				}
				if after := testenv.TokenIDs(e.ListTokens(admin)); !slices.Equal(after, before) {
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
			if _, claims := jwttest.Parts(t, created.AccessToken); claims["sub"] != c.want {
				t.Errorf("%s: sub claim %q, want %q", c.name, claims["sub"], c.want)
			}
		}
		r := e.Do(http.MethodGet, "/api/tokens", nil, e.As(admin))
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("list Content-Type %q, want application/json (markup in a subject must stay data)", ct)
		}
		var l []testenv.TokenEntry
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
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {

		both := e.CreateToken(admin, map[string]any{"subject": "both", "scopes": []string{"metrics:read", "pipeline:write"}, "workloads": []string{"*"}})
		if _, claims := jwttest.Parts(t, both.AccessToken); claims["scope"] != "metrics:read pipeline:write" {
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
		l := e.ListTokens(admin)
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
		testenv.WantProblem(t, r, http.StatusForbidden)
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
			testenv.WantProblem(t, r, http.StatusBadRequest)
		}
		if l := e.ListTokens(admin); len(l) != 3 {
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
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e := e.For(t)
				opts := []testenv.Opt{e.As(admin)}
				if c.contentType != "" {
					opts = append(opts, testenv.Header("Content-Type", c.contentType))
				}
				r := e.Do(http.MethodPost, "/api/tokens", c.body, opts...)
				p := testenv.WantProblem(t, r, c.status)
				if strings.Contains(p.Detail, "httpapi.") || strings.Contains(p.Detail, "struct") {
					t.Errorf("detail %q shows Go internals instead of what to send", p.Detail)
				}
				e.WantNoTokens(admin)
			})
		}
	})
}

// TestListTokens checks GET /api/tokens: a plain array, newest first, exact time format, and
// only active tokens.
func TestListTokens(t *testing.T) {
	t.Parallel()
	testenv.ForEachServerWith(t, testenv.Settings{Env: map[string]string{"SERVICE_TOKEN_TTL": "1h"}}, func(t *testing.T, e *testenv.Env, admin testenv.Session) {

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
		l := e.ListTokens(admin)
		if len(l) != 3 {
			t.Fatalf("list has %d tokens, want 3", len(l))
		}
		for i, tk := range l {
			j := 2 - i // newest first
			if tk.TokenID != made[j].TokenID {
				t.Errorf("position %d holds %s, want %s (newest first)", i, tk.Sub, fmt.Sprintf("svc-%d", j))
			}
			for name, v := range map[string]string{"created": tk.Created, "expires": tk.Expires} {
				if !testenv.APITime.MatchString(v) {
					t.Errorf("%s %q is not formatted like 2024-01-15T10:30:00.000Z", name, v)
				}
			}
			if want := at[j].UTC().Format(testenv.TimeFormat); tk.Created != want {
				t.Errorf("created %q, want %q", tk.Created, want)
			}
			if want := at[j].Add(time.Hour).UTC().Format(testenv.TimeFormat); tk.Expires != want {
				t.Errorf("expires %q, want %q", tk.Expires, want)
			}
			if tk.CreatedBy != "admin@example.com" || tk.LastUsed != nil {
				t.Errorf("entry %+v: want createdBy admin@example.com and lastUsed null", tk)
			}
		}

		// Revoked: gone from the list.
		e.Revoke(admin, made[1].TokenID)
		if got := testenv.TokenIDs(e.ListTokens(admin)); !slices.Equal(got, []string{made[2].TokenID, made[0].TokenID}) {
			t.Errorf("after revoking svc-1 the list is %v", got)
		}

		// Expired: svc-0 was created 40 minutes ago; its hour ends 20 minutes from now.
		e.Clock.Advance(20*time.Minute - time.Second)
		if got := testenv.TokenIDs(e.ListTokens(admin)); !slices.Equal(got, []string{made[2].TokenID, made[0].TokenID}) {
			t.Errorf("one second before svc-0 expires the list is %v", got)
		}
		e.Clock.Advance(time.Second)
		if got := testenv.TokenIDs(e.ListTokens(admin)); !slices.Equal(got, []string{made[2].TokenID}) {
			t.Errorf("after svc-0 expired the list is %v, want only svc-2", got)
		}
		e.Clock.Advance(time.Hour)
		r = e.Do(http.MethodGet, "/api/tokens", nil, e.As(admin))
		if r.Status != http.StatusOK || strings.TrimSpace(string(r.Body)) != "[]" {
			t.Errorf("list when every token expired: %d %q, want 200 []", r.Status, r.Body)
		}
	})
}

// TestListTokensPaging follows the Link headers and checks every token is seen once, in order,
// also when several tokens share a creation second.
func TestListTokensPaging(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		for i := range 7 {
			e.CreateToken(admin, map[string]any{"subject": fmt.Sprintf("svc-%d", i)})
			if i%3 == 2 { // three tokens in each second
				e.Clock.Advance(time.Second)
			}
		}
		all := testenv.TokenIDs(e.ListTokens(admin))
		if len(all) != 7 {
			t.Fatalf("list has %d tokens, want 7", len(all))
		}

		var seen []string
		pages := followPages(t, e, "/api/tokens?limit=2", e.As(admin))
		for i, page := range pages {
			if len(page) > 2 || i == 0 && len(page) != 2 {
				t.Errorf("page %d has %d tokens with limit=2", i, len(page))
			}
			for _, tk := range page {
				seen = append(seen, tk["tokenId"].(string))
			}
		}
		if len(pages) < 2 {
			t.Errorf("first page has no Link header")
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
			testenv.WantProblem(t, r, http.StatusBadRequest)
		}
	})
}

// TestRevokeToken checks DELETE /api/tokens/{id} against ids that are unknown, already
// revoked, oversized or hostile.
func TestRevokeToken(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
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
			testenv.WantProblem(t, r, http.StatusNotFound)
		}
		if got := testenv.TokenIDs(e.ListTokens(admin)); !slices.Equal(got, []string{keep.TokenID}) {
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
		testenv.WantProblem(t, e.Do(http.MethodDelete, "/api/tokens/"+gone.TokenID, nil, e.As(admin)), http.StatusNotFound)
		if got := testenv.TokenIDs(e.ListTokens(admin)); !slices.Equal(got, []string{keep.TokenID}) {
			t.Errorf("list is %v, want the kept token only", got)
		}
	})
}

// TestAuditEvents checks creation and revocation are audited with actor and target, and that
// no event holds the token value.
func TestAuditEvents(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		created := e.CreateToken(admin, map[string]any{"subject": "audited"})
		e.Revoke(admin, created.TokenID)

		events := e.AuditEvents("")
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
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		created := e.CreateToken(admin, map[string]any{"subject": "used"})
		e.Flush()
		if l := e.ListTokens(admin); len(l) != 1 || l[0].LastUsed != nil {
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
			l := e.ListTokens(admin)
			want := usedAt.UTC().Format(testenv.TimeFormat)
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

// TestTokenListFilterSortAndCount covers what the portal's table asks of the list: a subject
// filter (any case, wildcards taken literally), soonest-expiry order, paging in that order, and
// a total count.
func TestTokenListFilterSortAndCount(t *testing.T) {
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		// Lifetimes chosen so that creation order and expiry order differ.
		subjects := map[string]string{"Deploy-Prod": "90d", "deploy-staging": "10d", "metrics_export": "400h", "100%-coverage": "2d", "nightly": "30d"}
		for _, name := range []string{"Deploy-Prod", "deploy-staging", "metrics_export", "100%-coverage", "nightly"} {
			if _, err := e.Server.Tokens.Create(t.Context(), tokenRequest(name, subjects[name])); err != nil {
				t.Fatal(err)
			}
			e.Clock.Advance(time.Minute)
		}
		e.Sync()

		get := func(query string) ([]testenv.TokenEntry, *testenv.Response) {
			t.Helper()
			var l []testenv.TokenEntry
			r := e.GetJSON("/api/tokens?"+query, &l, e.As(admin))
			return l, r
		}
		subs := func(l []testenv.TokenEntry) string {
			var s []string
			for _, x := range l {
				s = append(s, x.Sub)
			}
			return strings.Join(s, ",")
		}

		if l, r := get("subject=DEPLOY"); subs(l) != "deploy-staging,Deploy-Prod" || r.Header.Get("X-Total-Count") != "2" {
			t.Errorf("subject=DEPLOY: %s (count %s)", subs(l), r.Header.Get("X-Total-Count"))
		}
		if l, _ := get("subject=" + url.QueryEscape("_")); subs(l) != "metrics_export" {
			t.Errorf("_ must match literally: %s", subs(l))
		}
		if l, _ := get("subject=" + url.QueryEscape("%")); subs(l) != "100%-coverage" {
			t.Errorf("%% must match literally: %s", subs(l))
		}
		if l, _ := get("sort=expires"); subs(l) != "100%-coverage,deploy-staging,metrics_export,nightly,Deploy-Prod" {
			t.Errorf("sort=expires: %s", subs(l))
		}

		// Paging in expiry order visits every token once, in order, and keeps the filter.
		var seen []string
		next := "/api/tokens?sort=expires&limit=2"
		for next != "" {
			var l []testenv.TokenEntry
			r := e.GetJSON(next, &l, e.As(admin))
			if r.Header.Get("X-Total-Count") != "5" {
				t.Fatalf("X-Total-Count %q on %s", r.Header.Get("X-Total-Count"), next)
			}
			for _, x := range l {
				seen = append(seen, x.Sub)
			}
			next = ""
			if link := r.Header.Get("Link"); link != "" {
				next = strings.TrimSuffix(strings.TrimPrefix(strings.Split(link, ";")[0], "<"), ">")
				if !strings.Contains(next, "sort=expires") {
					t.Fatalf("next link lost the sort: %s", link)
				}
			}
		}
		if strings.Join(seen, ",") != "100%-coverage,deploy-staging,metrics_export,nightly,Deploy-Prod" {
			t.Errorf("paged by expiry: %v", seen)
		}

		for _, bad := range []string{"sort=subject", "subject=" + strings.Repeat("x", 101), "limit=2&cursor=bm9wZQ"} {
			testenv.WantProblem(t, e.Do(http.MethodGet, "/api/tokens?"+bad, nil, e.As(admin)), http.StatusBadRequest)
		}
	})
}

func tokenRequest(subject, ttl string) token.CreateRequest {
	d, err := config.ParseDuration(ttl)
	if err != nil {
		panic(err)
	}
	return token.CreateRequest{Subject: subject, CreatedBy: "admin@example.com", TTL: d}
}

// TestServiceTokenSubjectMustBeVisible: a subject with a bidirectional override or a
// zero-width space would show something other than what it holds.
func TestServiceTokenSubjectMustBeVisible(t *testing.T) {
	e := testenv.Start(t, testenv.SQLite(t))
	admin := e.SignIn("admin@example.com", true)
	for _, sub := range []string{"ci-\u202Eyolped", "ci\u200B-deploy", "ci\u2066-deploy", "\uFEFFci", "ci\u00AD-deploy"} {
		r := e.Do(http.MethodPost, "/api/tokens", map[string]any{"subject": sub}, e.As(admin))
		if p := testenv.WantProblem(t, r, http.StatusBadRequest); !strings.Contains(p.Detail, "visible") {
			t.Errorf("subject %+q: %s", sub, r.Body)
		}
	}
	e.WantNoTokens(admin)
}

// TestServiceTokenTTL checks SERVICE_TOKEN_TTL, in hours or days, sets the lifetime of new
// tokens, and that the default is a year.
func TestServiceTokenTTL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		setting string
		want    time.Duration
	}{
		{"", 365 * 24 * time.Hour},
		{"720h", 30 * 24 * time.Hour},
		{"30d", 30 * 24 * time.Hour},
	}
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		for _, c := range cases {
			t.Run("ttl="+c.setting, func(t *testing.T) {
				settings := testenv.Settings{}
				if c.setting != "" {
					settings.Env = map[string]string{"SERVICE_TOKEN_TTL": c.setting}
				}
				e := testenv.Start(t, db, settings)
				admin := e.SignIn("admin@example.com", true)
				created := e.CreateToken(admin, map[string]any{"subject": "ttl"})

				_, claims := jwttest.Parts(t, created.AccessToken)
				iat, exp := jwttest.Num(t, claims, "iat"), jwttest.Num(t, claims, "exp")
				if got := exp - iat; got != int64(c.want.Seconds()) {
					t.Errorf("exp - iat = %d s, want %d s", got, int64(c.want.Seconds()))
				}
				wantExp := testenv.Epoch.Add(c.want).UTC().Format(testenv.TimeFormat)
				if created.Expires != wantExp {
					t.Errorf("expires %q, want %q", created.Expires, wantExp)
				}
				// The cases share a database: find this case's token.
				listed := false
				for _, tk := range e.ListTokens(admin) {
					if tk.TokenID == created.TokenID {
						listed = true
						if tk.Expires != wantExp {
							t.Errorf("listed expires %q, want %q", tk.Expires, wantExp)
						}
					}
				}
				if !listed {
					t.Errorf("token %s is not listed", created.TokenID)
				}

				r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(created.AccessToken))
				var cfg struct {
					TTLSeconds int64 `json:"serviceTokenTtlSeconds"`
				}
				r.JSON(t, &cfg)
				if r.Status != http.StatusOK || cfg.TTLSeconds != int64(c.want.Seconds()) {
					t.Errorf("system config: %d %s, want serviceTokenTtlSeconds %d", r.Status, r.Body, int64(c.want.Seconds()))
				}
			})
		}
	})
}

// FuzzCreateTokenBody sends arbitrary bodies to POST /api/tokens: never a 5xx, always JSON, a
// refusal as problem+json, and no token for a subject the rules refuse.
func FuzzCreateTokenBody(f *testing.F) {
	e := testenv.Start(f, testenv.SQLite(f))
	admin := e.SignIn("admin@example.com", true)
	for _, s := range []string{`{"subject":"ci"}`, `{"subject":" x ","scopes":["pipeline:write"]}`, `{"subject":"\u0000"}`, `{"subject":"\ud800"}`,
		`{"subject":5}`, `[]`, `{"subject":"a"}{}`, `{"subject":"<script>alert(1)</script>"}`, `{"scopes":null,"subject":"é"}`, "\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := e.For(t).Do(http.MethodPost, "/api/tokens", body, e.As(admin))
		testenv.WantJSONAnswer(t, r)
		if r.Status == http.StatusCreated {
			var req struct{ Subject string }
			_ = json.Unmarshal(body, &req)
			s := strings.TrimSpace(req.Subject)
			if !utf8.Valid(body) || s == "" || utf8.RuneCountInString(s) > 100 || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == utf8.RuneError }) {
				t.Fatalf("accepted a subject the rules refuse: %q -> %s", body, r.Body)
			}
		}
	})
}
