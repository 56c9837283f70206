package scenario

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/codemetrics/codemetrics/bench/internal/instance"
	"github.com/codemetrics/codemetrics/bench/internal/results"
	"github.com/codemetrics/codemetrics/bench/internal/signin"
)

// signingKey signs the tokens of the servers under test (and of the baseline).
const signingKey = "benchmark-signing-key-not-secret-0123456789abcdef"

// DB is one database and the servers measured on it, started when a scenario first needs them:
// instance A, the bare-JWT baseline and, on MariaDB, instance B on the same database.
type DB struct {
	*Bench
	Name        string // sqlite or mysql
	Driver, DSN string
	R           *results.Database

	mysql *sql.DB // MariaDB itself (its status counters), not the server's database

	A, B, Bare *instance.Process
	// LoadToken is the service token the loads use.
	LoadToken Token
	admin     *signin.Admin
}

// dbEnv is what the command line needs to work on db.
func (db *DB) dbEnv() []string {
	return []string{
		"APP_ENV=development",
		"DATABASE_DRIVER=" + db.Driver,
		"DATABASE_DSN=" + db.DSN,
		"TOKEN_SIGNING_KEY=" + signingKey,
	}
}

// serverEnv is the environment of a CodeMetrics server on db serving on p: development
// settings, rate limits off, the request log on (to a file, as in production).
func (db *DB) serverEnv(p instance.Ports) []string {
	url := "http://127.0.0.1:" + strconv.Itoa(p.HTTP)
	return append(db.dbEnv(),
		"HTTP_ADDR=127.0.0.1:"+strconv.Itoa(p.HTTP),
		"PUBLIC_URL="+url,
		"METRICS_ADDR=127.0.0.1:"+strconv.Itoa(p.Metrics),
		"RATE_LIMIT_PER_MINUTE=0",
		"AUTH_RATE_LIMIT_PER_MINUTE=0",
	)
}

// Servers starts A, the baseline and (MariaDB) B, once; then waits 2 s and reads A's idle
// resident memory.
func (db *DB) Servers(ctx context.Context) error {
	if db.A != nil {
		return nil
	}
	start := func(name string, path string, args []string, env []string, p instance.Ports) (*instance.Process, error) {
		return instance.Start(ctx, instance.Spec{Name: db.Name + "-" + name, Path: path, Args: args, Env: env, LogDir: db.Work}, p)
	}
	pa, err := instance.FreePorts()
	if err != nil {
		return err
	}
	db.Logf("%s: starting CodeMetrics (A), the bare-JWT baseline%s", db.Name, map[bool]string{true: " and instance B", false: ""}[db.Name == "mysql"])
	if db.A, err = start("a", db.Bin, nil, append(db.serverEnv(pa), db.idp.Env()...), pa); err != nil {
		return err
	}
	if db.LoadToken, err = db.CreateToken(ctx, "bench-load"); err != nil {
		return err
	}
	// The baseline answers GET /api/system/config with the bytes CodeMetrics answers it with.
	body, err := get(ctx, db.A.URL+"/api/system/config", db.LoadToken.AccessToken)
	if err != nil {
		return err
	}
	pb, err := instance.FreePorts()
	if err != nil {
		return err
	}
	if db.Bare, err = start("bare", db.Self, []string{"bare"}, append(db.serverEnv(pb), "BARE_SYSTEM_CONFIG="+string(body)), pb); err != nil {
		return err
	}
	if db.Name == "mysql" {
		p, err := instance.FreePorts()
		if err != nil {
			return err
		}
		if db.B, err = start("b", db.Bin, nil, append(db.serverEnv(p), db.idp.Env()...), p); err != nil {
			return err
		}
	}
	time.Sleep(2 * time.Second)
	r, err := db.A.Read(ctx)
	if err != nil {
		return err
	}
	db.R.Resources.IdleRSSBytes = r.RSSBytes
	return nil
}

func (db *DB) stop() {
	db.A.Stop()
	db.B.Stop()
	db.Bare.Stop()
}

// Admin is an administrator signed in to A through the identity provider.
func (db *DB) Admin(ctx context.Context) (signin.Admin, error) {
	if db.admin != nil {
		return *db.admin, nil
	}
	if err := db.Servers(ctx); err != nil {
		return signin.Admin{}, err
	}
	a, err := db.idp.SignIn(ctx, db.A.URL)
	if err != nil {
		return a, err
	}
	db.admin = &a
	return a, nil
}

// Token is a service token as `codemetrics tokens create --json` prints it.
type Token struct {
	AccessToken string    `json:"accessToken"`
	TokenID     string    `json:"tokenId"`
	Expires     time.Time `json:"expires"`
}

// CreateToken issues a service token with the command line, on A's database (flags: more of
// its flags, e.g. --scope).
func (db *DB) CreateToken(ctx context.Context, subject string, flags ...string) (Token, error) {
	return db.createToken(ctx, db.DSN, subject, flags...)
}

func get(ctx context.Context, url, bearer string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s: %.300s", url, resp.Status, body)
	}
	return body, err
}
