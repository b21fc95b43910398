package doctor

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/livesync-dev/livesync-dev/schema"
)

// Bits of pg_trigger.tgtype (src/include/catalog/pg_trigger.h).
const (
	tgRow     = 1 << 0
	tgBefore  = 1 << 1
	tgInsert  = 1 << 2
	tgInstead = 1 << 6
)

// trigger is one user trigger on the outbox and the function it calls.
type trigger struct {
	name     string
	tgtype   int16
	enabled  string // pg_trigger.tgenabled: O, A, R or D
	function string // quoted, qualified
	language string
	source   string
}

var (
	pgNotifyLiteral = regexp.MustCompile(`(?i)pg_notify\s*\(\s*'((?:[^']|'')*)'`)
	pgNotifyAny     = regexp.MustCompile(`(?i)pg_notify\s*\(`)
	notifyStatement = regexp.MustCompile(`(?i)(?:^|[\s;])NOTIFY\s+("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`)
	exceptionBlock  = regexp.MustCompile(`(?is)\bEXCEPTION\s+WHEN\b`)
	lineComment     = regexp.MustCompile(`--[^\n]*`)
)

// checkTrigger checks the change-detection trigger on the outbox and the
// function it calls: channel ably_adbc, and an exception handler.
func (r *run) checkTrigger() error {
	if r.outboxOID == 0 {
		return nil
	}
	trigs, err := r.triggers()
	if err != nil {
		return err
	}
	title := "notify trigger on " + r.outboxName()
	t := pickTrigger(trigs, r.names.TriggerName())
	if t == nil {
		r.add(Check{ID: "trigger", Title: title, Status: Fail,
			Detail: fmt.Sprintf("no trigger on %s calls pg_notify: in LISTEN mode nothing wakes the connector after an INSERT (only fixed-rate polling would see new rows)", r.outboxName()),
			Fix:    sqlList(r.names.CreateNotifyFunctionSQL(), r.names.CreateTriggerSQL())})
		return nil
	}
	r.add(r.triggerShape(t, title))
	r.checkFunction(t)
	return nil
}

// triggerShape checks that t is an enabled, statement-level AFTER INSERT
// trigger.
func (r *run) triggerShape(t *trigger, title string) Check {
	c := Check{ID: "trigger", Title: title, Status: OK}
	var problems []string
	worse := func(s Status, msg string) {
		if s.rank() > c.Status.rank() {
			c.Status = s
		}
		problems = append(problems, msg)
	}
	recreate := false
	switch t.enabled {
	case "D":
		worse(Fail, "it is disabled")
	case "R":
		worse(Fail, "it fires only in replica sessions (ENABLE REPLICA)")
	}
	if t.tgtype&tgInsert == 0 {
		worse(Fail, "it does not fire on INSERT")
		recreate = true
	}
	switch {
	case t.tgtype&(tgBefore|tgInstead) != 0 && t.tgtype&tgRow != 0:
		worse(Fail, "it is BEFORE INSERT FOR EACH ROW: the notify function returns NULL, which discards every inserted row")
		recreate = true
	case t.tgtype&(tgBefore|tgInstead) != 0:
		worse(Warn, "it fires BEFORE the insert, want AFTER (it works only because notifications are sent at commit)")
		recreate = true
	case t.tgtype&tgRow != 0:
		worse(Warn, "it is FOR EACH ROW, want FOR EACH STATEMENT: a 10,000-row INSERT calls pg_notify 10,000 times")
		recreate = true
	}
	if len(problems) == 0 {
		c.Detail = fmt.Sprintf("%s: enabled, AFTER INSERT, FOR EACH STATEMENT, calls %s()", t.name, t.function)
		return c
	}
	c.Detail = fmt.Sprintf("trigger %s: %s", t.name, strings.Join(problems, "; "))
	name := ident(t.name)
	if recreate {
		c.Fix = sqlList(
			fmt.Sprintf("DROP TRIGGER %s ON %s", name, r.names.Outbox()),
			fmt.Sprintf("CREATE TRIGGER %s AFTER INSERT ON %s FOR EACH STATEMENT EXECUTE PROCEDURE %s()", name, r.names.Outbox(), t.function))
	} else {
		c.Fix = sqlList(fmt.Sprintf("ALTER TABLE %s ENABLE TRIGGER %s", r.names.Outbox(), name))
	}
	return c
}

// checkFunction checks the notify function's channel and exception handler.
func (r *run) checkFunction(t *trigger) {
	fix := sqlList(r.functionSQL(t.function))
	src := lineComment.ReplaceAllString(t.source, "")
	ch := Check{ID: "notify.channel", Title: "notify channel of " + t.function + "()", Status: OK,
		Detail: fmt.Sprintf("notifies %s", schema.NotifyChannel)}
	channels := notifyChannels(src)
	switch {
	case t.language != "plpgsql" && t.language != "sql":
		ch.Status, ch.Detail = Warn, fmt.Sprintf("function is written in %s: cannot verify it notifies %s", t.language, schema.NotifyChannel)
	case contains(channels, schema.NotifyChannel):
	case len(channels) > 0:
		ch.Status, ch.Fix = Fail, fix
		ch.Detail = fmt.Sprintf("notifies %s, but the connector LISTENs on %s: nothing wakes it", strings.Join(channels, ", "), schema.NotifyChannel)
	case pgNotifyAny.MatchString(src):
		ch.Status = Warn
		ch.Detail = fmt.Sprintf("calls pg_notify with a computed channel: cannot verify it is %s", schema.NotifyChannel)
	default:
		ch.Status, ch.Fix = Fail, fix
		ch.Detail = "does not call pg_notify: nothing wakes the connector"
	}
	r.add(ch)
	ex := Check{ID: "notify.exception", Title: "exception handler in " + t.function + "()", Status: OK,
		Detail: "errors in the function raise only a WARNING"}
	if t.language == "plpgsql" && !exceptionBlock.MatchString(src) {
		ex.Status, ex.Fix = Warn, fix
		ex.Detail = "no EXCEPTION handler: an error in pg_notify (e.g. a full notification queue) would fail the application's INSERT"
	} else if t.language != "plpgsql" {
		ex.Status, ex.Fix = Warn, fix
		ex.Detail = fmt.Sprintf("function is written in %s, which cannot catch exceptions: an error in it would fail the application's INSERT", t.language)
	}
	r.add(ex)
}

// notifyChannels lists the literal channels a function body notifies.
func notifyChannels(src string) []string {
	var out []string
	for _, m := range pgNotifyLiteral.FindAllStringSubmatch(src, -1) {
		out = append(out, strings.ReplaceAll(m[1], "''", "'"))
	}
	for _, m := range notifyStatement.FindAllStringSubmatch(src, -1) {
		name := m[1]
		if strings.HasPrefix(name, `"`) {
			name = strings.ReplaceAll(name[1:len(name)-1], `""`, `"`)
		} else {
			name = strings.ToLower(name)
		}
		out = append(out, name)
	}
	return out
}

// functionSQL is the documented notify function, created under name (the
// function the trigger actually calls, which may differ from Names').
func (r *run) functionSQL(name string) string {
	sql := r.names.CreateNotifyFunctionSQL()
	return strings.Replace(sql, r.names.NotifyFunction()+"()", name+"()", 1)
}

// pickTrigger chooses the trigger to check: the one with the documented
// name, else the first whose function mentions NOTIFY.
func pickTrigger(trigs []trigger, want string) *trigger {
	for i := range trigs {
		if trigs[i].name == want {
			return &trigs[i]
		}
	}
	for i := range trigs {
		if strings.Contains(strings.ToLower(trigs[i].source), "notify") {
			return &trigs[i]
		}
	}
	return nil
}

// triggers lists the user triggers on the outbox.
func (r *run) triggers() ([]trigger, error) {
	rows, err := r.q.Query(r.ctx, `
SELECT t.tgname, t.tgtype, t.tgenabled::text, n.nspname, p.proname, l.lanname, p.prosrc
FROM pg_trigger t
JOIN pg_proc p ON p.oid = t.tgfoid
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE t.tgrelid = $1 AND NOT t.tgisinternal
ORDER BY t.tgname`, r.outboxOID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []trigger
	for rows.Next() {
		var t trigger
		var nsp, fn string
		if err := rows.Scan(&t.name, &t.tgtype, &t.enabled, &nsp, &fn, &t.language, &t.source); err != nil {
			return nil, err
		}
		t.function = pgx.Identifier{nsp, fn}.Sanitize()
		out = append(out, t)
	}
	return out, rows.Err()
}
