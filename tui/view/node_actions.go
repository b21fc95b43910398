package view

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/tui/model"
)

// defaultHold is how long `H` holds a row's lock (`:hold ID SECONDS` for
// another length), as `outbox hold` defaults to.
const defaultHold = 30 * time.Second

// nodeActions says, per key action, what the node action does.
var nodeActions = map[model.Action]struct {
	act  model.NodeAction
	body string
}{
	model.ActNodeKill: {model.NodeKill, "Kill node %s as a crash would: no release, its node row is left to expire.\n" +
		"Its lease lapses within connector.heartbeatTimeout, then a live node takes over its channels\n" +
		"once their locks expire (connector.lockTTL). Every node of its process dies with it\n" +
		"(a node inside this dashboard's process is stopped alone)."},
	model.ActNodePause: {model.NodePause, "Pause node %s: SIGSTOP of its process (connector pause).\n" +
		"It freezes mid-work; paused longer than its lease, another node takes over.\n" +
		"Every node of that process pauses with it. Resume with U."},
	model.ActNodeResume: {model.NodeResume, "Resume node %s: SIGCONT of its process (connector resume)."},
}

// nodeChooser is a panel with a selected node.
type nodeChooser interface {
	SelectedNode() (monitor.Node, bool)
}

// holdTarget is a panel with a selected outbox row.
type holdTarget interface {
	HoldTarget() (int64, bool)
}

// confirmNode asks before killing, pausing or resuming the selected node.
func (a *App) confirmNode(act model.Action) {
	if a.readonly {
		return
	}
	nc, ok := a.Focused().(nodeChooser)
	if !ok {
		a.setFlash("kill, pause and resume work on a node in the Nodes view (3)", true)
		return
	}
	node, ok := nc.SelectedNode()
	if !ok {
		a.setFlash("no node selected", true)
		return
	}
	na := nodeActions[act]
	verb := string(na.act)
	body := strings.Replace(na.body, "%s", node.ID, 1)
	title := strings.ToUpper(verb[:1]) + verb[1:]
	a.openOverlay(NewConfirm(&a.env.theme, "Confirm connector "+verb, body, title+" node",
		func() { a.runNodeSignal(model.NodeSignalParams{Node: node.ID, Action: na.act}) }, a.closeOverlay))
}

// runNodeSignal runs a confirmed node action in the background.
func (a *App) runNodeSignal(p model.NodeSignalParams) {
	a.env.async(func() {
		res, err := a.env.src.NodeSignal(context.Background(), p)
		a.env.post(func() {
			verb := string(p.Action)
			if err != nil {
				a.setFlash(verb+" "+p.Node+" refused: "+err.Error(), true)
				return
			}
			msg := "node " + p.Node
			switch {
			case res.InProcess:
				msg += " stopped in this process as a crash would"
			case res.PID > 0:
				msg += " (pid " + strconv.Itoa(res.PID) + ")"
			}
			switch p.Action {
			case model.NodeKill:
				msg += ": killed; its lease lapses, then a live node takes over its channels"
			case model.NodePause:
				msg += ": paused; U resumes it"
			default:
				msg += ": resumed"
			}
			if len(res.Siblings) > 0 {
				msg += "; also " + strings.Join(res.Siblings, ", ") + " (same process)"
			}
			a.setFlash(msg, false)
			a.Refresh()
		})
	})
}

// confirmHold asks before holding the selected row's lock for d.
func (a *App) confirmHold(id int64, d time.Duration) {
	if a.readonly {
		return
	}
	if id <= 0 {
		ht, ok := a.Focused().(holdTarget)
		if ok {
			id, ok = ht.HoldTarget()
		}
		if !ok {
			a.setFlash("hold works on a row in the Outbox view (2), or `:hold ID [SECONDS]`", true)
			return
		}
	}
	ids := strconv.FormatInt(id, 10)
	body := "Hold the lock of row " + ids + " for " + d.String() + " from an open transaction\n" +
		"(SELECT ... FOR UPDATE, then ROLLBACK: nothing is changed), as a long application\n" +
		"transaction would. The connector skips the row and its channel stops at it;\n" +
		"the Stuck view names the holder. Quitting the dashboard releases it."
	a.openOverlay(NewConfirm(&a.env.theme, "Confirm outbox hold", body, "Hold row "+ids,
		func() { a.runHold(id, d) }, a.closeOverlay))
}

// runHold holds the lock in the background, reporting when it is taken
// and when it is released.
func (a *App) runHold(id int64, d time.Duration) {
	ids := strconv.FormatInt(id, 10)
	a.env.async(func() {
		err := a.env.src.OutboxHold(context.Background(), monitor.OutboxHoldParams{SequenceID: id, Duration: d,
			OnHeld: func(pid int) {
				a.env.post(func() {
					a.setFlash("holding the lock of row "+ids+" from backend pid "+strconv.Itoa(pid)+" for "+d.String(), false)
					a.Refresh()
				})
			}})
		a.env.post(func() {
			if err != nil {
				a.setFlash("hold "+ids+" failed: "+err.Error(), true)
				return
			}
			a.setFlash("released row "+ids, false)
			a.Refresh()
		})
	})
}

// holdCommand runs `:hold [ID] [SECONDS]`.
func (a *App) holdCommand(args []string) {
	if a.readonly {
		a.setFlash("read-only: holding a row lock is disabled", true)
		return
	}
	var id int64
	d := defaultHold
	if len(args) > 0 {
		n, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil || n <= 0 {
			a.setFlash(strconv.Quote(args[0])+" is not a sequence id: :hold ID [SECONDS]", true)
			return
		}
		id = n
	}
	if len(args) > 1 {
		s, err := strconv.Atoi(args[1])
		if err != nil || s < 1 || s > 3600 {
			a.setFlash("seconds "+strconv.Quote(args[1])+" is out of range: use 1-3600", true)
			return
		}
		d = time.Duration(s) * time.Second
	}
	a.confirmHold(id, d)
}
