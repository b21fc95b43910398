package cli

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite README.md's generated reference")

// TestReadmeReference fails when README.md's reference section is not what
// the command tree generates; run with -update to rewrite it.
func TestReadmeReference(t *testing.T) {
	const path = "../README.md"
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	start := strings.Index(s, ReferenceStart)
	end := strings.Index(s, ReferenceEnd)
	if start < 0 || end < start {
		t.Fatalf("README.md lacks the reference markers %q ... %q", ReferenceStart, ReferenceEnd)
	}
	want := Reference(NewRootCommand(&bytes.Buffer{}, &bytes.Buffer{}))
	got := s[start+len(ReferenceStart)+1 : end]
	if got == want {
		return
	}
	if *update {
		s = s[:start+len(ReferenceStart)] + "\n" + want + s[end:]
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("README.md's reference is stale: run `go test ./cli -run TestReadmeReference -update` and commit README.md")
}
