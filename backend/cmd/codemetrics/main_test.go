package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/token"
)

func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, func(k string) string { return env[k] }, &out, &errb)
	return code, out.String(), errb.String()
}

// TestTokensCommandAgainstARunningServer issues, lists and revokes a token from the command
// line while a server runs on the same database, as an operator bootstrapping would.
func TestTokensCommandAgainstARunningServer(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		// The command line runs on the real clock; so does this server.
		e := testenv.Start(t, db, testenv.Settings{Clock: testenv.NewClockAt(time.Now())})
		env := map[string]string{"DATABASE_DRIVER": db.Driver, "DATABASE_DSN": db.DSN, "TOKEN_SIGNING_KEY": testenv.SigningKey, "USER": "ops"}

		code, tok, stderr := runCLI(t, env, "tokens", "create", "--subject", "bootstrap", "--created-by", "ops@example.com", "--ttl", "30d", "--scope", "metrics:read,pipeline:write", "--workload", "*")
		if code != 0 {
			t.Fatalf("create: exit %d: %s", code, stderr)
		}
		tok = strings.TrimSpace(tok)
		if strings.Count(tok, ".") != 2 || strings.Contains(stderr, tok) {
			t.Fatalf("stdout should be exactly the token, stderr never: %q / %q", tok, stderr)
		}
		if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok)); r.Status != http.StatusOK {
			t.Fatalf("server refused the CLI's token: %d %s", r.Status, r.Body)
		}

		code, out, stderr := runCLI(t, env, "tokens", "list")
		if code != 0 {
			t.Fatalf("list: exit %d: %s", code, stderr)
		}
		var list []struct {
			TokenID   string   `json:"tokenId"`
			Sub       string   `json:"sub"`
			CreatedBy string   `json:"createdBy"`
			Scopes    []string `json:"scopes"`
		}
		if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 {
			t.Fatalf("list output: %v\n%s", err, out)
		}
		if list[0].Sub != "bootstrap" || list[0].CreatedBy != "cli:ops@example.com" || strings.Join(list[0].Scopes, " ") != "metrics:read pipeline:write" {
			t.Errorf("listed %+v", list[0])
		}
		if strings.Contains(out, tok) {
			t.Error("list shows the token value")
		}

		if code, _, stderr := runCLI(t, env, "tokens", "revoke", list[0].TokenID); code != 0 {
			t.Fatalf("revoke: exit %d: %s", code, stderr)
		}
		e.Sync() // what the server's feed poll does within a second
		if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok)); r.Status != http.StatusUnauthorized {
			t.Fatalf("revoked from the CLI, the server still answers %d", r.Status)
		}
		if code, _, stderr := runCLI(t, env, "tokens", "revoke", list[0].TokenID); code != 1 || !strings.Contains(stderr, "no active token") {
			t.Errorf("second revoke: exit %d: %s", code, stderr)
		}

		// Audited like the API.
		evs := e.AuditEvents("")
		var actions []string
		for _, ev := range evs {
			actions = append(actions, ev.Action+" by "+ev.Actor)
		}
		if got := strings.Join(actions, ", "); got != "token.revoked by cli:ops, token.created by cli:ops@example.com, service_user.created by cli:ops@example.com" {
			t.Errorf("audit log = %s", got)
		}
		for _, ev := range evs {
			if ev.Credential != "cli" || ev.ClientAddress != "" || ev.RequestID != "" {
				t.Errorf("%s: credential %q, address %q, request %q; want cli and no request", ev.Action, ev.Credential, ev.ClientAddress, ev.RequestID)
			}
		}
	})
}

func TestBadInvocations(t *testing.T) {
	env := map[string]string{"DATABASE_DSN": t.TempDir() + "/x.db"}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"tokens"}, 2, "want create, list, rotate or revoke"},
		{[]string{"tokens", "create", "--subject", "x"}, 2, "--created-by"},
		{[]string{"tokens", "create", "--subject", "x", "--created-by", "y", "--ttl", "forever"}, 2, "--ttl"},
		{[]string{"tokens", "create", "--subject", "x", "--created-by", "y", "--scope", "root"}, 1, "unknown scope"},
		{[]string{"tokens", "revoke"}, 2, "exactly one token id"},
	} {
		code, _, stderr := runCLI(t, env, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
	code, _, stderr := runCLI(t, map[string]string{"SERVICE_TOKEN_TTL": "1 year"}, "serve")
	if code != 1 || !strings.Contains(stderr, "SERVICE_TOKEN_TTL") {
		t.Errorf("bad SERVICE_TOKEN_TTL: exit %d, %q", code, stderr)
	}
}

func TestMigrateIsRepeatable(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		env := map[string]string{"DATABASE_DRIVER": db.Driver, "DATABASE_DSN": db.DSN, "TOKEN_SIGNING_KEY": testenv.SigningKey}
		for i := range 2 {
			if code, _, stderr := runCLI(t, env, "migrate"); code != 0 {
				t.Fatalf("migrate #%d: exit %d: %s", i+1, code, stderr)
			}
		}
	})
}

// TestCLICannotPoseAsAPerson: --created-by and --revoked-by name whoever ran the command, and
// the audit log says so with "cli:": --created-by admin@example.com is not admin@example.com's
// session, and "cli:" given twice is not doubled.
func TestCLICannotPoseAsAPerson(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db, testenv.Settings{Clock: testenv.NewClockAt(time.Now())})
		env := map[string]string{"DATABASE_DRIVER": db.Driver, "DATABASE_DSN": db.DSN, "TOKEN_SIGNING_KEY": testenv.SigningKey}
		if code, _, stderr := runCLI(t, env, "tokens", "create", "--subject", "ci", "--created-by", "admin@example.com"); code != 0 {
			t.Fatalf("create: exit %d: %s", code, stderr)
		}
		list, err := e.Server.Tokens.List(context.Background(), token.ListQuery{})
		if err != nil || len(list) != 1 {
			t.Fatalf("list: %v %+v", err, list)
		}
		if code, _, stderr := runCLI(t, env, "tokens", "revoke", "--revoked-by", "cli:admin@example.com", list[0].ID); code != 0 {
			t.Fatalf("revoke: exit %d: %s", code, stderr)
		}
		evs := e.AuditEvents("")
		for _, ev := range evs {
			if ev.Actor != "cli:admin@example.com" || ev.Credential != "cli" {
				t.Errorf("%s recorded as %q with %q, want cli:admin@example.com with cli", ev.Action, ev.Actor, ev.Credential)
			}
		}
		got, _ := e.Server.Tokens.Get(context.Background(), list[0].ID)
		if got.CreatedBy != "cli:admin@example.com" || got.RevokedBy != "cli:admin@example.com" {
			t.Errorf("token created by %q, revoked by %q", got.CreatedBy, got.RevokedBy)
		}
	})
}

// TestTokensJSON: with --json each tokens command prints one JSON value a script can read, and
// nothing else: create the fields of POST /api/tokens' answer, list the array, revoke the token
// it revoked.
func TestTokensJSON(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db, testenv.Settings{Clock: testenv.NewClockAt(time.Now())})
		env := map[string]string{"DATABASE_DRIVER": db.Driver, "DATABASE_DSN": db.DSN, "TOKEN_SIGNING_KEY": testenv.SigningKey, "USER": "ops"}

		before := time.Now().Truncate(time.Second)
		var created struct {
			AccessToken string    `json:"accessToken"`
			TokenID     string    `json:"tokenId"`
			Expires     time.Time `json:"expires"`
		}
		runCLIJSON(t, env, &created, "tokens", "create", "--subject", "nightly-export", "--created-by", "ops", "--ttl", "30d", "--json")
		if exp := before.Add(30 * 24 * time.Hour); created.Expires.Before(exp) || created.Expires.After(exp.Add(time.Minute)) {
			t.Errorf("expires %s, want 30 days from now", created.Expires)
		}
		if r := e.Do(http.MethodGet, "/api/tokens/self", nil, testenv.Bearer(created.AccessToken)); r.Status != http.StatusOK || !strings.Contains(string(r.Body), created.TokenID) {
			t.Fatalf("the printed token is not the token %s: %d %s", created.TokenID, r.Status, r.Body)
		}

		code, out, stderr := runCLI(t, env, "tokens", "list", "--json")
		var list []struct {
			TokenID string `json:"tokenId"`
			Sub     string `json:"sub"`
		}
		if code != 0 || stderr != "" || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || list[0].TokenID != created.TokenID || list[0].Sub != "nightly-export" {
			t.Fatalf("list --json: exit %d, stderr %q, stdout %s", code, stderr, out)
		}

		var revoked struct {
			TokenID   string    `json:"tokenId"`
			Sub       string    `json:"sub"`
			Revoked   time.Time `json:"revoked"`
			RevokedBy string    `json:"revokedBy"`
		}
		runCLIJSON(t, env, &revoked, "tokens", "revoke", "--json", created.TokenID)
		if revoked.TokenID != created.TokenID || revoked.Sub != "nightly-export" || revoked.RevokedBy != "cli:ops" || revoked.Revoked.Before(before) {
			t.Errorf("revoke --json: %+v", revoked)
		}

		// A failure is still an exit code and a sentence on stderr, never half a JSON value.
		code, out, stderr = runCLI(t, env, "tokens", "revoke", "--json", created.TokenID)
		if code != 1 || out != "" || !strings.Contains(stderr, "no active token") {
			t.Errorf("revoking again with --json: exit %d, stdout %q, stderr %q", code, out, stderr)
		}
	})
}

// runCLIJSON runs the command line with args, which must succeed with nothing on stderr, and
// decodes what it prints into into (strictJSON).
func runCLIJSON(t *testing.T, env map[string]string, into any, args ...string) {
	t.Helper()
	code, out, stderr := runCLI(t, env, args...)
	if code != 0 || stderr != "" {
		t.Fatalf("%s: exit %d, stderr %q", strings.Join(args[1:], " "), code, stderr)
	}
	if err := strictJSON(out, into); err != nil {
		t.Fatalf("%s printed %q: %v", strings.Join(args[1:], " "), out, err)
	}
}

// strictJSON decodes exactly one JSON object with exactly the fields of into.
func strictJSON(s string, into any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}

// TestRevokeTakesEveryIDAsGiven: one token id in 64 starts with "-"; the command line must
// revoke it as the API hands it out, with or without "--", with the flag before or after.
func TestRevokeTakesEveryIDAsGiven(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db, testenv.Settings{Clock: testenv.NewClockAt(time.Now())})
		env := map[string]string{"DATABASE_DRIVER": db.Driver, "DATABASE_DSN": db.DSN, "TOKEN_SIGNING_KEY": testenv.SigningKey, "USER": "ops"}
		for _, args := range [][]string{
			{"tokens", "revoke", "ID"},
			{"tokens", "revoke", "--", "ID"},
			{"tokens", "revoke", "--revoked-by", "ops", "ID"},
			{"tokens", "revoke", "ID", "--revoked-by=ops"},
			{"tokens", "revoke", "--revoked-by", "ops", "--", "ID"},
			{"tokens", "revoke", "--json", "ID"},
			{"tokens", "revoke", "ID", "--json"},
			{"tokens", "revoke", "--json", "--revoked-by", "ops", "--", "ID"},
		} {
			id := dashedToken(t, e)
			for i := range args {
				if args[i] == "ID" {
					args[i] = id
				}
			}
			if code, _, stderr := runCLI(t, env, args...); code != 0 {
				t.Errorf("%v: exit %d: %s", args, code, stderr)
				continue
			}
			if got, _ := e.Server.Tokens.Get(context.Background(), id); got.RevokedAt == nil || got.RevokedBy != "cli:ops" {
				t.Errorf("%v: token %+v not revoked by cli:ops", args, got)
			}
		}
	})
}

// dashedToken stores a token whose id starts with "-", as one in 64 issued ids does.
func dashedToken(t *testing.T, e *testenv.Env) string {
	t.Helper()
	for {
		c, err := e.Server.Tokens.Create(context.Background(), token.CreateRequest{Subject: "ci", CreatedBy: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(c.Token.ID, "-") {
			return c.Token.ID
		}
		if _, err := e.Server.Tokens.Revoke(context.Background(), c.Token.ID, audit.Context{Actor: "test"}, ""); err != nil {
			t.Fatal(err)
		}
	}
}

// TestHelpExitsZero: asking for help is not a mistake.
func TestHelpExitsZero(t *testing.T) {
	env := map[string]string{"DATABASE_DSN": t.TempDir() + "/x.db"}
	for _, args := range [][]string{
		{"--help"}, {"tokens", "--help"}, {"tokens", "-h"}, {"tokens", "help"},
		{"tokens", "create", "--help"}, {"tokens", "list", "-h"}, {"tokens", "revoke", "--help"},
	} {
		code, stdout, stderr := runCLI(t, env, args...)
		if code != 0 || !strings.Contains(stdout, "codemetrics tokens revoke") || strings.Contains(stderr, "unknown") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want the usage and exit 0", args, code, stdout, stderr)
		}
	}
}

// TestTokensRotateCommand: tokens create takes --expires-in (bounded by SERVICE_TOKEN_TTL, as the
// API's expiresIn) and --description; tokens rotate prints the successor once (with --json the
// fields of POST /api/tokens/{id}/rotate's answer), which the running server accepts while the
// old token works until the grace period ends; a second rotation is refused and changes nothing.
func TestTokensRotateCommand(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db, testenv.Settings{Clock: testenv.NewClockAt(time.Now())})
		env := map[string]string{"DATABASE_DRIVER": db.Driver, "DATABASE_DSN": db.DSN, "TOKEN_SIGNING_KEY": testenv.SigningKey, "USER": "ops"}

		if code, _, stderr := runCLI(t, env, "tokens", "create", "--subject", "x", "--created-by", "ops", "--expires-in", "400d"); code != 1 || !strings.Contains(stderr, "SERVICE_TOKEN_TTL") {
			t.Errorf("--expires-in beyond SERVICE_TOKEN_TTL: exit %d, %q", code, stderr)
		}
		code, old, stderr := runCLI(t, env, "tokens", "create", "--subject", "nightly-export", "--created-by", "ops", "--expires-in", "30d", "--description", "team A's export")
		if code != 0 {
			t.Fatalf("create: exit %d: %s", code, stderr)
		}
		old = strings.TrimSpace(old)
		var self struct {
			TokenID     string `json:"tokenId"`
			Description string `json:"description"`
		}
		e.GetJSON("/api/tokens/self", &self, testenv.Bearer(old))
		if self.Description != "team A's export" {
			t.Errorf("description %q", self.Description)
		}

		before := time.Now().Truncate(time.Second)
		var rot struct {
			AccessToken       string    `json:"accessToken"`
			TokenID           string    `json:"tokenId"`
			Expires           time.Time `json:"expires"`
			Replaces          string    `json:"replaces"`
			ReplacedTokenEnds time.Time `json:"replacedTokenEnds"`
		}
		runCLIJSON(t, env, &rot, "tokens", "rotate", "--grace", "2h", "--json", self.TokenID)
		if rot.Replaces != self.TokenID || rot.ReplacedTokenEnds.Before(before.Add(2*time.Hour)) || rot.ReplacedTokenEnds.After(before.Add(2*time.Hour+time.Minute)) ||
			rot.Expires.Before(before.Add(30*24*time.Hour)) {
			t.Errorf("rotation %+v", rot)
		}
		e.Sync()
		for _, tok := range []string{old, rot.AccessToken} {
			if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok)); r.Status != http.StatusOK {
				t.Errorf("in the grace period: %d %s", r.Status, r.Body)
			}
		}
		if evs := e.AuditEvents("token.rotated"); len(evs) != 1 || evs[0].Actor != "cli:ops" {
			t.Errorf("audit %+v", evs)
		}
		if code, _, stderr := runCLI(t, env, "tokens", "rotate", self.TokenID); code != 1 || !strings.Contains(stderr, rot.TokenID) {
			t.Errorf("second rotation: exit %d, %q: want a refusal naming the successor", code, stderr)
		}
		code, out, _ := runCLI(t, env, "tokens", "list", "--status", "rotated")
		var list []struct {
			TokenID    string `json:"tokenId"`
			Status     string `json:"status"`
			ReplacedBy string `json:"replacedBy"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || list[0].TokenID != self.TokenID || list[0].Status != "rotated" || list[0].ReplacedBy != rot.TokenID {
			t.Errorf("list --status rotated: exit %d, %s", code, out)
		}
	})
}
