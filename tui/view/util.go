package view

import (
	"sort"
	"strconv"
)

// sortInt64 sorts ids ascending.
func sortInt64(ids []int64) { sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] }) }

// itoa formats an int.
func itoa(n int) string { return strconv.Itoa(n) }
