// Command benchtool is the helper of the benchmark script (make bench); it is not part of the
// product binary. It reads the same environment variables as codemetrics.
//
//	benchtool session-token          start an administrator session in the database and print a bearer session token
//	benchtool session-cookie         start an administrator session and print "SESSION CSRF": the values of the
//	                                 session cookie and the CSRF cookie a browser would get from the sign-in
//	benchtool bare                   serve the stateless-JWT baseline on HTTP_ADDR
//	benchtool seed -n N              insert N active service tokens straight into the database
//	benchtool startup -bin B [-runs 5] [-tag k=v]  time start to first 200 on /healthz
//	benchtool report -dir D -out F   write the benchmark report from the collected results
//	benchtool freeport               print a free TCP port on 127.0.0.1
//	benchtool wait URL               wait (up to 30 s) until URL answers 200
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/auth"
	"github.com/codemetrics/codemetrics/backend/internal/benchmark"
	"github.com/codemetrics/codemetrics/backend/internal/config"
	"github.com/codemetrics/codemetrics/backend/internal/server"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchtool session-token|session-cookie|bare|seed|startup|report|freeport|wait ...")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "session-token":
		err = sessionToken(ctx)
	case "session-cookie":
		err = sessionCookie(ctx)
	case "bare":
		err = bare(ctx)
	case "seed":
		err = seed(ctx, args)
	case "startup":
		err = startup(ctx, args, os.Stdout)
	case "report":
		err = report(args)
	case "freeport":
		err = freePort()
	case "wait":
		if len(args) != 1 {
			err = errors.New("wait URL")
		} else {
			err = wait(ctx, args[0])
		}
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtool:", err)
		os.Exit(1)
	}
}

func loadConfig() (config.Config, error) {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return cfg, err
	}
	return cfg, config.ResolveSigningKey(&cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
}

// startSession signs an administrator in the way the OIDC callback does, and calls use with
// the session and the secret of its cookie.
func startSession(ctx context.Context, use func(srv *server.Server, secret string, sess auth.Session) error) error {
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, cfg, server.Options{Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return err
	}
	defer srv.Close()
	secret, sess, err := srv.Sessions.Start(ctx, auth.Identity{Email: "bench@example.com", Name: "bench", IsAdmin: true, Reason: "benchmark"})
	if err != nil {
		return err
	}
	return use(srv, secret, sess)
}

// sessionToken prints a bearer session token taken from a new administrator session.
func sessionToken(ctx context.Context) error {
	return startSession(ctx, func(srv *server.Server, _ string, sess auth.Session) error {
		tok, _, err := srv.Sessions.IssueToken(sess)
		if err != nil {
			return err
		}
		fmt.Println(tok)
		return nil
	})
}

// sessionCookie prints what the sign-in would put in a browser's cookies for a new
// administrator session: the session secret and the session's CSRF token.
func sessionCookie(ctx context.Context) error {
	return startSession(ctx, func(srv *server.Server, secret string, sess auth.Session) error {
		fmt.Println(secret, srv.Sessions.CSRFToken(sess))
		return nil
	})
}

func bare(ctx context.Context) error {
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	h, err := benchmark.NewBareRouter(cfg.SigningKey, cfg.TokenIssuer, cfg.PublicURL.String(), log, benchmark.BareConfig{
		Version: "bare", DatabaseDriver: cfg.DatabaseDriver, ServiceTokenTTL: cfg.ServiceTokenTTL.String(),
		ServiceTokenTTLSeconds: int64(cfg.ServiceTokenTTL.Seconds()), TokenIssuer: cfg.TokenIssuer,
		PublicURL: cfg.PublicURL.String(), SessionTTL: cfg.SessionTTL.String(), IdentityProvider: cfg.OIDCIssuerURL,
	})
	if err != nil {
		return err
	}
	hs := &http.Server{Addr: cfg.HTTPAddr, Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	go func() {
		<-ctx.Done()
		_ = hs.Close()
	}()
	fmt.Fprintf(os.Stdout, "bare baseline listening on %s\n", cfg.HTTPAddr)
	if err := hs.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func seed(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	n := fs.Int("n", 10000, "tokens to insert")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return err
	}
	return benchmark.SeedTokens(ctx, cfg.DatabaseDriver, cfg.DatabaseDSN, *n, time.Now())
}

// startup starts the binary -runs times and measures the time from exec to the first 200 on
// /healthz, polling every millisecond.
func startup(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("startup", flag.ContinueOnError)
	bin := fs.String("bin", "", "the codemetrics binary")
	runs := fs.Int("runs", 5, "how many starts")
	tags := map[string]string{}
	fs.Func("tag", "key=value for the JSON result", func(v string) error {
		k, val, ok := strings.Cut(v, "=")
		if !ok {
			return errors.New("want key=value")
		}
		tags[k] = val
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return err
	}
	url := "http://" + cfg.HTTPAddr + "/healthz"
	client := &http.Client{Timeout: 200 * time.Millisecond}
	var times []float64
	for range *runs {
		cmd := exec.CommandContext(ctx, *bin)
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			return err
		}
		var took time.Duration
		for time.Since(t0) < 30*time.Second {
			resp, err := client.Get(url)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					took = time.Since(t0)
					break
				}
			}
			time.Sleep(time.Millisecond)
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if took == 0 {
			return fmt.Errorf("%s did not answer %s within 30 s", *bin, url)
		}
		times = append(times, float64(took.Microseconds())/1000)
	}
	sorted := slices.Clone(times)
	slices.Sort(sorted)
	tags["kind"] = "startup"
	return json.NewEncoder(out).Encode(map[string]any{"tags": tags, "runsMs": times, "medianMs": sorted[len(sorted)/2], "maxMs": sorted[len(sorted)-1]})
}

func report(args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	dir := fs.String("dir", "", "directory of the collected results")
	out := fs.String("out", "", "the Markdown file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	md, err := benchmark.Report(*dir)
	if err != nil {
		return err
	}
	return os.WriteFile(*out, []byte(md), 0o644)
}

func freePort() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	return nil
}

func wait(ctx context.Context, url string) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer 200 within 30 s", url)
}
