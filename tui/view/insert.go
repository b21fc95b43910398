package view

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/google/uuid"
	"github.com/rivo/tview"

	"github.com/livesync-dev/livesync-dev/ablyrules"
	"github.com/livesync-dev/livesync-dev/monitor"
)

// InsertForm writes test rows through the Source: channel, name, data and
// headers (JSON, validated as typed with the error position), mutation id
// (a fresh UUID by default), rejected and count. Tab moves between fields,
// Enter on Insert submits, Esc cancels.
type InsertForm struct {
	*tview.Flex
	form     *tview.Form
	status   *tview.TextView
	theme    *Theme
	rejected bool
	mongo    bool
	onMongo  func(doc string, count int)
	onSubmit func(monitor.OutboxInsertParams)
	onClose  func()
}

// Field labels of the insert form (SetField takes them).
const (
	FieldChannel  = "Channel"
	FieldName     = "Name"
	FieldData     = "Data (JSON)"
	FieldHeaders  = "Headers (JSON)"
	FieldMutation = "Mutation id"
	FieldRejected = "Rejected"
	FieldCount    = "Count"
)

// NewInsertForm builds the form; channel pre-fills the channel field.
func NewInsertForm(theme *Theme, channel string, onSubmit func(monitor.OutboxInsertParams), onClose func()) *InsertForm {
	f := &InsertForm{theme: theme, onSubmit: onSubmit, onClose: onClose, form: tview.NewForm(), status: tview.NewTextView()}
	f.form.AddInputField(FieldChannel, channel, 40, nil, nil).
		AddInputField(FieldName, "update", 40, nil, nil).
		AddInputField(FieldData, "", 60, nil, nil).
		AddInputField(FieldHeaders, "", 60, nil, nil).
		AddInputField(FieldMutation, uuid.NewString(), 40, nil, nil).
		AddCheckbox(FieldRejected, false, func(c bool) { f.rejected = c }).
		AddInputField(FieldCount, "1", 8, func(text string, r rune) bool { return r >= '0' && r <= '9' }, nil).
		AddButton("Insert", f.submit).
		AddButton("Cancel", f.close)
	f.form.SetCancelFunc(f.close).SetItemPadding(0)
	f.input(FieldData).SetPlaceholder(`{"id": 1} (empty: no data)`)
	f.input(FieldHeaders).SetPlaceholder(`{"key": "value"} (optional)`)
	for _, name := range []string{FieldChannel, FieldName, FieldData, FieldHeaders, FieldCount} {
		f.input(name).SetChangedFunc(func(string) { f.validate() })
	}
	f.status.SetDynamicColors(true)
	f.Flex = tview.NewFlex().SetDirection(tview.FlexRow).AddItem(f.form, 0, 1, true).AddItem(f.status, 2, 0, false)
	f.SetBorder(true).SetTitle(" Insert (tab: next field, esc: cancel) ").SetTitleColor(theme.Title).SetBorderColor(theme.Focus)
	f.validate()
	return f
}

// input returns the input field labelled label.
func (f *InsertForm) input(label string) *tview.InputField {
	return f.form.GetFormItemByLabel(label).(*tview.InputField)
}

// SetField sets a field's text (tests, and the palette's `:insert CHANNEL`).
func (f *InsertForm) SetField(label, text string) {
	f.input(label).SetText(text)
	f.validate()
}

// Status returns the validation line.
func (f *InsertForm) Status() string { return f.status.GetText(true) }

// params reads and validates the fields.
func (f *InsertForm) params() (monitor.OutboxInsertParams, error) {
	p := monitor.OutboxInsertParams{
		Channel:    strings.TrimSpace(f.input(FieldChannel).GetText()),
		Name:       strings.TrimSpace(f.input(FieldName).GetText()),
		MutationID: strings.TrimSpace(f.input(FieldMutation).GetText()),
		Rejected:   f.rejected,
	}
	var errs []error
	if p.Channel == "" {
		errs = append(errs, errors.New("channel: required"))
	} else if err := ablyrules.Channel(p.Channel); err != nil {
		errs = append(errs, err)
	}
	if p.Name == "" {
		errs = append(errs, errors.New("name: required"))
	}
	if d := f.input(FieldData).GetText(); strings.TrimSpace(d) != "" {
		if err := monitor.ValidateJSON("data", []byte(d)); err != nil {
			errs = append(errs, err)
		} else {
			p.Data = json.RawMessage(d)
		}
	}
	if h := f.input(FieldHeaders).GetText(); strings.TrimSpace(h) != "" {
		if err := monitor.ValidateJSON("headers", []byte(h)); err != nil {
			errs = append(errs, err)
		} else if err := ablyrules.Headers([]byte(h)); err != nil {
			errs = append(errs, err)
		} else {
			p.Headers = json.RawMessage(h)
		}
	}
	n, err := strconv.Atoi(f.input(FieldCount).GetText())
	if err != nil || n < 1 || n > 100000 {
		errs = append(errs, errors.New("count: a number from 1 to 100000"))
	}
	p.Count = n
	return p, errors.Join(errs...)
}

// validate shows the first problem, or that the row is ready.
func (f *InsertForm) validate() bool {
	_, err := f.params()
	if f.mongo {
		_, _, err = f.mongoParams()
	}
	if err != nil {
		first := strings.SplitN(err.Error(), "\n", 2)[0]
		f.status.SetText(f.theme.paint(f.theme.Err, first))
		return false
	}
	f.status.SetText(f.theme.paint(f.theme.OK, "ready: Enter on Insert writes the row(s)"))
	return true
}

// submit validates and hands the params over.
func (f *InsertForm) submit() {
	if f.mongo {
		doc, n, err := f.mongoParams()
		if err != nil {
			f.validate()
			return
		}
		f.onMongo(doc, n)
		f.close()
		return
	}
	p, err := f.params()
	if err != nil {
		f.validate()
		return
	}
	if f.onSubmit != nil {
		f.onSubmit(p)
	}
	f.close()
}

// close runs onClose.
func (f *InsertForm) close() {
	if f.onClose != nil {
		f.onClose()
	}
}

// InputHandler closes on Esc from any field.
func (f *InsertForm) InputHandler() func(*tcell.EventKey, func(tview.Primitive)) {
	return f.WrapInputHandler(func(ev *tcell.EventKey, setFocus func(tview.Primitive)) {
		if ev.Key() == tcell.KeyEscape {
			f.close()
			return
		}
		f.Flex.InputHandler()(ev, setFocus)
	})
}
