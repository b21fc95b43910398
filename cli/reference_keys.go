package cli

import (
	"fmt"
	"io"

	"github.com/livesync-dev/livesync-dev/tui/model"
)

func init() {
	extraReference = append(extraReference, func(w io.Writer) {
		fmt.Fprint(w, "### Dashboard keys\n\n"+
			"Every key can be remapped under `dashboard.keys` (e.g. `quit: x`); no default uses Ctrl-A or Ctrl-B\n"+
			"(tmux and screen prefixes). `--readonly`, or `--pg-url` without `--allow-writes`, hides every key that\n"+
			"writes. Retry and delete always open a dialog that shows the SQL, with Cancel focused. `n` exists only\n"+
			"while `livesync-dev demo` narrates in the dashboard.\n\n")
		fmt.Fprint(w, model.MarkdownTable())
		fmt.Fprintln(w)
	})
}
