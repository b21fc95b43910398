package auth

import "slices"

// Intersect returns the capability granted when a token requests
// `requested` from a key holding `key`: every pair of resources is
// intersected (patterns and operations; "*" yields the other side) and the
// results are merged. An empty result means nothing is granted.
func Intersect(requested, key Capability) Capability {
	out := Capability{}
	for rr, rops := range requested {
		for kr, kops := range key {
			res, ok := intersectResources(rr, kr)
			if !ok {
				continue
			}
			ops := intersectOps(rops, kops)
			if len(ops) == 0 {
				continue
			}
			out[res] = mergeOps(out[res], ops)
		}
	}
	return out
}

// intersectOps intersects two operation lists; "*" yields the other list.
func intersectOps(a, b []string) []string {
	aAll, bAll := slices.Contains(a, "*"), slices.Contains(b, "*")
	switch {
	case aAll && bAll:
		return []string{"*"}
	case aAll:
		return dedupe(b)
	case bAll:
		return dedupe(a)
	}
	set := map[string]bool{}
	for _, op := range a {
		if slices.Contains(b, op) {
			set[op] = true
		}
	}
	return sortedKeys(set)
}

// mergeOps unions two operation lists; "*" absorbs everything else.
func mergeOps(a, b []string) []string {
	if slices.Contains(a, "*") || slices.Contains(b, "*") {
		return []string{"*"}
	}
	return dedupe(append(slices.Clone(a), b...))
}

// dedupe returns the sorted distinct elements of ops.
func dedupe(ops []string) []string {
	set := map[string]bool{}
	for _, op := range ops {
		set[op] = true
	}
	return sortedKeys(set)
}
