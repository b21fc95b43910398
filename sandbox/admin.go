package sandbox

import "fmt"

// AdminURL is a superuser URL to the sandbox's own database, for
// maintenance the connector role may not do (VACUUM of tables it does not
// own), e.g. by `livesync-dev bench` on its throwaway sandbox. External
// databases have no admin URL of ours: it returns an error.
func (s *State) AdminURL() (string, error) {
	port := portOf(s.Postgres.URL)
	switch s.Postgres.Backend {
	case "native":
		return superURL("postgres", "", port, Database), nil
	case "compose":
		return superURL("postgres", composePassword, port, Database), nil
	case "embedded":
		return superURL("postgres", embeddedAdminPassword, port, Database), nil
	}
	return "", fmt.Errorf("the %s backend's superuser is not ours: connect as its owner yourself", s.Postgres.Backend)
}
