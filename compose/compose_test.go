package compose

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// composeDoc is the part of the compose file the tests inspect.
type composeDoc struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Ports       []string          `yaml:"ports"`
		Volumes     []string          `yaml:"volumes"`
		Healthcheck struct {
			Test     []string `yaml:"test"`
			Interval string   `yaml:"interval"`
			Retries  int      `yaml:"retries"`
		} `yaml:"healthcheck"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

func parse(t *testing.T) composeDoc {
	t.Helper()
	var doc composeDoc
	if err := yaml.Unmarshal(File(), &doc); err != nil {
		t.Fatalf("compose file is not valid YAML: %v", err)
	}
	return doc
}

func TestFileServices(t *testing.T) {
	doc := parse(t)
	if len(doc.Services) != 2 {
		t.Errorf("services %v, want exactly postgres and mongo", doc.Services)
	}
	for name, want := range map[string]struct{ image, port, portVar string }{
		Postgres: {"postgres:16", ":5432", EnvPostgresPort},
		Mongo:    {"mongo:7", ":27017", EnvMongoPort},
	} {
		s, ok := doc.Services[name]
		if !ok {
			t.Errorf("no service %s", name)
			continue
		}
		if s.Image != want.image {
			t.Errorf("%s image %q, want %q", name, s.Image, want.image)
		}
		if len(s.Ports) != 1 || !strings.HasPrefix(s.Ports[0], "127.0.0.1:${"+want.portVar) || !strings.HasSuffix(s.Ports[0], want.port) {
			t.Errorf("%s ports %q, want one loopback binding through ${%s} to %s", name, s.Ports, want.portVar, want.port)
		}
		if len(s.Healthcheck.Test) < 2 || s.Healthcheck.Interval == "" || s.Healthcheck.Retries == 0 {
			t.Errorf("%s healthcheck %+v, want a test, an interval and retries", name, s.Healthcheck)
		}
		if len(s.Volumes) == 0 {
			t.Errorf("%s has no data volume", name)
			continue
		}
		if _, ok := doc.Volumes[strings.Split(s.Volumes[0], ":")[0]]; !ok {
			t.Errorf("%s has no named data volume: %q", name, s.Volumes)
		}
	}
}

func TestPostgresService(t *testing.T) {
	pg := parse(t).Services[Postgres]
	cmd := strings.Join(pg.Command, " ")
	for _, want := range []string{"-c track_commit_timestamp=on", "-c timezone=UTC"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("postgres command %q lacks %q", cmd, want)
		}
	}
	for _, key := range []string{"POSTGRES_PASSWORD", "POSTGRES_USER", "POSTGRES_DB"} {
		if !strings.Contains(pg.Environment[key], "${LIVESYNC_") {
			t.Errorf("postgres env %s = %q, want it set from a LIVESYNC_ variable", key, pg.Environment[key])
		}
	}
	if test := strings.Join(pg.Healthcheck.Test, " "); !strings.Contains(test, "pg_isready") {
		t.Errorf("postgres healthcheck %q does not run pg_isready", test)
	}
}

func TestMongoService(t *testing.T) {
	m := parse(t).Services[Mongo]
	cmd := strings.Join(m.Command, " ")
	if !strings.Contains(cmd, "--replSet rs0") || !strings.Contains(cmd, "--bind_ip_all") {
		t.Errorf("mongo command %q, want --replSet rs0 --bind_ip_all", cmd)
	}
	test := strings.Join(m.Healthcheck.Test, " ")
	for _, want := range []string{"mongosh", "rs.status()", "rs.initiate(", "_id:'rs0'", "host:'127.0.0.1:27017'", "isWritablePrimary"} {
		if !strings.Contains(test, want) {
			t.Errorf("mongo healthcheck %q lacks %q", test, want)
		}
	}
}

func TestFileIsACopy(t *testing.T) {
	f := File()
	f[0] = 'X'
	if File()[0] == 'X' {
		t.Error("File returns the embedded bytes, not a copy")
	}
}

func TestProjectName(t *testing.T) {
	a, b := ProjectName("/srv/app-one"), ProjectName("/srv/app-two")
	if a == b || a != ProjectName("/srv/app-one") {
		t.Errorf("project names %q and %q: want stable and distinct per directory", a, b)
	}
	for _, c := range a {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			t.Errorf("project name %q has %q, which compose rejects", a, c)
		}
	}
}
