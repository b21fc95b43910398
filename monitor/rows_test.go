package monitor_test

import (
	"context"
	"strings"
	"testing"

	"github.com/livesync-dev/livesync-dev/internal/pgtest"
	"github.com/livesync-dev/livesync-dev/monitor"
)

func TestOutboxListTextChannelAndPaging(t *testing.T) {
	db := pgtest.NewDB(t)
	m := newMonitor(t, db, monitor.Options{})
	ctx := context.Background()
	if _, err := m.OutboxInsert(ctx, monitor.OutboxInsertParams{Channel: "orders", Name: "created", Data: []byte(`{"sku":"Blue_50%"}`), Count: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.OutboxInsert(ctx, monitor.OutboxInsertParams{Channel: "users", Name: "created", Data: []byte(`{"sku":"Blue"}`)}); err != nil {
		t.Fatal(err)
	}
	rows, err := m.OutboxList(ctx, monitor.OutboxListParams{Text: "blue_50%"})
	if err != nil || len(rows) != 3 {
		t.Fatalf("text filter: %d rows (%v)", len(rows), err)
	}
	rows, err = m.OutboxList(ctx, monitor.OutboxListParams{Text: "blue", Channel: "users"})
	if err != nil || len(rows) != 1 || rows[0].SequenceID != 4 || string(rows[0].Headers) != "null" {
		t.Fatalf("channel+text: %+v (%v)", rows, err)
	}
	rows, err = m.OutboxList(ctx, monitor.OutboxListParams{After: 1, Limit: 2})
	if err != nil || len(rows) != 2 || rows[0].SequenceID != 2 || rows[1].SequenceID != 3 {
		t.Fatalf("page after 1: %+v (%v)", rows, err)
	}
	sql, err := m.OutboxActionSQL("delete", monitor.OutboxActionParams{IDs: []int64{2, 3}})
	if err != nil || !strings.Contains(sql, `DELETE FROM "public"."outbox" WHERE sequence_id = ANY(ARRAY[2, 3]::bigint[])`) {
		t.Fatalf("shown SQL %q (%v)", sql, err)
	}
	sql, _ = m.OutboxActionSQL("retry", monitor.OutboxActionParams{ByFilter: true, Filter: monitor.PendingRows, Channel: "o'rders"})
	if !strings.Contains(sql, "channel = 'o''rders'") {
		t.Fatalf("shown SQL %q", sql)
	}
}
