package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Reference markers delimit the generated part of README.md.
const (
	ReferenceStart = "<!-- reference:start (generated from the command tree: go test ./cli -run TestReadmeReference -update) -->"
	ReferenceEnd   = "<!-- reference:end -->"
)

// extraReference lets other files (e.g. the config keys) append sections to
// the generated reference.
var extraReference []func(w io.Writer)

// Reference renders the command reference (every visible command with its
// flags) as Markdown.
func Reference(root *cobra.Command) string {
	var b strings.Builder
	b.WriteString("### Commands\n\n")
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			return
		}
		if c != root {
			fmt.Fprintf(&b, "#### `%s`\n\n%s\n\n", c.UseLine(), oneLine(c))
			flags := visibleFlags(c)
			if len(flags) > 0 {
				b.WriteString("| flag | default | meaning |\n|---|---|---|\n")
				for _, f := range flags {
					name := "--" + f.Name
					if f.Shorthand != "" {
						name = "-" + f.Shorthand + ", " + name
					}
					if t := f.Value.Type(); t != "bool" {
						name += " " + strings.ToUpper(t)
					}
					def := f.DefValue
					if def == "" || def == "[]" {
						def = " "
					} else {
						def = "`" + def + "`"
					}
					fmt.Fprintf(&b, "| `%s` | %s | %s |\n", name, def, strings.ReplaceAll(f.Usage, "|", "\\|"))
				}
				b.WriteString("\n")
			}
		}
		subs := c.Commands()
		sort.Slice(subs, func(i, j int) bool { return subs[i].Name() < subs[j].Name() })
		for _, s := range subs {
			walk(s)
		}
	}
	walk(root)
	for _, extra := range extraReference {
		extra(&b)
	}
	return b.String()
}

func oneLine(c *cobra.Command) string {
	if c.Long != "" {
		return strings.ReplaceAll(c.Long, "\n", " ")
	}
	return c.Short
}

func visibleFlags(c *cobra.Command) []*pflag.Flag {
	var out []*pflag.Flag
	c.LocalFlags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && f.Name != "help" {
			out = append(out, f)
		}
	})
	return out
}
