// Package postgres is the LiveSync Postgres outbox connector: node leases
// in the nodes table, batched claims of outbox rows, strictly ordered
// publishing per channel across nodes, batched completion with one
// processed tombstone, LISTEN/NOTIFY with a leading-edge debounce (a busy
// outbox, where a claim found rows within pollInterval, is claimed
// continuously instead), and /health, /metrics and /debug/state per node.
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
//	  |  |                |   |   +-- fence: extend the row's lock before      sequence_id,
//	  |  |                |   |       every attempt (batched across            processed = true)
//	  |  |                |   |       channels, overlapped with the previous
//	  |  |                |   |       ACK; lazyFence: only before a retry or
//	  |  |                |   |       when older than lockTTL/3); a row whose
//	  |  |                |   |       lock cannot be extended is never sent
//	  |  +- lock_expiry --+   +-- permanent error: release; channel BLOCKED
//	  |     lapses (node died)    until the blocking row is gone
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
// across nodes by an advisory lock: rows below the table's max sequence_id
// are deleted, the max stays processed = true, and each node deletes its
// own older tombstones once a higher row exists (tombstones of dead nodes
// are swept after reaping them, unless processed rows are retained),
// leaving exactly one processed row.
package postgres
