package model

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gdamore/tcell/v2"
)

// Action names a dashboard command; config Dashboard.Keys maps these names
// to keys.
type Action string

// The dashboard's actions.
const (
	ActQuit           Action = "quit"
	ActHelp           Action = "help"
	ActPalette        Action = "palette"
	ActFilter         Action = "filter"
	ActBack           Action = "back"
	ActInspect        Action = "inspect"
	ActCopy           Action = "copy"
	ActMark           Action = "mark"
	ActRetry          Action = "retry"
	ActDelete         Action = "delete"
	ActRetryFiltered  Action = "retryFiltered"
	ActDeleteFiltered Action = "deleteFiltered"
	ActInsert         Action = "insert"
	ActRefresh        Action = "refresh"
	ActFollow         Action = "follow"
	ActNextPanel      Action = "nextPanel"
	ActDashboard      Action = "dashboard"
	ActOutbox         Action = "outbox"
	ActNodes          Action = "nodes"
	ActStuck          Action = "stuck"
	ActRejected       Action = "rejected"
	ActChannels       Action = "channels"
	ActLog            Action = "log"
	ActNodeKill       Action = "nodeKill"
	ActNodePause      Action = "nodePause"
	ActNodeResume     Action = "nodeResume"
	ActHold           Action = "hold"
	ActNextStep       Action = "nextStep"
)

// Binding is one entry of the key table: the same data drives the footer
// hints, the help overlay and read-only filtering.
type Binding struct {
	// Action is the command.
	Action Action
	// Key is the key in the form ParseKey accepts ("q", "ctrl-r", "enter").
	Key string
	// Description is a few words for the footer and the help overlay.
	Description string
	// Footer shows the binding in the footer hints.
	Footer bool
	// Dangerous marks actions that write; read-only mode hides them.
	Dangerous bool
	// Help is the longer text of the help overlay and the README table.
	Help string
	// Narrating marks keys that exist only while a narrated script
	// (`livesync-dev demo`) runs in the dashboard; otherwise they are
	// hidden and do nothing.
	Narrating bool
}

// DefaultBindings returns the default key table, in help order. No default
// uses a tmux or screen prefix (Ctrl-B, Ctrl-A).
func DefaultBindings() []Binding {
	return []Binding{
		{ActNextStep, "n", "next step", true, false, "go on to the demo's next step once the current one has passed; without it the demo goes on by itself after demo --step-pause", true},
		{ActHelp, "?", "help", true, false, "show this help; / searches it", false},
		{ActPalette, ":", "command", true, false, "command palette: :outbox :nodes :stuck :rejected :channels [CH] :log :insert [CH] :fault add|list|clear :hold ID [SECONDS] :quit", false},
		{ActFilter, "/", "filter", true, false, "filter the focused table or tail (substring, case-insensitive; !text inverts)", false},
		{ActBack, "esc", "back", false, false, "close the dialog, clear the filter, or go back to the dashboard", false},
		{ActQuit, "q", "quit", true, false, "quit (when no dialog is open); Ctrl-C always quits", false},
		{ActInspect, "enter", "inspect", true, false, "on an outbox, stuck or rejected row or a message: its journey, stage by stage (as outbox trace); in the journey, and on anything else: the JSON (sorted keys, exact numbers); in the channel list: tail that channel", false},
		{ActCopy, "c", "copy JSON", false, false, "copy the selected row or message as JSON to the clipboard (OSC 52); in the journey: the journey", false},
		{ActMark, "space", "mark row", false, false, "mark or unmark the row for a bulk retry or delete", false},
		{ActRetry, "r", "retry", true, true, "retry the marked rows (or the selected one): clears their locks; asks first, showing the SQL", false},
		{ActDelete, "ctrl-d", "delete", true, true, "delete the marked rows (or the selected one); asks first, showing the SQL", false},
		{ActRetryFiltered, "R", "retry all matching", false, true, "retry every row matching the view and its filter; asks first", false},
		{ActDeleteFiltered, "ctrl-x", "delete all matching", false, true, "delete every row matching the view and its filter; asks first", false},
		{ActInsert, "i", "insert", true, true, "insert test rows (channel, name, data, headers, mutation id, rejected, count)", false},
		{ActNodeKill, "K", "kill node", false, true, "in the Nodes view: kill the selected node as a crash would (connector kill; no release, its lease lapses); asks first", false},
		{ActNodePause, "P", "pause node", false, true, "in the Nodes view: SIGSTOP the selected node's process (connector pause); asks first", false},
		{ActNodeResume, "U", "resume node", false, true, "in the Nodes view: SIGCONT the selected node's paused process (connector resume); asks first", false},
		{ActHold, "H", "hold row lock", false, true, "on an outbox row: hold its lock from an open transaction for 30 s, as a long application transaction would (outbox hold; :hold ID SECONDS for longer); asks first", false},
		{ActRefresh, "ctrl-r", "refresh", false, false, "take a snapshot now; in the journey: trace again", false},
		{ActFollow, "f", "follow", false, false, "follow the newest tail or log entry again (scrolling up pauses)", false},
		{ActNextPanel, "tab", "next panel", false, false, "focus the next panel", false},
		{ActDashboard, "1", "dashboard", false, false, "dashboard: Outbox, Nodes and Channels", false},
		{ActOutbox, "2", "outbox", false, false, "every outbox row, paged from the database", false},
		{ActNodes, "3", "nodes", false, false, "node leases with countdowns and owned channels", false},
		{ActStuck, "4", "stuck", false, false, "rows that are not moving, with the diagnosis", false},
		{ActRejected, "5", "rejected", false, false, "rejected rows (rejections of client mutations)", false},
		{ActChannels, "6", "channels", false, false, "channels with occupancy, and the live tail per channel or all", false},
		{ActLog, "7", "log", false, false, "the connector's event log", false},
	}
}

// Keymap resolves key events to actions.
type Keymap struct {
	bindings []Binding
	byKey    map[string]Action
}

// NewKeymap builds the key table from the defaults and the remapping of
// config Dashboard.Keys (action name → key). An unknown action, an
// unparsable key or two actions on one key is an error, and then nothing of
// the remapping applies.
func NewKeymap(remap map[string]string) (*Keymap, error) {
	bs := DefaultBindings()
	idx := map[Action]int{}
	for i, b := range bs {
		idx[b.Action] = i
	}
	names := make([]string, 0, len(remap))
	for a := range remap {
		names = append(names, a)
	}
	sort.Strings(names)
	for _, a := range names {
		i, ok := idx[Action(a)]
		if !ok {
			return nil, fmt.Errorf("dashboard.keys.%s: unknown action (known: %s)", a, actionList(bs))
		}
		k, err := NormalizeKey(remap[a])
		if err != nil {
			return nil, fmt.Errorf("dashboard.keys.%s: %w", a, err)
		}
		bs[i].Key = k
	}
	km := &Keymap{bindings: bs, byKey: map[string]Action{}}
	for _, b := range bs {
		if prev, dup := km.byKey[b.Key]; dup {
			return nil, fmt.Errorf("dashboard.keys: %q is bound to both %s and %s", b.Key, prev, b.Action)
		}
		km.byKey[b.Key] = b.Action
	}
	return km, nil
}

// actionList names every action, for error messages.
func actionList(bs []Binding) string {
	s := make([]string, len(bs))
	for i, b := range bs {
		s[i] = string(b.Action)
	}
	return strings.Join(s, ", ")
}

// Bindings returns the key table; with readonly the dangerous actions are
// left out.
func (k *Keymap) Bindings(readonly bool) []Binding {
	out := make([]Binding, 0, len(k.bindings))
	for _, b := range k.bindings {
		if readonly && b.Dangerous {
			continue
		}
		out = append(out, b)
	}
	return out
}

// Binding returns a's entry of the key table.
func (k *Keymap) Binding(a Action) (Binding, bool) {
	for _, b := range k.bindings {
		if b.Action == a {
			return b, true
		}
	}
	return Binding{}, false
}

// Key returns the key bound to a.
func (k *Keymap) Key(a Action) string {
	for _, b := range k.bindings {
		if b.Action == a {
			return b.Key
		}
	}
	return ""
}

// Lookup returns the action bound to the event's key; ok is false when the
// key is unbound or, with readonly, bound to a dangerous action.
func (k *Keymap) Lookup(ev *tcell.EventKey, readonly bool) (Action, bool) {
	a, ok := k.byKey[EventKeyName(ev)]
	if !ok {
		return "", false
	}
	if readonly {
		for _, b := range k.bindings {
			if b.Action == a && b.Dangerous {
				return "", false
			}
		}
	}
	return a, true
}

// specialKeys maps key names to tcell keys.
var specialKeys = map[string]tcell.Key{
	"enter": tcell.KeyEnter, "esc": tcell.KeyEscape, "tab": tcell.KeyTab,
	"backtab": tcell.KeyBacktab, "backspace": tcell.KeyBackspace,
	"delete": tcell.KeyDelete, "insert": tcell.KeyInsert,
	"up": tcell.KeyUp, "down": tcell.KeyDown, "left": tcell.KeyLeft, "right": tcell.KeyRight,
	"home": tcell.KeyHome, "end": tcell.KeyEnd, "pgup": tcell.KeyPgUp, "pgdn": tcell.KeyPgDn,
	"f1": tcell.KeyF1, "f2": tcell.KeyF2, "f3": tcell.KeyF3, "f4": tcell.KeyF4,
	"f5": tcell.KeyF5, "f6": tcell.KeyF6, "f7": tcell.KeyF7, "f8": tcell.KeyF8,
	"f9": tcell.KeyF9, "f10": tcell.KeyF10, "f11": tcell.KeyF11, "f12": tcell.KeyF12,
}

// NormalizeKey checks a key name from the config: a single character
// ("q", "R", "?"), "space", "ctrl-<letter>", "alt-<char>" or a special key
// (enter, esc, tab, up, f1...). Ctrl-A and Ctrl-B are refused: they are the
// screen and tmux prefixes.
func NormalizeKey(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("empty key")
	}
	if len([]rune(s)) == 1 {
		if s == " " {
			return "space", nil
		}
		return s, nil
	}
	l := strings.ToLower(s)
	if l == "space" {
		return l, nil
	}
	if _, ok := specialKeys[l]; ok {
		return l, nil
	}
	if rest, ok := strings.CutPrefix(l, "ctrl-"); ok && len(rest) == 1 && rest[0] >= 'a' && rest[0] <= 'z' {
		if rest == "a" || rest == "b" {
			return "", fmt.Errorf("%q clashes with the screen/tmux prefix; pick another key", s)
		}
		return l, nil
	}
	if rest, ok := strings.CutPrefix(s, "alt-"); ok && len([]rune(rest)) == 1 {
		return "alt-" + rest, nil
	}
	return "", fmt.Errorf("unknown key %q (use a character, space, ctrl-x, alt-x, enter, esc, tab, up, f1...)", s)
}

// EventKeyName names a key event in NormalizeKey's form.
func EventKeyName(ev *tcell.EventKey) string {
	if ev.Key() == tcell.KeyRune {
		r := ev.Rune()
		if ev.Modifiers()&tcell.ModAlt != 0 {
			return "alt-" + string(r)
		}
		if r == ' ' {
			return "space"
		}
		return string(r)
	}
	if ev.Key() >= tcell.KeyCtrlA && ev.Key() <= tcell.KeyCtrlZ {
		return "ctrl-" + string(rune('a'+ev.Key()-tcell.KeyCtrlA))
	}
	for name, k := range specialKeys {
		if ev.Key() == k {
			return name
		}
	}
	return ""
}

// KeyLabel renders a key for the footer and help ("<ctrl-d>").
func KeyLabel(key string) string { return "<" + key + ">" }

// MarkdownTable renders the default key table for the README: key,
// action (the name config dashboard.keys uses) and what it does.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| Key | Action (`dashboard.keys`) | What it does |\n|---|---|---|\n")
	for _, k := range DefaultBindings() {
		help := k.Help
		if k.Dangerous {
			help += " (hidden in read-only mode)"
		}
		if k.Narrating {
			help += " (only while `livesync-dev demo` runs)"
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s |\n", k.Key, k.Action, strings.ReplaceAll(help, "|", "\\|"))
	}
	return b.String()
}
