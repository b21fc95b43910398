package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/livesync-dev/livesync-dev/ablyrules"
)

// OutboxInsertParams describe rows to write, as an application would.
type OutboxInsertParams struct {
	// Channel and Name are required.
	Channel, Name string
	// Data is the JSON payload; nil writes SQL NULL.
	Data json.RawMessage
	// Headers is a JSON object; nil writes SQL NULL.
	Headers json.RawMessage
	// MutationID is used for every row; empty generates a UUID per row.
	MutationID string
	// Rejected marks the rows as rejections of the client's mutation.
	Rejected bool
	// Count is how many rows to write (default 1), in one transaction and
	// one INSERT statement (so one NOTIFY).
	Count int
}

// JSONError is invalid JSON, located in the input.
type JSONError struct {
	// Field names the input ("--data", "--headers").
	Field string
	// Line and Column are 1-based; Offset is the 0-based byte offset.
	Line, Column, Offset int
	// Msg is the parser's message.
	Msg string
}

// Error implements error.
func (e *JSONError) Error() string {
	return fmt.Sprintf("%s is not valid JSON: %s at line %d, column %d (offset %d)", e.Field, e.Msg, e.Line, e.Column, e.Offset)
}

// ValidateJSON checks that b holds exactly one JSON value and locates the
// first error. field names the input in the message.
func ValidateJSON(field string, b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	var v json.RawMessage
	err := dec.Decode(&v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			return locate(field, b, int(dec.InputOffset()), "unexpected data after the JSON value")
		}
		return nil
	}
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		off := int(syn.Offset)
		if off > 0 {
			off-- // Offset counts the offending byte
		}
		return locate(field, b, off, syn.Error())
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return locate(field, b, len(b), "unexpected end of JSON input")
	}
	return locate(field, b, int(dec.InputOffset()), err.Error())
}

// locate builds a JSONError for byte offset off of b.
func locate(field string, b []byte, off int, msg string) error {
	off = min(max(off, 0), len(b))
	line, col := 1, 1
	for _, c := range b[:off] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return &JSONError{Field: field, Line: line, Column: col, Offset: off, Msg: msg}
}

// Validate checks the params before anything is written.
func (p OutboxInsertParams) Validate() error {
	if p.Channel == "" || p.Name == "" {
		return errors.New("a channel and a name are required")
	}
	if err := ablyrules.Channel(p.Channel); err != nil {
		return fmt.Errorf("%w; %s", err, ablyrules.ChannelRules)
	}
	if p.Count < 0 || p.Count > 100000 {
		return fmt.Errorf("count %d is out of range: use 1-100000", p.Count)
	}
	if p.Data != nil {
		if err := ValidateJSON("data", p.Data); err != nil {
			return err
		}
	}
	if p.Headers != nil {
		if err := ValidateJSON("headers", p.Headers); err != nil {
			return err
		}
		if err := ablyrules.Headers(p.Headers); err != nil {
			return err
		}
	}
	return nil
}

// OutboxInsert writes Count rows in one transaction and returns their
// sequence ids in order. Nothing is written when the params are invalid.
func (m *Monitor) OutboxInsert(ctx context.Context, p OutboxInsertParams) ([]int64, error) {
	rows, err := m.OutboxInsertRows(ctx, p)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.SequenceID
	}
	return ids, nil
}

// InsertedRow is a row OutboxInsertRows wrote.
type InsertedRow struct {
	// SequenceID is the row's id (its Ably message id).
	SequenceID int64 `json:"sequenceId"`
	// MutationID is the mutation id it was written with (given, or a new
	// UUID), what `outbox trace --mutation` finds it by.
	MutationID string `json:"mutationId"`
}

// OutboxInsertRows is OutboxInsert returning each row's mutation id too,
// in sequence id order.
func (m *Monitor) OutboxInsertRows(ctx context.Context, p OutboxInsertParams) ([]InsertedRow, error) {
	if m.opts.ReadOnly {
		return nil, ErrReadOnly
	}
	if p.Count == 0 {
		p.Count = 1
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	muts := make([]string, p.Count)
	for i := range muts {
		muts[i] = p.MutationID
		if muts[i] == "" {
			muts[i] = uuid.NewString()
		}
	}
	var data, headers *string
	if p.Data != nil {
		s := string(p.Data)
		data = &s
	}
	if p.Headers != nil {
		s := string(p.Headers)
		headers = &s
	}
	tx, err := m.db.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after Commit
	q := fmt.Sprintf(`INSERT INTO %s (mutation_id, channel, name, rejected, data, headers)
SELECT m, $2, $3, $4, $5::jsonb, $6::jsonb FROM unnest($1::text[]) WITH ORDINALITY AS u(m, i) ORDER BY i
RETURNING sequence_id, mutation_id`, m.opts.Names.Outbox())
	rows, err := tx.Query(ctx, q, muts, p.Channel, p.Name, p.Rejected, data, headers)
	if err != nil {
		return nil, m.explainWrite("insert", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (InsertedRow, error) {
		var ir InsertedRow
		err := r.Scan(&ir.SequenceID, &ir.MutationID)
		return ir, err
	})
	if err != nil {
		return nil, m.explainWrite("insert", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, m.explainWrite("insert", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SequenceID < out[j].SequenceID })
	return out, nil
}
