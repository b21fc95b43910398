package view

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/livesync-dev/livesync-dev/ablylocal/fault"
)

// faultUsage is the palette's help for :fault.
const faultUsage = ":fault add [CHANNEL] CODE | delay=D | drop [every=D] | refuse=D | rate=N [for=D]; :fault list; :fault clear [ID]"

// faultCommand runs `:fault add|list|clear ...` through the source's
// endpoint client (the one `livesync-dev fault` uses).
func (a *App) faultCommand(args []string) {
	if len(args) == 0 {
		a.setFlash("usage: "+faultUsage, true)
		return
	}
	switch args[0] {
	case "list", "ls":
		a.faultList()
	case "add":
		if a.readonly {
			a.setFlash("read-only: adding a fault is disabled", true)
			return
		}
		r, err := parseFaultRule(args[1:])
		if err != nil {
			a.setFlash("fault add: "+err.Error(), true)
			return
		}
		a.faultAdd(r)
	case "clear", "rm":
		if a.readonly {
			a.setFlash("read-only: clearing faults is disabled", true)
			return
		}
		if len(args) > 2 {
			a.setFlash("fault clear takes at most one rule id (`:fault list` shows them)", true)
			return
		}
		if len(args) == 2 {
			a.faultClear(args[1])
			return
		}
		a.openOverlay(NewConfirm(&a.env.theme, "Confirm fault clear",
			"Clear EVERY fault rule in force on the local endpoint?\n\nRules from ably.local.faults come back when the endpoint restarts.",
			"Clear all faults", func() { a.faultClear("") }, a.closeOverlay))
	default:
		a.setFlash("unknown :fault subcommand "+strconv.Quote(args[0])+"; usage: "+faultUsage, true)
	}
}

// parseFaultRule reads the words after `:fault add`: an optional channel
// (or pattern) first, then one fault: a five-digit code or code=N,
// delay=D (ACK delay), drop (with every=D), refuse=D (refuse new
// connections for D) or rate=N; for=D limits the rule's life. The rule
// is checked by fault.Rule.Validate, as the CLI checks it.
func parseFaultRule(words []string) (fault.Rule, error) {
	var r fault.Rule
	dur := func(k, v string) (fault.Duration, error) {
		d, err := time.ParseDuration(v)
		if err != nil {
			return 0, fmt.Errorf("%s=%q is not a duration: write e.g. 500ms, 10s or 2m", k, v)
		}
		return fault.Duration(d), nil
	}
	num := func(k, v string) (int, error) {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("%s=%q is not a number", k, v)
		}
		return n, nil
	}
	if len(words) == 0 {
		return r, fmt.Errorf("say which fault, e.g. `:fault add demo:* 40160` (usage: %s)", faultUsage)
	}
	var err error
	for i, w := range words {
		k, v, kv := strings.Cut(w, "=")
		switch {
		case !kv && w == "drop":
			r.Drop = true
		case !kv && isDigits(w):
			r.Code, err = num("code", w)
		case !kv && i == 0:
			r.Channel = w
		case !kv:
			return r, fmt.Errorf("%q: the channel comes first; then a code (40160) or key=value (delay=2s, refuse=5s, rate=10, every=10s, for=1m)", w)
		case k == "code":
			r.Code, err = num(k, v)
		case k == "channel":
			r.Channel = v
		case k == "delay" || k == "delay-ack":
			r.DelayAck, err = dur(k, v)
		case k == "every":
			r.Every, err = dur(k, v)
		case k == "for":
			r.For, err = dur(k, v)
		case k == "rate":
			r.Rate, err = num(k, v)
		case k == "refuse" || k == "refuse-connections":
			var d fault.Duration
			if d, err = dur(k, v); err == nil {
				if d <= 0 {
					return r, fmt.Errorf("%s needs a positive duration, e.g. refuse=5s", k)
				}
				r.RefuseConnections, r.For = true, d
			}
		default:
			return r, fmt.Errorf("unknown setting %q (known: code, delay, drop, every, refuse, rate, for, channel)", k)
		}
		if err != nil {
			return r, err
		}
	}
	return r, r.Validate()
}

// isDigits reports whether s is a non-empty run of digits.
func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// faultAdd adds the rule in the background and reports its id.
func (a *App) faultAdd(r fault.Rule) {
	a.env.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		act, err := a.env.src.FaultAdd(ctx, r)
		a.env.post(func() {
			if err != nil {
				a.setFlash("fault add failed: "+err.Error(), true)
				return
			}
			a.setFlash("added fault "+act.ID+": "+act.Rule.String()+"; `:fault clear "+act.ID+"` removes it", false)
			a.Refresh()
		})
	})
}

// faultClear clears one rule, or all with id "".
func (a *App) faultClear(id string) {
	a.env.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		n, err := a.env.src.FaultClear(ctx, id)
		a.env.post(func() {
			if err != nil {
				a.setFlash("fault clear failed: "+err.Error(), true)
				return
			}
			a.setFlash("cleared "+plural(n, "fault rule")+"; rows a refusal blocked need `r` (retry) to move again", false)
			a.Refresh()
		})
	})
}

// faultList shows the rules in force as JSON in the inspector.
func (a *App) faultList() {
	a.env.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		list, err := a.env.src.FaultList(ctx)
		a.env.post(func() {
			if err != nil {
				a.setFlash("fault list failed: "+err.Error(), true)
				return
			}
			if len(list) == 0 {
				a.setFlash("no fault rules in force", false)
				return
			}
			doc, _ := json.Marshal(map[string]any{"faults": list})
			a.openOverlay(NewInspector(&a.env.theme, plural(len(list), "fault rule")+" in force", doc, a.closeOverlay))
		})
	})
}
