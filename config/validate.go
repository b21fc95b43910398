package config

import (
	"errors"
	"fmt"
	"net"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/livesync-dev/livesync-dev/ablylocal/fault"
	"github.com/livesync-dev/livesync-dev/connector/mongo"
)

// MinDuration is the shortest duration a key accepts unless its min tag
// says otherwise.
const MinDuration = 100 * time.Millisecond

// DedupeLimit is Ably's idempotent-publish window. A row whose lock lapses
// and is re-published after this long would be delivered twice, so
// connector.lockTTL + connector.safetyPoll + connector.retry.max must stay
// under it.
const DedupeLimit = 120 * time.Second

// LockTTLPolls is the minimum of connector.lockTTL in poll intervals: a lock
// must outlive at least two poll rounds, or a slow round would let another
// node take the rows while they are still being published.
const LockTTLPolls = 2

var (
	ablyKeyRe   = regexp.MustCompile(`^[^.:\s]+\.[^.:\s]+:\S+$`)
	pgVersionRe = regexp.MustCompile(`^[0-9]{1,3}(\.[0-9]+)?$`)
)

// Validate checks every value and the rules between them. It returns nil, a
// *ValidationError, or several joined with errors.Join, each located at the
// file line, environment variable or flag the value came from.
func (c *Config) Validate() error {
	var problems []*ValidationError
	add := func(e *ValidationError) { problems = append(problems, e) }
	_, leaves, _ := tree()
	for _, n := range leaves {
		c.checkLeaf(n, n.field(c), add)
	}
	c.checkConnector(add)
	c.checkValues(add)
	return joinErrors(problems)
}

// checkLeaf applies the enum, range and duration rules from the struct tags.
func (c *Config) checkLeaf(n *node, v reflect.Value, add func(*ValidationError)) {
	switch {
	case n.enum != nil:
		s := v.String()
		for _, e := range n.enum {
			if s == e {
				return
			}
		}
		hint := "use one of: " + strings.Join(quoteAll(n.enum), ", ")
		if sug := suggest(s, n.enum); sug != "" && s != "" {
			hint = fmt.Sprintf("did you mean %q? (%s)", sug, hint)
		}
		add(c.errAt(n.path, fmt.Sprintf("%q is not an allowed value", s), hint))
	case n.typ == durationType:
		if d, lo := time.Duration(v.Int()), n.minDuration(); d < lo {
			add(c.errAt(n.path, formatDuration(d)+" is too short", "use at least "+formatDuration(lo)))
		}
	case v.Kind() == reflect.Int:
		if msg, hint := inRange(n, v.Int()); msg != "" {
			add(c.errAt(n.path, msg, hint))
		}
	case n.typ == faultsType:
		for i, r := range v.Interface().([]fault.Rule) {
			if err := r.Validate(); err != nil {
				add(c.errAt(n.path, fmt.Sprintf("rule %d: %v", i+1, err), "see `livesync-dev fault add --help`"))
			}
		}
	case v.Kind() == reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			if msg, hint := inRange(n, v.Index(i).Int()); msg != "" {
				e := c.errAt(fmt.Sprintf("%s[%d]", n.path, i), msg, hint)
				if e.Line == 0 {
					e = c.errAt(n.path, msg, hint)
				}
				e.Key = n.path
				add(e)
			}
		}
	case v.Kind() == reflect.Map:
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		for _, k := range keys {
			path := n.path + "." + k
			if _, ok := c.origins[path]; !ok {
				path = n.path
			}
			switch {
			case strings.TrimSpace(k) == "":
				add(c.errAt(path, "an action name is empty", "write the action's name before the ':'"))
			case v.MapIndex(reflect.ValueOf(k)).String() == "":
				add(c.errAt(path, fmt.Sprintf("the key for action %q is empty", k), "write a key such as q, ctrl-r or f5, or remove the line to keep the default"))
			}
		}
	}
}

// inRange checks an integer against the min and max tags.
func inRange(n *node, x int64) (string, string) {
	lo, errLo := strconv.ParseInt(n.min, 10, 64)
	hi, errHi := strconv.ParseInt(n.max, 10, 64)
	if (errLo == nil && x < lo) || (errHi == nil && x > hi) {
		return fmt.Sprintf("%d is out of range", x), fmt.Sprintf("use a value from %s to %s", n.min, n.max)
	}
	return "", ""
}

// checkConnector applies the rules between connector timings.
func (c *Config) checkConnector(add func(*ValidationError)) {
	k := c.Connector
	if sum := k.LockTTL + k.SafetyPoll + k.Retry.Max; sum >= DedupeLimit {
		key := c.largestSet(map[string]time.Duration{"connector.lockTTL": k.LockTTL, "connector.safetyPoll": k.SafetyPoll, "connector.retry.max": k.Retry.Max})
		add(c.errAt(key, fmt.Sprintf("lockTTL %s + safetyPoll %s + retry.max %s = %s, which is not under %s (Ably's dedupe window): a row re-published after it would be delivered twice",
			formatDuration(k.LockTTL), formatDuration(k.SafetyPoll), formatDuration(k.Retry.Max), inSeconds(sum), inSeconds(DedupeLimit)),
			"lower connector.lockTTL, connector.safetyPoll or connector.retry.max so their sum is under 120s"))
	}
	if k.LockTTL < LockTTLPolls*k.PollInterval {
		key := "connector.lockTTL"
		if _, ok := c.origins[key]; !ok {
			key = "connector.pollInterval"
		}
		add(c.errAt(key, fmt.Sprintf("lockTTL %s is shorter than %d x pollInterval %s, so locks could lapse between poll rounds",
			formatDuration(k.LockTTL), LockTTLPolls, formatDuration(k.PollInterval)),
			fmt.Sprintf("raise connector.lockTTL to at least %s or lower connector.pollInterval", formatDuration(LockTTLPolls*k.PollInterval))))
	}
	if k.Retry.Min > k.Retry.Max {
		add(c.errAt("connector.retry.min", fmt.Sprintf("retry.min %s is longer than retry.max %s", formatDuration(k.Retry.Min), formatDuration(k.Retry.Max)),
			"make connector.retry.min at most connector.retry.max"))
	}
	if k.LockTimeout > k.StatementTimeout {
		add(c.errAt("connector.lockTimeout", fmt.Sprintf("lockTimeout %s is longer than statementTimeout %s, which ends the wait first",
			formatDuration(k.LockTimeout), formatDuration(k.StatementTimeout)),
			"make connector.lockTimeout at most connector.statementTimeout"))
	}
	if msg, hint := checkAddr(k.HealthAddr, false); msg != "" {
		add(c.errAt("connector.healthAddr", msg, hint))
	}
}

// largestSet returns the key with the largest value among those set by the
// user, or among all when none was set.
func (c *Config) largestSet(vals map[string]time.Duration) string {
	best, bestSet := "", false
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		_, set := c.origins[k]
		if best == "" || (set && !bestSet) || (set == bestSet && vals[k] > vals[best]) {
			best, bestSet = k, set
		}
	}
	return best
}

// checkValues applies the per-value rules that tags cannot express.
func (c *Config) checkValues(add func(*ValidationError)) {
	if u := c.Postgres.URL; strings.Contains(u, "://") && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		add(c.errAt("postgres.url", "the URL scheme is not postgres:// or postgresql://", "write postgres://user:password@host:5432/database"))
	}
	for _, t := range []struct{ key, val string }{
		{"postgres.outboxTableSchema", c.Postgres.OutboxTableSchema}, {"postgres.outboxTableName", c.Postgres.OutboxTableName},
		{"postgres.nodesTableSchema", c.Postgres.NodesTableSchema}, {"postgres.nodesTableName", c.Postgres.NodesTableName},
	} {
		if t.val == "" || len(t.val) > 63 {
			add(c.errAt(t.key, "must be a Postgres identifier of 1 to 63 bytes", "write a name such as public or outbox"))
		}
	}
	if u := c.Mongo.URL; u != "" && !strings.HasPrefix(u, "mongodb://") && !strings.HasPrefix(u, "mongodb+srv://") {
		add(c.errAt("mongo.url", "the URL scheme is not mongodb:// or mongodb+srv://", "write mongodb://host:27017/?replicaSet=rs0"))
	}
	if c.Mongo.Database == "" || strings.ContainsAny(c.Mongo.Database, `/\. "$`) {
		add(c.errAt("mongo.database", "must be a MongoDB database name", `write a name without / \ . " $ or spaces, such as livesync`))
	}
	if c.Mongo.Collection == "" || strings.Contains(c.Mongo.Collection, "$") || strings.HasPrefix(c.Mongo.Collection, "system.") {
		add(c.errAt("mongo.collection", "must be a MongoDB collection name", "write a name without $ that does not start with system., such as events"))
	}
	if _, err := mongo.ParsePipeline(c.Mongo.Pipeline); err != nil {
		var e *mongo.Error
		msg := err.Error()
		if errors.As(err, &e) {
			msg = e.Message
		}
		add(c.errAt("mongo.pipeline", msg+" (error 72005)",
			`write a JSON array in single quotes, e.g. '[{"$set":{"_ablyChannel":"events"}}]' (use [] for none)`))
	}
	if !pgVersionRe.MatchString(c.Sandbox.PostgresVersion) {
		add(c.errAt("sandbox.postgresVersion", fmt.Sprintf("%q is not a Postgres version", c.Sandbox.PostgresVersion), `write a major version in quotes, such as "16"`))
	}
	if k := c.Ably.Key; k != "" && !ablyKeyRe.MatchString(k) {
		add(c.errAt("ably.key", "is not an Ably API key (the value is not shown)", "use the form appId.keyId:secret from your Ably dashboard, or leave it empty for the local endpoint"))
	}
	if msg, hint := checkAddr(c.Ably.Local.Addr, true); msg != "" {
		add(c.errAt("ably.local.addr", msg, hint))
	}
}

// checkAddr validates host:port; strictHost requires an IP or localhost,
// because Ably SDKs treat a dot-less host name as a routing policy.
func checkAddr(addr string, strictHost bool) (string, string) {
	host, port, err := net.SplitHostPort(addr)
	p, perr := strconv.Atoi(port)
	if err != nil || perr != nil || p < 0 || p > 65535 {
		return fmt.Sprintf("%q is not host:port", addr), "write e.g. 127.0.0.1:0 (port 0 = a free port)"
	}
	if strictHost && host != "localhost" && net.ParseIP(host) == nil {
		return fmt.Sprintf("host %q is not an IP address or localhost", host), "use 127.0.0.1, 0.0.0.0 or localhost: Ably SDKs treat a name without a dot as a routing policy"
	}
	return "", ""
}

// inSeconds writes whole seconds as "132s" rather than "2m12s".
func inSeconds(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return formatDuration(d)
}

func quoteAll(vals []string) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = strconv.Quote(v)
	}
	return out
}
