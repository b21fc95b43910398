package view

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/tui/model"
)

// commands are the palette's commands and their aliases.
var commands = map[string]Screen{
	"dashboard": ScreenDashboard, "overview": ScreenDashboard, "outbox": ScreenOutbox,
	"nodes": ScreenNodes, "stuck": ScreenStuck, "rejected": ScreenRejected,
	"channels": ScreenChannels, "live": ScreenChannels, "tail": ScreenChannels, "log": ScreenLog,
}

// commandHelp describes the palette commands that do more than switch
// view, by name (or name and subcommand).
var commandHelp = map[string]string{
	"help": "show this help", "quit": "quit",
	"insert":      "insert test rows (opens the form)",
	"fault add":   "add a fault rule on the local endpoint, as `livesync-dev fault add`: e.g. :fault add demo:* 40160",
	"fault list":  "show the fault rules in force (id, rule, hits)",
	"fault clear": "remove one fault rule by id; without an id every rule (asks first)",
	"hold":        "hold a row's lock (the selected row) for SECONDS (30), as `livesync-dev outbox hold`; asks first",
}

// commandNames lists the palette's commands for help and completion.
func (a *App) commandNames() []string {
	names := []string{"dashboard", "outbox", "nodes", "stuck", "rejected", "channels [CHANNEL]", "log", "help", "quit"}
	if a.readonly {
		names = append(names, "fault list")
	} else {
		names = append(names, "insert [CHANNEL]", "fault add [CHANNEL] CODE|delay=D|drop|refuse=D|rate=N [for=D]",
			"fault list", "fault clear [ID]", "hold [ID] [SECONDS]")
	}
	return names
}

// complete offers commands starting with the typed text.
func (a *App) complete(text string) []string {
	text = strings.TrimSpace(text)
	if text == "" || strings.Contains(text, " ") {
		return nil
	}
	var out []string
	for _, n := range a.commandNames() {
		n = strings.Fields(n)[0]
		if strings.HasPrefix(n, text) && n != text && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Command runs a palette command such as "stuck", "channels orders:1" or
// "insert orders:1".
func (a *App) Command(line string) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return
	}
	name, arg := f[0], ""
	if len(f) > 1 {
		arg = f[1]
	}
	if s, ok := commands[name]; ok {
		a.SetScreen(s)
		if s == ScreenChannels {
			a.tail.SetChannel(arg)
		}
		return
	}
	switch name {
	case "q", "quit":
		a.quit()
	case "help":
		a.openHelp()
	case "insert":
		if a.readonly {
			a.setFlash("read-only: inserting is disabled", true)
			return
		}
		a.openInsert(arg)
	case "fault", "faults":
		a.faultCommand(f[1:])
	case "hold":
		a.holdCommand(f[1:])
	default:
		a.setFlash("unknown command :"+name+" (try :help)", true)
	}
}

// confirmAction asks before a retry or delete, showing the rows and SQL.
func (a *App) confirmAction(act model.Action) {
	if a.readonly {
		return
	}
	ra, ok := a.Focused().(rowActor)
	if !ok {
		a.setFlash("retry and delete work in the Outbox, Stuck and Rejected views", true)
		return
	}
	verb := "retry"
	if act == model.ActDelete || act == model.ActDeleteFiltered {
		verb = "delete"
	}
	var p monitor.OutboxActionParams
	var what string
	if act == model.ActRetryFiltered || act == model.ActDeleteFiltered {
		p = ra.FilterParams()
		what = "EVERY row matching filter=" + orDefault(string(p.Filter), "all")
		if p.Text != "" {
			what += " text=" + strconv.Quote(p.Text)
		}
	} else {
		p.IDs = ra.Targets()
		if len(p.IDs) == 0 {
			a.setFlash("no row selected", true)
			return
		}
		what = plural(len(p.IDs), "row") + ": " + idList(p.IDs)
	}
	sql, err := a.env.src.ActionSQL(verb, p)
	if err != nil {
		a.setFlash(verb+": "+err.Error(), true)
		return
	}
	title := strings.ToUpper(verb[:1]) + verb[1:]
	body := title + " " + what + "\n\nSQL:\n" + sql
	if verb == "retry" {
		body += "\n\nRetry clears the row locks so a live node claims the rows again."
	}
	okLabel := title
	if len(p.IDs) > 0 {
		okLabel += " " + plural(len(p.IDs), "row")
	} else {
		okLabel += " all matching"
	}
	a.openOverlay(NewConfirm(&a.env.theme, "Confirm "+verb, body, okLabel, func() { a.runAction(verb, p, ra) }, a.closeOverlay))
}

// runAction runs a confirmed action in the background and reports.
func (a *App) runAction(verb string, p monitor.OutboxActionParams, ra rowActor) {
	a.env.async(func() {
		var res monitor.ActionResult
		var err error
		if verb == "delete" {
			res, err = a.env.src.Delete(context.Background(), p)
		} else {
			res, err = a.env.src.Retry(context.Background(), p)
		}
		a.env.post(func() {
			if err != nil {
				msg := verb + " failed: " + err.Error()
				if errors.Is(err, monitor.ErrRefused) {
					msg += " (use `livesync-dev outbox " + verb + " --force` if you are sure)"
				}
				a.setFlash(msg, true)
				return
			}
			ra.ClearMarks()
			msg := fmt.Sprintf("%s: %s", verb, plural(len(res.SequenceIDs), "row"))
			if len(res.Unblocked) > 0 {
				msg += "; the connector tries " + idList(stuckIDs(res.Unblocked)) + " again now"
			}
			if len(res.Claimed) > 0 {
				msg += "; left " + idList(res.Claimed) + " with the live node publishing them"
			}
			a.setFlash(msg, false)
			a.Refresh()
		})
	})
}

// stuckIDs are the rows of a diagnosis list.
func stuckIDs(st []monitor.Stuck) []int64 {
	out := make([]int64, len(st))
	for i, x := range st {
		out[i] = x.SequenceID
	}
	return out
}

// idList renders at most ten ids.
func idList(ids []int64) string {
	var b strings.Builder
	for i, id := range ids {
		if i == 10 {
			b.WriteString(", … (" + strconv.Itoa(len(ids)-10) + " more)")
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	return b.String()
}

// openInsert opens the insert form, pre-filling channel.
func (a *App) openInsert(channel string) {
	if a.readonly {
		return
	}
	if channel == "" && a.tail.channel != "" {
		channel = a.tail.channel
	}
	form := NewInsertForm(&a.env.theme, channel, a.insert, a.closeOverlay)
	if mi, ok := a.mongoOffered(); ok {
		form.EnableMongo(func(doc string, n int) { a.insertMongo(mi, doc, n) })
	}
	a.openOverlay(form)
}

// insert writes rows in the background and reports their ids.
func (a *App) insert(p monitor.OutboxInsertParams) {
	a.env.async(func() {
		ids, err := a.env.src.Insert(context.Background(), p)
		a.env.post(func() {
			if err != nil {
				a.setFlash("insert failed: "+err.Error(), true)
				return
			}
			msg := "inserted " + plural(len(ids), "row")
			if len(ids) > 0 {
				msg += " into " + p.Channel + ": " + strconv.FormatInt(ids[0], 10)
				if len(ids) > 1 {
					msg += "–" + strconv.FormatInt(ids[len(ids)-1], 10)
				}
			}
			a.setFlash(msg, false)
			a.Refresh()
		})
	})
}
