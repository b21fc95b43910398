package auth

import "strings"

// splitQualifier splits "[q]pattern" into q and pattern; q is "" when the
// resource has no qualifier.
func splitQualifier(res string) (q, pattern string) {
	if strings.HasPrefix(res, "[") {
		if i := strings.Index(res, "]"); i >= 0 {
			return res[1:i], res[i+1:]
		}
	}
	return "", res
}

// matchResource reports whether a capability resource pattern matches a
// plain channel name. "[*]" matches every resource type (plain channels
// included), other qualifiers match no channel. A "*" segment matches one
// segment, a trailing "*" one or more remaining segments.
func matchResource(res, channel string) bool {
	if res == "*" || res == "[*]*" {
		return true // the common key capability, checked per message
	}
	q, pattern := splitQualifier(res)
	if strings.HasPrefix(res, "[") && q != "*" {
		return false
	}
	return matchSegments(strings.Split(pattern, ":"), strings.Split(channel, ":"))
}

// MatchChannel reports whether a capability resource pattern ("demo:*",
// "*", "[*]*") matches a plain channel name, with Ably's rules; fault rules
// match channels the same way.
func MatchChannel(pattern, channel string) bool { return matchResource(pattern, channel) }

// matchSegments matches channel segments against pattern segments.
func matchSegments(p, c []string) bool {
	for i, seg := range p {
		if seg == "*" && i == len(p)-1 {
			return len(c) > i
		}
		if i >= len(c) {
			return false
		}
		if seg != "*" && seg != c[i] {
			return false
		}
	}
	return len(c) == len(p)
}

// intersectResources returns a resource pattern matching exactly the
// channels both patterns match, and false when they share none.
func intersectResources(a, b string) (string, bool) {
	if a == b {
		return a, true
	}
	qa, pa := splitQualifier(a)
	qb, pb := splitQualifier(b)
	hasA, hasB := strings.HasPrefix(a, "["), strings.HasPrefix(b, "[")
	var prefix string
	switch {
	case hasA && qa == "*":
		prefix = qualifierPrefix(hasB, qb)
	case hasB && qb == "*":
		prefix = qualifierPrefix(hasA, qa)
	case hasA != hasB || qa != qb:
		return "", false
	default:
		prefix = qualifierPrefix(hasA, qa)
	}
	segs, ok := intersectSegments(strings.Split(pa, ":"), strings.Split(pb, ":"))
	if !ok {
		return "", false
	}
	return prefix + strings.Join(segs, ":"), true
}

// qualifierPrefix renders a qualifier back into its "[q]" prefix.
func qualifierPrefix(has bool, q string) string {
	if !has {
		return ""
	}
	return "[" + q + "]"
}

// intersectSegments intersects two segment patterns.
func intersectSegments(a, b []string) ([]string, bool) {
	var out []string
	for i := 0; ; i++ {
		aEnd, bEnd := i >= len(a), i >= len(b)
		if aEnd || bEnd {
			return out, aEnd && bEnd
		}
		aTail := a[i] == "*" && i == len(a)-1
		bTail := b[i] == "*" && i == len(b)-1
		switch {
		case aTail:
			return append(out, b[i:]...), true
		case bTail:
			return append(out, a[i:]...), true
		case a[i] == "*":
			out = append(out, b[i])
		case b[i] == "*" || a[i] == b[i]:
			out = append(out, a[i])
		default:
			return nil, false
		}
	}
}
