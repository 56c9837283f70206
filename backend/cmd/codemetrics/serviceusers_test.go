package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// TestTokensCreateForAServiceUser: the command line issues tokens for service users as the API
// does: a new one with pipeline:write must be given its workloads, and its token records only
// into them.
func TestTokensCreateForAServiceUser(t *testing.T) {
	db := testenv.SQLite(t)
	e := testenv.Start(t, db, testenv.Settings{Clock: testenv.NewClockAt(time.Now())})
	env := map[string]string{"DATABASE_DRIVER": db.Driver, "DATABASE_DSN": db.DSN, "TOKEN_SIGNING_KEY": testenv.SigningKey}

	code, _, stderr := runCLI(t, env, "tokens", "create", "--subject", "deployer", "--created-by", "ops", "--scope", "pipeline:write")
	if code != 1 || !strings.Contains(stderr, `"workloads" is required`) {
		t.Fatalf("pipeline:write without --workload: exit %d: %s", code, stderr)
	}
	code, tok, stderr := runCLI(t, env, "tokens", "create", "--subject", "deployer", "--created-by", "ops", "--scope", "pipeline:write", "--workload", "shop,shop-admin")
	if code != 0 {
		t.Fatalf("create: exit %d: %s", code, stderr)
	}
	run := func(workload string) int {
		return e.Do(http.MethodPost, "/api/pipeline/runs", map[string]any{"id": "r1", "workload": workload, "pipeline": "ci", "kind": "build", "status": "success",
			"branch": "main", "commit": "abcdef1", "startedAt": "2026-03-01T08:00:00Z", "finishedAt": "2026-03-01T08:01:00Z"},
			testenv.Bearer(strings.TrimSpace(tok))).Status
	}
	if s := run("shop-admin"); s != http.StatusCreated {
		t.Errorf("into its workload: %d", s)
	}
	if s := run("billing"); s != http.StatusForbidden {
		t.Errorf("into another workload: %d", s)
	}
}
