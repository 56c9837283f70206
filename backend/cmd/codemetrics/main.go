// Command codemetrics is the CodeMetrics server and its administration command line.
//
//	codemetrics [serve]        run the server (the default)
//	codemetrics migrate        apply database migrations and exit
//	codemetrics tokens create --subject S --created-by WHO [--expires-in 30d] [--description TEXT] [--scope metrics:read]... [--workload W]... [--json]
//	codemetrics tokens list [--status active|rotated|expired|revoked|all] [--json]
//	codemetrics tokens rotate [--grace 24h] [--rotated-by WHO] [--json] [--] ID
//	codemetrics tokens revoke [--revoked-by WHO] [--reason WHY] [--json] [--] ID
//
// WHO is recorded as "cli:WHO", so the command line never poses as a person who signed in.
// With --json a command prints one JSON value on standard output and nothing else (errors
// still go to standard error with a non-zero exit), so scripts never read sentences.
//
//	codemetrics galera-check [--listen 127.0.0.1:9200] [--node DSN] [--timeout 1s] [--available-when-donor]
//	codemetrics version
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/config"
	"github.com/codemetrics/codemetrics/backend/internal/galeracheck"
	"github.com/codemetrics/codemetrics/backend/internal/server"
	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/token"
	"github.com/codemetrics/codemetrics/frontend"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program, with its environment passed in so tests can call it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, getenv, stdout, stderr)
	case "migrate":
		err = migrate(ctx, getenv, stderr)
	case "tokens":
		err = tokens(ctx, args, getenv, stdout, stderr)
	case "galera-check":
		err = galeraCheck(ctx, args, getenv, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, version)
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "%v\n\n%s", err, usage)
			return 2
		}
		fmt.Fprintf(stderr, "codemetrics: %v\n", err)
		return 1
	}
	return 0
}

const usage = `Usage:
  codemetrics [serve]        run the server (configured by environment variables; see README)
  codemetrics migrate        apply database migrations and exit
  codemetrics tokens create --subject NAME --created-by WHO [--expires-in 30d|2160h] [--description TEXT]
                             [--scope SCOPE]... [--workload W]... [--json]
                             issue a service token for the service user NAME (created when
                             missing; --workload gives a new one its workloads, '*' for all,
                             required with pipeline:write) and print it once; --expires-in is at
                             most SERVICE_TOKEN_TTL (its default); --ttl sets any lifetime
  codemetrics tokens list [--status active|rotated|expired|revoked|all] [--json]
                             list tokens as JSON (the active ones by default)
  codemetrics tokens rotate [--grace 24h] [--rotated-by WHO] [--json] [--] TOKEN_ID
                             issue the token's successor (same service user, scopes, description
                             and lifetime) and print it once; the old token keeps working until
                             the grace period ends (default ROTATION_GRACE_PERIOD, at most 7d)
  codemetrics tokens revoke [--revoked-by WHO] [--reason WHY] [--json] [--] TOKEN_ID
                             revoke a token; running servers refuse it within a second
  codemetrics galera-check [--listen 127.0.0.1:9200] [--node DSN] [--timeout 1s] [--available-when-donor]
                             answer HAProxy's option httpchk for one MariaDB Galera node: 200 when
                             it is usable (wsrep_ready ON, Primary, wsrep_local_state 4 Synced),
                             503 and the reason otherwise; --node (or GALERA_CHECK_DSN, better: it
                             stays out of ps) is a DSN such as check@tcp(127.0.0.1:3306)/, whose
                             user needs no privilege; --listen defaults to GALERA_CHECK_LISTEN
  codemetrics version        print the version

WHO is recorded in the audit log as "cli:WHO" (rotate and revoke default to $USER).
--json prints one JSON value on stdout and nothing else: create's is {"accessToken",
"tokenId", "expires"}, as POST /api/tokens answers; rotate's {"accessToken", "tokenId",
"expires", "replaces", "replacedTokenEnds"}, as POST /api/tokens/{id}/rotate answers; list's
the array it always prints; revoke's {"tokenId", "sub", "revoked", "revokedBy"}.
`

type usageError struct{ error }

func loadConfig(getenv func(string) string) (config.Config, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return cfg, fmt.Errorf("configuration:\n%w", err)
	}
	return cfg, nil
}

func serve(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, cfg, server.Options{Log: log, SPA: frontend.FS(), Version: version})
	if err != nil {
		return err
	}
	log.Info("starting CodeMetrics", "version", version, "config", srv.Config)
	return srv.Serve(ctx, func(addr string) {
		log.Info("listening", "addr", addr, "public_url", cfg.PublicURL.String())
		fmt.Fprintf(stdout, "CodeMetrics %s is listening on %s: open %s\n", version, addr, cfg.PublicURL)
	})
}

func migrate(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	st, err := store.Open(cfg.DatabaseDriver, cfg.DatabaseDSN)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx, log); err != nil {
		return err
	}
	log.Info("database is up to date")
	return nil
}

// galeraCheck serves the Galera health check of one node until ctx ends.
func galeraCheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("galera-check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	listen := fs.String("listen", envOr(getenv, "GALERA_CHECK_LISTEN", "127.0.0.1:9200"), "address to answer checks on")
	node := fs.String("node", getenv("GALERA_CHECK_DSN"), "the node's DSN, user:password@tcp(host:port)/ (default GALERA_CHECK_DSN)")
	timeout := fs.String("timeout", envOr(getenv, "GALERA_CHECK_TIMEOUT", "1s"), "how long one check waits for the node")
	donor := fs.Bool("available-when-donor", getenv("GALERA_CHECK_AVAILABLE_WHEN_DONOR") == "true", "answer 200 for a Donor/Desynced node")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() != 0 {
		return usageError{errors.New("galera-check takes no arguments")}
	}
	if *node == "" {
		return usageError{errors.New("galera-check: give the node's DSN with --node or GALERA_CHECK_DSN")}
	}
	d, err := time.ParseDuration(*timeout)
	if err != nil || d <= 0 || d > time.Minute {
		return usageError{fmt.Errorf("galera-check: --timeout %q: want a Go duration from 1ms to 1m, such as 1s", *timeout)}
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	// The driver's own messages ("closing bad idle connection") as JSON lines too.
	_ = mysql.SetLogger(slog.NewLogLogger(log.Handler(), slog.LevelWarn))
	c, err := galeracheck.New(*node, d, galeracheck.Options{AvailableWhenDonor: *donor}, log)
	if err != nil {
		return fmt.Errorf("galera-check: %w", err)
	}
	defer c.Close()
	return galeracheck.Serve(ctx, *listen, c, func(addr string) {
		log.Info("galera-check listening", "addr", addr, "node", c.Addr(), "timeout", d.String(), "available_when_donor", *donor)
		fmt.Fprintf(stdout, "galera-check for %s is listening on %s\n", c.Addr(), addr)
	})
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

// stringList is a repeatable flag that also takes comma-separated values.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*s = append(*s, p)
		}
	}
	return nil
}

func tokens(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New("tokens: want create, list, rotate or revoke")}
	}
	sub, args := args[0], args[1:]
	if sub == "help" || isHelpFlag(sub) {
		return flag.ErrHelp
	}
	fs := flag.NewFlagSet("tokens "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // --help prints the whole usage on stdout instead
	var (
		subject, createdBy, ttl, revokedBy, reason string
		expiresIn, description, grace, status      string
		scopes, workloads                          stringList
		asJSON                                     bool
	)
	fs.BoolVar(&asJSON, "json", false, "print one JSON value on stdout and nothing else")
	switch sub {
	case "create":
		fs.StringVar(&subject, "subject", "", "the service or application the token is for (required)")
		fs.StringVar(&createdBy, "created-by", "", "who is issuing it, for the audit log (required)")
		fs.StringVar(&expiresIn, "expires-in", "", "lifetime, such as 30d or 2160h, at most SERVICE_TOKEN_TTL (its default)")
		fs.StringVar(&ttl, "ttl", "", "any lifetime, such as 240h or 30d, even beyond SERVICE_TOKEN_TTL (the operator's override)")
		fs.StringVar(&description, "description", "", "what the token is for, up to 500 characters")
		fs.Var(&scopes, "scope", "a scope to grant; repeat or separate with commas (default metrics:read)")
		fs.Var(&workloads, "workload", "a new service user's workload ('*' for every one); repeat or separate with commas")
	case "revoke":
		fs.StringVar(&revokedBy, "revoked-by", "", "who is revoking it, for the audit log (default cli:$USER)")
		fs.StringVar(&reason, "reason", "", "why, up to 200 characters (shown in the token list and the notification)")
	case "rotate":
		fs.StringVar(&revokedBy, "rotated-by", "", "who is rotating it, for the audit log (default cli:$USER)")
		fs.StringVar(&grace, "grace", "", "how long the old token keeps working, 0s to 7d (default ROTATION_GRACE_PERIOD)")
	case "list":
		fs.StringVar(&status, "status", "", "active (default), rotated, expired, revoked or all; several separated by commas")
	default:
		return usageError{fmt.Errorf("tokens: unknown subcommand %q", sub)}
	}
	if sub == "revoke" || sub == "rotate" {
		// A token id may start with "-" (one in 64 do): only the flags revoke knows are flags.
		args = idsLast(fs, args)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	var lifetime time.Duration
	switch sub {
	case "create":
		if strings.TrimSpace(subject) == "" || strings.TrimSpace(createdBy) == "" || fs.NArg() != 0 {
			return usageError{errors.New("tokens create: --subject and --created-by are required")}
		}
		if ttl != "" {
			var err error
			if lifetime, err = config.ParseDuration(ttl); err != nil {
				return usageError{fmt.Errorf("tokens create: --ttl %q: %v", ttl, err)}
			}
			if expiresIn != "" {
				return usageError{errors.New("tokens create: give --expires-in or --ttl, not both")}
			}
		}
	case "revoke", "rotate":
		if fs.NArg() != 1 {
			return usageError{fmt.Errorf("tokens %s: give exactly one token id", sub)}
		}
		if revokedBy == "" {
			revokedBy = getenv("USER")
		}
	case "list":
		if fs.NArg() != 0 {
			return usageError{errors.New("tokens list takes no arguments")}
		}
	}

	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, cfg, server.Options{Log: log, Version: version})
	if err != nil {
		return err
	}
	defer srv.Close()

	switch sub {
	case "create":
		by := cliContext(createdBy)
		created, err := srv.Tokens.Create(ctx, token.CreateRequest{
			Subject: subject, Scopes: scopes, Workloads: workloads, CreatedBy: by.Actor, Audit: by, TTL: lifetime,
			ExpiresIn: expiresIn, Description: description,
		})
		if err != nil {
			return err
		}
		if asJSON {
			return writeJSON(stdout, issuedJSON{created.Value, created.Token.ID, created.Token.ExpiresAt.UTC()})
		}
		fmt.Fprintf(stderr, "Created token %s for %q, expiring %s. It is shown only once: store it in a secret manager now.\n",
			created.Token.ID, created.Token.Subject, created.Token.ExpiresAt.Format(time.RFC3339))
		fmt.Fprintln(stdout, created.Value)
	case "list":
		q := token.ListQuery{}
		if status != "" {
			q.Statuses = strings.Split(status, ",")
		}
		list, err := srv.Tokens.List(ctx, q)
		if err != nil {
			return err
		}
		type row struct {
			TokenID     string     `json:"tokenId"`
			Created     time.Time  `json:"created"`
			Expires     time.Time  `json:"expires"`
			Sub         string     `json:"sub"`
			CreatedBy   string     `json:"createdBy"`
			LastUsed    *time.Time `json:"lastUsed"`
			Scopes      []string   `json:"scopes"`
			Description string     `json:"description"`
			Status      string     `json:"status"`
			ReplacedBy  string     `json:"replacedBy,omitempty"`
			Ends        time.Time  `json:"ends"`
		}
		now := time.Now()
		out := make([]row, len(list))
		for i, t := range list {
			out[i] = row{t.ID, t.CreatedAt, t.ExpiresAt, t.Subject, t.CreatedBy, t.LastUsedAt, t.Scopes, t.Description, t.Status(now), t.ReplacedBy, t.StopsAt().UTC()}
		}
		return writeJSON(stdout, out) // with or without --json
	case "rotate":
		rot, err := srv.Tokens.Rotate(ctx, token.RotateRequest{ID: fs.Arg(0), GracePeriod: grace, By: cliContext(revokedBy)})
		if err != nil {
			return err
		}
		if asJSON {
			// The fields and spelling of POST /api/tokens/{id}/rotate's answer.
			return writeJSON(stdout, struct {
				issuedJSON
				Replaces          string    `json:"replaces"`
				ReplacedTokenEnds time.Time `json:"replacedTokenEnds"`
			}{issuedJSON{rot.Value, rot.Successor.ID, rot.Successor.ExpiresAt.UTC()}, rot.Old.ID, rot.GraceEndsAt.UTC()})
		}
		fmt.Fprintf(stderr, "Rotated token %s (%q) into %s, expiring %s. The old token works until %s (running servers refuse it from then on). The new value is shown only once: store it in a secret manager now.\n",
			rot.Old.ID, rot.Old.Subject, rot.Successor.ID, rot.Successor.ExpiresAt.Format(time.RFC3339), rot.GraceEndsAt.Format(time.RFC3339))
		fmt.Fprintln(stdout, rot.Value)
	case "revoke":
		t, err := srv.Tokens.Revoke(ctx, fs.Arg(0), cliContext(revokedBy), reason)
		if err != nil {
			return err
		}
		if asJSON {
			var revoked time.Time
			if t.RevokedAt != nil {
				revoked = t.RevokedAt.UTC()
			}
			return writeJSON(stdout, struct {
				TokenID   string    `json:"tokenId"`
				Sub       string    `json:"sub"`
				Revoked   time.Time `json:"revoked"`
				RevokedBy string    `json:"revokedBy"`
			}{t.ID, t.Subject, revoked, t.RevokedBy})
		}
		fmt.Fprintf(stderr, "Revoked token %s (%q). Running servers refuse it within a second.\n", t.ID, t.Subject)
	}
	return nil
}

// issuedJSON is the fields and spelling of POST /api/tokens' answer, which a rotation's
// answer extends.
type issuedJSON struct {
	AccessToken string    `json:"accessToken"`
	TokenID     string    `json:"tokenId"`
	Expires     time.Time `json:"expires"`
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// cliContext is the audit context of the command line acting for name: "cli:name", however
// name is spelled, so --created-by admin@example.com cannot pose as that person's session.
func cliContext(name string) audit.Context {
	return audit.CLI(strings.TrimPrefix(strings.TrimSpace(name), "cli:"))
}

// isBoolFlag reports whether f takes no value (--json).
func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func isHelpFlag(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

// idsLast reorders args so that the flags fs defines (and -h) come first, then "--", then
// everything else as it was: an argument starting with "-" that names no flag of fs is a
// positional argument, not an error. "--" still ends the flags.
func idsLast(fs *flag.FlagSet, args []string) []string {
	var flags, rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i+1:]...)
			break
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := fs.Lookup(name)
		switch {
		case !strings.HasPrefix(a, "-") || a == "-" || (f == nil && !isHelpFlag(a)):
			rest = append(rest, a)
		case f != nil && !hasValue && !isBoolFlag(f) && i+1 < len(args):
			flags = append(flags, a, args[i+1]) // "--revoked-by ops"
			i++
		default:
			flags = append(flags, a)
		}
	}
	return append(append(flags, "--"), rest...)
}
