package config

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       any               `yaml:"build"`
		PullPolicy  string            `yaml:"pull_policy"`
		Ports       []string          `yaml:"ports"`
		Environment map[string]string `yaml:"environment"`
	} `yaml:"services"`
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

// TestComposeProductionHasNoDefaultsToForget: the production Compose file gives no secret a
// default (each is ${VAR:?message}), publishes nothing but the application port, pins every
// pulled image to an exact version and builds CodeMetrics rather than pulling a look-alike;
// and the development file's signing key is one production refuses.
func TestComposeProductionHasNoDefaultsToForget(t *testing.T) {
	prod := readCompose(t, "docker-compose.yml")
	secret := regexp.MustCompile(`PASSWORD|SECRET|SIGNING_KEY$`)
	exact := regexp.MustCompile(`^[a-z0-9./-]+:\d+\.\d+\.\d+([-.][a-z0-9.-]+)?$|@sha256:[0-9a-f]{64}$`)
	for name, s := range prod.Services {
		for k, v := range s.Environment {
			if secret.MatchString(k) && k != "MYSQL_RANDOM_ROOT_PASSWORD" && !strings.Contains(v, ":?") {
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
			if name != "codemetrics" || p != "8080:8080" {
				t.Errorf("%s publishes %q: production publishes only the application port", name, p)
			}
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
