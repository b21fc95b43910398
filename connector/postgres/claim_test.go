package postgres

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// claimRow is one outbox row of TestOutboxClaimPrefixRules: its channel
// and the lock it starts with.
type claimRow struct {
	channel string
	lock    string // "": free; "held": ours, live, in Held; "mine": ours, live, not in Held;
	// "other": another node's, live; "lapsed-other" / "lapsed-held": lapsed, by them / by us and in Held;
	// "rowlock": free but row-locked by an open transaction
}

// TestOutboxClaimPrefixRules checks what one claim takes per channel: only
// the contiguous prefix of its unprocessed rows (held rows count as part of
// it; a row locked elsewhere, locked by us without being held, held with a
// lapsed lock, or row-locked by a transaction ends it), nothing of a
// channel another node holds a live lock in, a lapsed lock taken over with
// its previous holder, at most ChannelCap or Room rows per channel and
// Limit rows in all, in sequence_id order.
func TestOutboxClaimPrefixRules(t *testing.T) {
	e := newEnv(t)
	const me, other = "claim-me", "claim-other"
	// Interleaved so every channel's rows are spread over the sequence.
	layout := [][]claimRow{
		{{"held", "held"}, {"gap-self", "mine"}, {"rowlock", ""}, {"other", "other"}, {"takeover", "lapsed-other"}, {"lapsed-held", "lapsed-held"}, {"room", ""}, {"cap", ""}},
		{{"held", "held"}, {"gap-self", ""}, {"rowlock", "rowlock"}, {"other", ""}, {"takeover", ""}, {"lapsed-held", ""}, {"room", ""}, {"cap", ""}},
		{{"held", ""}, {"gap-self", ""}, {"rowlock", ""}, {"room", ""}, {"cap", ""}},
		{{"held", ""}, {"room", ""}, {"cap", ""}},
		{{"held", ""}, {"cap", ""}, {"cap", ""}},
	}
	var held []int64
	var rowlocked int64
	var seq int64
	byChannel := map[string][]int64{}
	for _, round := range layout {
		for _, r := range round {
			seq++
			e.exec(t, `INSERT INTO outbox (sequence_id, mutation_id, channel, name, data) VALUES ($1, $2, $3, 'ev', '{}')`, seq, fmt.Sprint("m", seq), r.channel)
			byChannel[r.channel] = append(byChannel[r.channel], seq)
			lock := func(node, ttl string) {
				e.exec(t, `UPDATE outbox SET locked_by = $1, lock_expiry = (now() AT TIME ZONE 'utc') + $2::interval WHERE sequence_id = $3`, node, ttl, seq)
			}
			switch r.lock {
			case "held":
				lock(me, "30 seconds")
				held = append(held, seq)
			case "mine":
				lock(me, "30 seconds")
			case "other":
				lock(other, "30 seconds")
			case "lapsed-other":
				lock(other, "-1 second")
			case "lapsed-held":
				lock(me, "-1 second")
				held = append(held, seq)
			case "rowlock":
				rowlocked = seq
			}
		}
	}
	ctx := context.Background()
	tx, err := e.db.Admin(t).Begin(ctx) // its own connection: e.exec must not run inside it
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SELECT 1 FROM outbox WHERE sequence_id = $1 FOR UPDATE`, rowlocked); err != nil {
		t.Fatal(err)
	}

	s := e.store(t, "claim test")
	if err := s.NodeRegister(ctx, NodeRegisterParams{ID: me, Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	ch := func(name string, idx ...int) []int64 {
		var out []int64
		for _, i := range idx {
			out = append(out, byChannel[name][i])
		}
		return out
	}
	// What each channel may take: held's rows after its held ones,
	// rowlock's row before the locked one, takeover both, room 2, cap 4;
	// nothing of gap-self, other and lapsed-held.
	want := map[string][]int64{
		"held":     ch("held", 2, 3, 4),
		"rowlock":  ch("rowlock", 0),
		"takeover": ch("takeover", 0, 1),
		"room":     ch("room", 0, 1),
		"cap":      ch("cap", 0, 1, 2, 3),
	}
	var wantAll []int64
	for _, ids := range want {
		wantAll = append(wantAll, ids...)
	}
	slices.Sort(wantAll)

	claim := func(limit int) OutboxClaimResult {
		t.Helper()
		res, err := s.OutboxClaim(ctx, OutboxClaimParams{Node: me, Limit: limit, LockTTL: 30 * time.Second, Held: held,
			ChannelCap: 4, Room: map[string]int{"room": 2}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	ids := func(res OutboxClaimResult) []int64 {
		var out []int64
		for _, r := range res.Rows {
			out = append(out, r.SequenceID)
		}
		return out
	}

	// A claim limited to 3 rows takes at most 3, each channel's the start
	// of what it may take.
	small := claim(3)
	if len(small.Rows) == 0 || len(small.Rows) > 3 {
		t.Fatalf("claim with Limit 3 took %v", ids(small))
	}
	taken := map[string]int{}
	for _, r := range small.Rows {
		if i := taken[r.Channel]; i >= len(want[r.Channel]) || want[r.Channel][i] != r.SequenceID {
			t.Fatalf("claim with Limit 3 took %v: row %d is not next on %s (may take %v)", ids(small), r.SequenceID, r.Channel, want[r.Channel])
		}
		taken[r.Channel]++
	}
	e.exec(t, `UPDATE outbox SET locked_by = NULL, lock_expiry = NULL WHERE sequence_id = ANY($1)`, ids(small))
	e.exec(t, `UPDATE outbox SET locked_by = $1, lock_expiry = (now() AT TIME ZONE 'utc') - interval '1 second' WHERE sequence_id = $2`, other, byChannel["takeover"][0])

	res := claim(100)
	if got := ids(res); !slices.Equal(got, wantAll) {
		t.Fatalf("claim took %v, want %v (per channel %v)", got, wantAll, want)
	}
	for _, r := range res.Rows {
		wantPrev := ""
		if r.SequenceID == byChannel["takeover"][0] {
			wantPrev = other
		}
		if r.PreviousHolder != wantPrev {
			t.Errorf("row %d: previous holder %q, want %q", r.SequenceID, r.PreviousHolder, wantPrev)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM outbox WHERE sequence_id = ANY($1) AND locked_by = $2 AND lock_expiry > (now() AT TIME ZONE 'utc') + interval '25 seconds'`, wantAll, me); n != int64(len(wantAll)) {
		t.Errorf("%d of the %d claimed rows are locked by the node for ~30 s", n, len(wantAll))
	}
	for name, want := range map[string]int64{"gap-self": 1, "other": 0, "lapsed-held": 0} {
		if n := e.count(t, `SELECT count(*) FROM outbox WHERE channel = $1 AND locked_by = $2 AND lock_expiry > (now() AT TIME ZONE 'utc')`, name, me); n != want {
			t.Errorf("channel %s: %d rows under a live lock of the node, want %d", name, n, want)
		}
	}
}
