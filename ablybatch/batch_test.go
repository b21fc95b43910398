package ablybatch

import (
	"net/http"
	"testing"
)

// TestLegacy: versions before 3 get the legacy shape; no header, a newer
// version or a header that is not a number get the current one.
func TestLegacy(t *testing.T) {
	for v, want := range map[string]bool{"": false, "1": true, "2": true, " 2 ": true, Version: false, "6": false, "two": false} {
		h := http.Header{}
		if v != "" {
			h.Set(VersionHeader, v)
		}
		if got := Legacy(h); got != want {
			t.Errorf("X-Ably-Version %q: legacy %v, want %v", v, got, want)
		}
	}
}
