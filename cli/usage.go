package cli

import "strings"

// isCobraUsageError recognises the errors cobra returns for unknown commands
// and wrong argument counts, which are bad usage (exit status 2).
func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "requires at most", "invalid argument", "flag needs an argument", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
