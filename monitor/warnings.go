package monitor

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/livesync-dev/livesync-dev/ablyrules"
)

// Warning is one finding of the cheap checks.
type Warning struct {
	// Code is stable: empty-mutation-id, channel-invalid, headers-refused,
	// headers-not-flat, data-too-large,
	// empty-outbox, multiple-processed, out-of-order, sequence-reset,
	// rate-near-limit.
	Code string `json:"code"`
	// SequenceID is the row concerned, when there is one.
	SequenceID *int64 `json:"sequenceId,omitempty"`
	// Channel is the channel concerned, when there is one.
	Channel string `json:"channel,omitempty"`
	// Detail says what was found and why it matters.
	Detail string `json:"detail"`
}

// Bounds of the warning checks: they look only at these rows.
const (
	// warnSample is how many head rows and newest rows are inspected.
	warnSample = 200
	// maxMessageBytes is Ably's default message size limit.
	maxMessageBytes = 64 * 1024
	// channelRateLimit is Ably's per-channel publish rate.
	channelRateLimit = 50.0
	// perCodeLimit bounds the warnings of one code.
	perCodeLimit = 10
	// minRateWindow is the shortest span (seconds) a rate warning trusts.
	minRateWindow = 10
)

// warnings runs the cheap checks on the head rows and the newest rows.
func (m *Monitor) warnings(ctx context.Context, s *Snapshot) error {
	count := map[string]int{}
	warn := func(w Warning) {
		if count[w.Code] < perCodeLimit {
			s.Warnings = append(s.Warnings, w)
		}
		count[w.Code]++
	}
	o := m.opts.Names.Outbox()
	cols := `sequence_id, channel, btrim(mutation_id) = '',
  CASE WHEN NOT processed THEN headers::text END,
  octet_length(coalesce(data::text, '')) + octet_length(name) + octet_length(coalesce(headers::text, '')), NOT processed`
	q := fmt.Sprintf(`(SELECT %[2]s FROM %[1]s ORDER BY sequence_id DESC LIMIT %[3]d)
UNION
(SELECT %[2]s FROM %[1]s WHERE NOT processed ORDER BY sequence_id LIMIT %[3]d)
ORDER BY 1`, o, cols, warnSample)
	rows, err := m.db.Query(ctx, q)
	if err != nil {
		return err
	}
	perChannel := map[string]int{}
	sampled := 0
	err = forEachRow(rows, func(r pgx.Rows) error {
		var id int64
		var ch string
		var emptyMut, pending bool
		var headers *string
		var size int64
		if err := r.Scan(&id, &ch, &emptyMut, &headers, &size, &pending); err != nil {
			return err
		}
		sampled++
		perChannel[ch]++
		if !pending {
			return nil
		}
		if emptyMut {
			warn(Warning{Code: "empty-mutation-id", SequenceID: &id, Channel: ch,
				Detail: "mutation_id is empty: the Models SDK drops messages without x-ably-models-event-uuid"})
		}
		if err := ablyrules.Channel(ch); err != nil {
			warn(Warning{Code: "channel-invalid", SequenceID: &id, Channel: ch,
				Detail: fmt.Sprintf("this row can never publish: %v; it blocks its channel: delete row %d and write it to a valid channel (%s)", err, id, ablyrules.ChannelRules)})
		}
		if headers != nil {
			headerWarning(id, ch, *headers, warn)
		}
		if size > maxMessageBytes {
			warn(Warning{Code: "data-too-large", SequenceID: &id, Channel: ch,
				Detail: fmt.Sprintf("data + name + headers are %d bytes, over Ably's 64 KiB limit: the publish fails with 40009 and blocks the channel", size)})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if s.Outbox.MaxSequenceID == nil {
		warn(Warning{Code: "empty-outbox", Detail: "the outbox is empty: sync endpoints read MAX(sequence_id) as 0 and clients replay all history; the connector keeps the last row as a processed tombstone, so an empty table means it was emptied by hand"})
	}
	if len(s.processedIDs) > 1 {
		id := s.processedIDs[1]
		warn(Warning{Code: "multiple-processed", SequenceID: &id,
			Detail: fmt.Sprintf("%d processed rows among the newest %d rows: only the newest should remain as the tombstone", len(s.processedIDs), newestSample)})
	}
	if err := m.outOfOrder(ctx, s, warn); err != nil {
		return err
	}
	if m.resetWithin(s.At) {
		warn(Warning{Code: "sequence-reset", Detail: "MAX(sequence_id) went down within the last 2 minutes: reused ids published again within Ably's 2-minute dedupe window are silently dropped"})
	}
	if s.Rates.InsertPerSecond != nil && s.Rates.WindowSeconds >= minRateWindow && sampled > 0 {
		for ch, n := range perChannel {
			if rate := *s.Rates.InsertPerSecond * float64(n) / float64(sampled); rate >= 0.8*channelRateLimit {
				warn(Warning{Code: "rate-near-limit", Channel: ch,
					Detail: fmt.Sprintf("about %.0f msg/s on this channel (from the newest rows), near Ably's 50 msg/s per-channel limit (42913)", rate)})
			}
		}
	}
	return nil
}

// headerWarning warns about a pending row's headers: refused by Ably (a
// nested value: the row can never publish), or not a flat object of strings
// (not an object: the connector ignores them; numbers and booleans publish
// but subscription filters compare strings).
func headerWarning(id int64, ch, headers string, warn func(Warning)) {
	var obj map[string]json.RawMessage
	if json.Unmarshal([]byte(headers), &obj) != nil || obj == nil {
		if headers != "null" {
			warn(Warning{Code: "headers-not-flat", SequenceID: &id, Channel: ch,
				Detail: "headers is not a JSON object: the connector ignores it (Ably message headers are a flat object)"})
		}
		return
	}
	if err := ablyrules.Headers([]byte(headers)); err != nil {
		warn(Warning{Code: "headers-refused", SequenceID: &id, Channel: ch,
			Detail: fmt.Sprintf("this row can never publish: %v; it blocks its channel: delete row %d and write it with flat headers", err, id)})
		return
	}
	for _, v := range obj {
		if len(v) > 0 && v[0] != '"' {
			warn(Warning{Code: "headers-not-flat", SequenceID: &id, Channel: ch,
				Detail: "headers has non-string values: Ably publishes them, but subscription filters compare headers as strings"})
			return
		}
	}
}

// outOfOrder warns about pending rows below the tombstone on the
// tombstone's own channel: they will be published after a higher id of
// the same channel (serial values are taken at INSERT, rows become visible
// at COMMIT). Rows of other channels are not out of order: ordering is
// promised per channel only.
func (m *Monitor) outOfOrder(ctx context.Context, s *Snapshot, warn func(Warning)) error {
	if s.Outbox.TombstoneSequenceID == nil {
		return nil
	}
	t := *s.Outbox.TombstoneSequenceID
	o := m.opts.Names.Outbox()
	from := o
	if !s.Indexes.ChannelPending {
		// Without the (channel, sequence_id) index look only at the oldest
		// pending rows: a scan for one channel's rows could read the table.
		from = fmt.Sprintf("(SELECT sequence_id, channel, processed FROM %s WHERE NOT processed ORDER BY sequence_id LIMIT %d) p", o, warnSample)
	}
	rows, err := m.db.Query(ctx, fmt.Sprintf(`SELECT sequence_id, channel FROM %[2]s WHERE NOT processed AND sequence_id < $1
  AND channel = (SELECT channel FROM %[1]s WHERE sequence_id = $1)
ORDER BY sequence_id LIMIT 5`, o, from), t)
	if err != nil {
		return err
	}
	return forEachRow(rows, func(r pgx.Rows) error {
		var id int64
		var ch string
		if err := r.Scan(&id, &ch); err != nil {
			return err
		}
		warn(Warning{Code: "out-of-order", SequenceID: &id, Channel: ch,
			Detail: fmt.Sprintf("row %d is pending below the published row %d of the same channel %s: it is published after a higher id (commit order differs from insert order)", id, t, ch)})
		return nil
	})
}
