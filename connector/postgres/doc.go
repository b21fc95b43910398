// Package postgres is the LiveSync Postgres outbox connector: node leases
// in the nodes table, batched claims of outbox rows, strictly ordered
// publishing per channel across nodes, batched completion with one
// processed tombstone, LISTEN/NOTIFY with a leading-edge debounce (a busy
// outbox, where a claim found rows within pollInterval, is claimed
// continuously instead), and /health, /metrics and /debug/state (a
// connector.NodeState, also returned in process by Node.State) per node.
//
// All leases use the database clock: expiry and lock_expiry are
// timestamps without time zone holding UTC, compared with
// now() AT TIME ZONE 'utc'. Node clocks only time local deadlines, which
// are conservative (taken before the statement that set the lock).
//
// Node lease (nodes table row):
//
//	       Start: INSERT (id, now + heartbeatTimeout)
//	                  |
//	                  v
//	+-------------> LIVE --- every heartbeatTimeout/3: expiry = now + timeout;
//	|                 |  |   reap rows with expiry < now
//	| row gone at     |  +-- Stop: release unsent rows, complete ACKed, DELETE row
//	| next heartbeat: |
//	+-- re-INSERT <-- EXPIRED (missed heartbeats; another node reaps it)
//
// Work sharing: the live node ids sorted form shares 0..n-1; channel c
// belongs to share mod(hashtext(c) + 2^31, n). Ownership alone does not
// keep order during membership changes; the row locks and these rules do.
//
// Row lock (outbox row) and per-channel order:
//
//	UNLOCKED --claim--> LOCKED(me, now+lockTTL) --ACK--> ACKED --complete--> DELETED, or
//	  ^  ^                |   |   ^                                         TOMBSTONE (the max
//	  |  |                |   |   +-- fence: confirm the row's lock before     sequence_id,
//	  |  |                |   |       every attempt, extending it once a third processed = true)
//	  |  |                |   |       of lockTTL has passed (batched across
//	  |  |                |   |       channels, requested up to fenceAhead
//	  |  |                |   |       rows early so the round overlaps the
//	  |  |                |   |       ACKs before; lazyFence: only before a retry or
//	  |  |                |   |       when older than lockTTL/3); a row whose
//	  |  |                |   |       lock is not confirmed is never sent
//	  |  +- lock_expiry --+   +-- permanent error: release; channel BLOCKED
//	  |     lapses (node died)    until the blocking row is deleted, changed
//	  |                           or released by `outbox retry` (re-checked
//	  |                           every min(2s, safetyPoll, heartbeat/3):
//	  |                           gone, content differs from the version that
//	  |                           failed, or xmin differs from the version
//	  |                           after the node's own release)
//	  +---- Stop: release unsent rows
//
// Per channel, across nodes:
//
//	head row h = lowest unprocessed row of channel C
//	  h locked live by another node          -> C skipped (that node publishes it)
//	  h row-locked by another transaction    -> C skipped this round
//	  else this node takes h, h+1, ... while each is free (a contiguous prefix)
//	  publish h; wait ACK; publish h+1; ...  (one unacknowledged message per channel)
//	  failure on h                           -> C stops; retry h (backoff) or block
//
// Isolation: a claim takes at most batchSize rows per channel (against
// real Ably, no more than it can publish at 50 msg/s before its lock
// deadline), counting the rows the node holds of it. Channels that are
// blocked, retrying their head or full are excluded from claims, and the
// rows of retrying channels do not count against the node's in-memory cap
// (4 × batchSize), so one failing channel never stops claims for others.
//
// A claim (one transaction) takes a channel only when: it hashes to this
// node; pg_try_advisory_xact_lock on the channel succeeds (no concurrent
// claim); no other node holds a live lock on any unprocessed row of it;
// and the rows taken form a contiguous prefix from its lowest unprocessed
// row not already held by this node (a row locked elsewhere, e.g. by an
// application transaction, ends the prefix: the channel waits this round).
// A node publishes a channel with at most one unacknowledged message and
// stops at the first failure, so row N+1 never overtakes row N; it stops
// sending under a lock at (lock set) + lockTTL − lockTTL/5.
//
// Completion runs in batches within completionFlush of the ACK, serialised
// across nodes by an advisory lock whose wait is bounded by lock_timeout
// (a failed wait is retried with backoff): rows below the table's max
// sequence_id are deleted, the max stays processed = true, and each node
// deletes its own older tombstones once a higher row exists. A completion
// that leaves a new tombstone also deletes processed rows among the 256
// rows below it. At start, and when a heartbeat sees that a node left
// (stopped or reaped), a node sweeps processed rows below the max and
// adopts the remaining one as its own tombstone; so, unless processed rows
// are retained, exactly one processed row remains after any sequence of
// starts, stops, kills and reaps.
//
// Stalls: every connector connection sets statement_timeout, lock_timeout
// and idle_in_transaction_session_timeout (statementTimeout 30s,
// lockTimeout 5s, idleInTransactionTimeout 10s), so a node stopped inside a
// transaction (SIGSTOP) loses it and its locks instead of stalling others.
// A publish still unacknowledged at its row's lock deadline resets every
// realtime connection of the node opened before it started: ably-go re-sends unacknowledged messages when its
// transport returns, and after the deadline another node may own the row.
// A node that wakes after a stall finds its lease gone (it registers
// again), its fence fails for rows taken over (it drops them) and its old
// publishes past their deadline (it resets the connections). The reset
// races ably-go's own reconnect on wake-up; Ably's 2-minute dedupe window
// covers a re-send within it.
package postgres
