package tui_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/livesync-dev/livesync-dev/tui"
)

func TestProgressWriterSplitsLines(t *testing.T) {
	var got []string
	w := tui.ProgressWriter(func(s string) { got = append(got, s) })
	fmt.Fprint(w, "starting post")
	fmt.Fprint(w, "gres\r\n\nready\npart")
	if want := []string{"starting postgres", "ready"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	fmt.Fprintln(w, "ial")
	if got[len(got)-1] != "partial" {
		t.Fatalf("got %q", got)
	}
}
