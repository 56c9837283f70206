package config

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

type composeService struct {
	Image       string            `yaml:"image"`
	Build       any               `yaml:"build"`
	PullPolicy  string            `yaml:"pull_policy"`
	Ports       []string          `yaml:"ports"`
	Environment map[string]string `yaml:"environment"`
	Profiles    []string          `yaml:"profiles"`
	Command     []string          `yaml:"command"`
	Volumes     []string          `yaml:"volumes"`
	Networks    any               `yaml:"networks"`
}

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

func readCompose(t *testing.T, name string) composeFile {
	t.Helper()
	b, err := os.ReadFile("../../../" + name)
	if err != nil {
		t.Fatal(err)
	}
	var f composeFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s is not valid YAML: %v", name, err)
	}
	return f
}

// TestComposeProductionHasNoDefaultsToForget: the production Compose file (both profiles, prod
// and cluster) gives no secret a default (each is ${VAR:?message}), publishes nothing but the
// application port, pins every pulled image to an exact version and builds CodeMetrics rather
// than pulling a look-alike; and the development file's signing key is one production refuses.
func TestComposeProductionHasNoDefaultsToForget(t *testing.T) {
	prod := readCompose(t, "docker-compose.yml")
	secret := regexp.MustCompile(`PASSWORD|SECRET|SIGNING_KEY$`)
	exact := regexp.MustCompile(`^[a-z0-9./-]+:\d+\.\d+\.\d+([-.][a-z0-9.-]+)?$|@sha256:[0-9a-f]{64}$`)
	for name, s := range prod.Services {
		for k, v := range s.Environment {
			if secret.MatchString(k) && k != "MYSQL_RANDOM_ROOT_PASSWORD" && k != "MARIADB_RANDOM_ROOT_PASSWORD" && !strings.Contains(v, ":?") {
				t.Errorf("%s: %s = %q has a default or may be empty: use ${%s:?message}", name, k, v, k)
			}
			if strings.Contains(v, "dev") && secret.MatchString(k) {
				t.Errorf("%s: %s = %q looks like a development value", name, k, v)
			}
		}
		switch {
		case s.Build != nil:
			if s.PullPolicy != "build" {
				t.Errorf("%s is built here: say pull_policy: build, so no registry image named %q stands in for it", name, s.Image)
			}
		case !exact.MatchString(s.Image):
			t.Errorf("%s: image %q is not pinned to an exact version or digest", name, s.Image)
		}
		for _, p := range s.Ports {
			if (name != "codemetrics" && name != "haproxy-app") || p != "8080:8080" {
				t.Errorf("%s publishes %q: production publishes only the application port", name, p)
			}
		}
		if len(s.Profiles) != 1 || (s.Profiles[0] != "prod" && s.Profiles[0] != "cluster") {
			t.Errorf("%s: profiles %v, want [prod] or [cluster]", name, s.Profiles)
		}
	}
	if _, ok := prod.Services["codemetrics"]; !ok {
		t.Fatal("no codemetrics service in docker-compose.yml")
	}

	dev := readCompose(t, "docker-compose.dev.yml")
	env := dev.Services["codemetrics"].Environment
	if weakKey([]byte(env["TOKEN_SIGNING_KEY"])) == "" {
		t.Error("production would accept the development signing key of docker-compose.dev.yml")
	}
	if env["APP_ENV"] != EnvDevelopment {
		t.Errorf("the development stack runs with APP_ENV=%q", env["APP_ENV"])
	}
}

// ipv4 is the fixed address a service has on the network named, or "".
func (s composeService) ipv4(network string) string {
	m, _ := s.Networks.(map[string]any)
	n, _ := m[network].(map[string]any)
	a, _ := n["ipv4_address"].(string)
	return a
}

// haproxyServer is a "server NAME HOST:PORT ..." line of an HAProxy configuration.
type haproxyServer struct{ host, checkAddr, checkPort string }

func readHAProxy(t *testing.T, name string) (servers []haproxyServer, text string) {
	t.Helper()
	b, err := os.ReadFile("../../../" + name)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "server" {
			continue
		}
		host, _, _ := strings.Cut(f[2], ":")
		s := haproxyServer{host: host}
		for i := 3; i+1 < len(f); i++ {
			switch f[i] {
			case "addr":
				s.checkAddr = f[i+1]
			case "port":
				s.checkPort = f[i+1]
			}
		}
		servers = append(servers, s)
	}
	return servers, string(b)
}

// TestComposeClusterProfile: the cluster profile of docker-compose.yml holds what its comments
// promise, so that it is right without a Docker engine to try it: three Galera nodes of which
// one bootstraps; one galera-check per node, each reaching its own node from the fixed address
// its node's check user is limited to; an HAProxy for the nodes whose servers are those nodes,
// each checked by its own node's galera-check; three replicas with the same keys, every one
// through that HAProxy; and an HTTP HAProxy whose servers are exactly the replicas, the one
// address the replicas trust.
func TestComposeClusterProfile(t *testing.T) {
	f := readCompose(t, "docker-compose.yml")
	cluster := map[string]composeService{}
	for name, s := range f.Services {
		if len(s.Profiles) == 1 && s.Profiles[0] == "cluster" {
			cluster[name] = s
		}
	}
	var nodes, replicas []string
	checks := map[string]string{} // node -> its check's service
	bootstraps := 0
	for name, s := range cluster {
		switch {
		case strings.HasPrefix(s.Image, "mariadb:"):
			nodes = append(nodes, name)
			if s.Environment["GALERA_BOOTSTRAP"] == "1" {
				bootstraps++
			}
		case len(s.Command) > 0 && s.Command[0] == "galera-check":
			m := regexp.MustCompile(`@tcp\(([^:)]+):3306\)/$`).FindStringSubmatch(s.Environment["GALERA_CHECK_DSN"])
			if m == nil {
				t.Errorf("%s: GALERA_CHECK_DSN %q names no node", name, s.Environment["GALERA_CHECK_DSN"])
				continue
			}
			if prev, ok := checks[m[1]]; ok {
				t.Errorf("%s and %s both check %s", prev, name, m[1])
			}
			checks[m[1]] = name
		case s.Build != nil:
			replicas = append(replicas, name)
		}
	}
	if len(nodes) != 3 || bootstraps != 1 {
		t.Fatalf("Galera nodes %v, %d of them bootstrapping; want 3, one", nodes, bootstraps)
	}
	if len(replicas) != 3 {
		t.Fatalf("replicas %v, want 3", replicas)
	}

	b, err := os.ReadFile("../../../deploy/cluster/initdb/galera-check.sql")
	if err != nil {
		t.Fatal(err)
	}
	checkUsers := map[string]bool{}
	for _, m := range regexp.MustCompile(`'galera_check'@'([0-9.]+)'`).FindAllStringSubmatch(string(b), -1) {
		checkUsers[m[1]] = true
	}
	for _, n := range nodes {
		c, ok := checks[n]
		if !ok {
			t.Errorf("node %s has no galera-check", n)
			continue
		}
		if a := cluster[c].ipv4("cluster"); a == "" || !checkUsers[a] {
			t.Errorf("%s's address %q is not one the galera_check user may log in from (%v)", c, a, checkUsers)
		}
	}

	dbServers, dbText := readHAProxy(t, "deploy/cluster/haproxy-db.cfg")
	if !strings.Contains(dbText, "\n  option httpchk") {
		t.Error("haproxy-db.cfg does not check the nodes with option httpchk (their galera-check)")
	}
	covered := map[string]bool{}
	for _, s := range dbServers {
		c, ok := checks[s.host]
		if !ok {
			t.Errorf("haproxy-db.cfg sends to %q, which is no Galera node with a galera-check", s.host)
			continue
		}
		covered[s.host] = true
		listen := ""
		for i, a := range cluster[c].Command {
			if a == "--listen" && i+1 < len(cluster[c].Command) {
				_, listen, _ = strings.Cut(cluster[c].Command[i+1], ":")
			}
		}
		if s.checkAddr != cluster[c].ipv4("cluster") || s.checkPort == "" || s.checkPort != listen {
			t.Errorf("haproxy-db.cfg checks %s at %s port %s; its galera-check %s is at %s port %s",
				s.host, s.checkAddr, s.checkPort, c, cluster[c].ipv4("cluster"), listen)
		}
	}
	if len(covered) != len(nodes) {
		t.Errorf("haproxy-db.cfg's servers cover %v of the nodes %v", covered, nodes)
	}

	appServers, appText := readHAProxy(t, "deploy/cluster/haproxy-app.cfg")
	if !strings.Contains(appText, "option httpchk GET /readyz") {
		t.Error("haproxy-app.cfg does not check the replicas' /readyz")
	}
	var hosts []string
	for _, s := range appServers {
		hosts = append(hosts, s.host)
	}
	if strings.Join(sorted(hosts), ",") != strings.Join(sorted(replicas), ",") {
		t.Errorf("haproxy-app.cfg's servers %v, the replicas %v", hosts, replicas)
	}
	for name, cfg := range map[string]string{"haproxy-db": "haproxy-db.cfg", "haproxy-app": "haproxy-app.cfg"} {
		s, ok := cluster[name]
		if !ok || !slices.Contains(s.Volumes, "./deploy/cluster/"+cfg+":/usr/local/etc/haproxy/haproxy.cfg:ro") {
			t.Errorf("service %s does not run deploy/cluster/%s", name, cfg)
		}
	}

	first := cluster[replicas[0]].Environment
	for _, r := range replicas {
		env := cluster[r].Environment
		for _, k := range []string{"TOKEN_SIGNING_KEY", "TOKEN_SIGNING_KEYS_PREVIOUS", "COOKIE_SIGNING_KEY", "DATABASE_DSN", "PUBLIC_URL", "OIDC_CLIENT_SECRET", "TRUSTED_PROXIES"} {
			if env[k] != first[k] {
				t.Errorf("%s: %s = %q, but %s has %q: replicas share their keys and settings", r, k, env[k], replicas[0], first[k])
			}
		}
		if env["TOKEN_SIGNING_KEY"] == "" || env["APP_ENV"] != EnvProduction {
			t.Errorf("%s: TOKEN_SIGNING_KEY %q, APP_ENV %q", r, env["TOKEN_SIGNING_KEY"], env["APP_ENV"])
		}
		if !strings.Contains(env["DATABASE_DSN"], "@tcp(haproxy-db:3306)/") {
			t.Errorf("%s reaches the database at %q, not through haproxy-db", r, env["DATABASE_DSN"])
		}
		if env["TRUSTED_PROXIES"] != cluster["haproxy-app"].ipv4("cluster") {
			t.Errorf("%s trusts %q; haproxy-app is at %q", r, env["TRUSTED_PROXIES"], cluster["haproxy-app"].ipv4("cluster"))
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
