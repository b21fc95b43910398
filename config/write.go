package config

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

const header = `# livesync.yaml: configuration of livesync-dev, written by 'livesync-dev init'.
#
# Every key is shown with its default value; delete a line to keep the default.
# Precedence: built-in defaults < this file < LIVESYNC_* environment variables
# < command-line flags. A key's variable is its path in upper snake case:
# connector.pollInterval is LIVESYNC_CONNECTOR_POLL_INTERVAL.
# Durations take a unit: 100ms, 1s, 2m, 24h (at least 100ms; completionFlush 10ms).
`

// WriteDefault writes the commented default livesync.yaml: every key with
// its default value, its description and its environment variable. ably.key
// is written commented out, so no key is ever stored by init. The text loads
// back to Default().
func WriteDefault(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(header)
	root, _, _ := tree()
	def := Default()
	for _, sec := range root.children {
		bw.WriteString("\n")
		writeNode(bw, sec, &def, 0)
	}
	return bw.Flush()
}

func writeNode(w *bufio.Writer, n *node, def *Config, depth int) {
	indent := strings.Repeat("  ", depth)
	if n.isSection() {
		writeComment(w, indent, n.doc)
		fmt.Fprintf(w, "%s%s:\n", indent, n.name)
		for _, ch := range n.children {
			writeNode(w, ch, def, depth+1)
		}
		return
	}
	writeComment(w, indent, n.describe()+" Env: "+envName(n.path)+".")
	prefix := ""
	if n.secret {
		prefix = "# "
	}
	fmt.Fprintf(w, "%s%s%s: %s\n", indent, prefix, n.name, formatValue(n.field(def)))
}

// writeComment writes text as '#' lines wrapped at about 100 columns.
func writeComment(w *bufio.Writer, indent, text string) {
	line := indent + "#"
	for _, word := range strings.Fields(text) {
		if len(line)+1+len(word) > 100 && len(line) > len(indent)+1 {
			w.WriteString(line + "\n")
			line = indent + "#"
		}
		line += " " + word
	}
	w.WriteString(line + "\n")
}

// WriteReference writes the key table as Markdown for the README: key,
// environment variable, default and description.
func WriteReference(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("| Key | Environment variable | Default | Description |\n| --- | --- | --- | --- |\n")
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	for _, k := range KeyPaths() {
		fmt.Fprintf(bw, "| `%s` | `%s` | `%s` | %s |\n", k.Path, k.Env, cell(k.Default), cell(k.Doc))
	}
	return bw.Flush()
}
