// End to end through the LiveSync connector: node-postgres inserts outbox
// rows, `livesync-dev connector run` publishes them, unmodified ably-js
// clients (half msgpack, half JSON) receive them.
//
// MODE=e2e (default): ROWS rows (2000) over CHANNELS channels (20), checked
// field by field; prints one JSON summary line that the Go test asserts.
// MODE=latency: single-row INSERT transactions at RATE rows/s for SECONDS s
// over CONCURRENCY node-postgres clients; prints insert-commit → receive
// latency percentiles. Needs SANDBOX_JSON (path of .livesync/sandbox.json)
// and a connector running against that sandbox.
import { isDeepStrictEqual } from 'node:util';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { sandbox, realtime, runId, within, pollUntil, sleep } from './common.mjs';

const env = process.env;
const MODE = env.MODE || 'e2e';
const now = () => performance.timeOrigin + performance.now(); // epoch ms, sub-ms precision

const sb = sandbox();
const run = runId();

// subscribe attaches every channel, even-numbered ones on a msgpack client
// and odd-numbered ones on a JSON client, and calls onMessage(ch, msg, t).
async function subscribe(names, onMessage) {
  const clients = [await realtime(sb.ably, true), await realtime(sb.ably, false)];
  await Promise.all(
    names.map((name, i) => clients[i % 2].channels.get(name).subscribe((msg) => onMessage(name, msg, now()))),
  );
  for (const name of names) {
    const ch = clients[names.indexOf(name) % 2].channels.get(name);
    if (ch.state !== 'attached') throw new Error(`channel ${name} is ${ch.state}, want attached`);
  }
  return clients;
}

function closeAll(clients) {
  for (const c of clients) c.close();
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round(sorted[i] * 100) / 100;
}

// rowFor returns row i's content, cycling through every kind of data and
// header the connector must carry.
function rowFor(i, channels) {
  const kind = i % 7;
  let data; // undefined = SQL NULL
  switch (kind) {
    case 0: data = { i, text: `row ${i} ✓ "quoted"`, nested: { list: [1, 2, { x: i }], flag: true, none: null } }; break;
    case 1: data = [i, 'a', false, null, { k: i }]; break;
    case 2: data = i + 0.5; break;
    case 3: data = `s-${i} ünïcode \n line`; break;
    case 4: data = undefined; break;
    case 5: data = i % 2 === 0; break;
    case 6: data = null; break; // JSON null (jsonb 'null'), not SQL NULL
  }
  let headers;
  if (i % 5 === 0) headers = undefined; // SQL NULL headers
  else if (i % 5 === 1) headers = {};
  else headers = { 'x-user': `u-${i}`, 'x-trace': String(i * 3) };
  return {
    mutationId: `${run}-m-${i}`,
    channel: `livesync-e2e-${run}-${i % channels}`,
    name: `evt-${kind}`,
    rejected: i % 97 === 13,
    data,
    sqlNullData: kind === 4,
    headers,
  };
}

const jsonParam = (v) => (v === undefined ? null : JSON.stringify(v));

// insertRows inserts rows in one statement and returns mutation_id → sequence_id.
async function insertRows(client, rows) {
  const params = [];
  const tuples = rows.map((r) => {
    params.push(r.mutationId, r.channel, r.name, r.rejected, jsonParam(r.data), jsonParam(r.headers));
    const b = params.length - 6;
    return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}::jsonb, $${b + 6}::jsonb)`;
  });
  const res = await client.query(
    `INSERT INTO outbox (mutation_id, channel, name, rejected, data, headers) VALUES ${tuples.join(', ')} RETURNING sequence_id, mutation_id`,
    params,
  );
  return res.rows;
}

async function e2e() {
  const ROWS = Number(env.ROWS || 2000);
  const CHANNELS = Number(env.CHANNELS || 20);
  const MULTI = Number(env.MULTI_ROW_SIZE || 100); // rows per multi-row INSERT
  const SINGLES = Number(env.SINGLE_ROWS || 100); // trailing single-row INSERTs
  const names = Array.from({ length: CHANNELS }, (_, c) => `livesync-e2e-${run}-${c}`);
  const received = []; // {channel, id, name, data, headers, encoding}
  const seen = new Map(); // id → count
  let onProgress = () => {};
  const clients = await subscribe(names, (channel, msg) => {
    received.push({ channel, id: msg.id, name: msg.name, data: msg.data, headers: msg.extras?.headers, encoding: msg.encoding });
    seen.set(msg.id, (seen.get(msg.id) || 0) + 1);
    onProgress();
  });

  const db = new pg.Client({ connectionString: sb.postgres.url });
  await db.connect();
  const rows = Array.from({ length: ROWS }, (_, i) => rowFor(i, CHANNELS));
  const byMutation = new Map(rows.map((r) => [r.mutationId, r]));
  const bySeq = new Map(); // sequence_id string → row
  const t0 = Date.now();
  const multiEnd = Math.max(0, ROWS - SINGLES);
  let statements = 0;
  for (let i = 0; i < ROWS; ) {
    const n = i < multiEnd ? Math.min(MULTI, multiEnd - i) : 1;
    for (const r of await insertRows(db, rows.slice(i, i + n))) {
      bySeq.set(String(r.sequence_id), byMutation.get(r.mutation_id));
    }
    statements++;
    i += n;
  }
  const insertMs = Date.now() - t0;

  const summary = { mode: 'e2e', run, rows: ROWS, channels: CHANNELS, statements, insertMs };
  const allIn = () => [...bySeq.keys()].every((id) => seen.has(id));
  try {
    if (!allIn()) {
      await within(Number(env.RECEIVE_TIMEOUT_MS || 40000), `receiving ${ROWS} messages`, new Promise((resolve) => {
        onProgress = () => { if (seen.size >= ROWS && allIn()) resolve(); };
        onProgress();
      }));
    }
  } catch (err) {
    summary.error = err.message;
  }
  summary.wallMs = Date.now() - t0;
  // The one deliberate wait: a short grace period after the last expected
  // message so that late duplicates (a row published twice) are counted.
  await sleep(Number(env.GRACE_MS || 750));

  const expectedIds = [...bySeq.keys()];
  summary.received = received.length;
  summary.unique = seen.size;
  summary.missing = expectedIds.filter((id) => !seen.has(id)).length;
  summary.duplicates = [...seen.values()].filter((n) => n > 1).length;
  summary.unexpected = [...seen.keys()].filter((id) => !bySeq.has(id)).length;
  summary.rejectedRows = rows.filter((r) => r.rejected).length;
  summary.msgpackChannels = Math.ceil(CHANNELS / 2);
  summary.jsonChannels = Math.floor(CHANNELS / 2);

  const problems = [];
  const lastOn = new Map();
  let orderViolations = 0;
  for (const m of received) {
    const prev = lastOn.get(m.channel);
    const seq = Number(m.id);
    if (prev !== undefined && !(seq > prev)) {
      orderViolations++;
      if (problems.length < 10) problems.push(`order: ${m.channel} got id ${m.id} after ${prev}`);
    }
    lastOn.set(m.channel, seq);
    const r = bySeq.get(m.id);
    if (!r) continue;
    const diffs = [];
    if (m.channel !== r.channel) diffs.push(`channel ${m.channel} want ${r.channel}`);
    if (m.name !== r.name) diffs.push(`name ${JSON.stringify(m.name)} want ${JSON.stringify(r.name)}`);
    if (r.sqlNullData) {
      if (m.data !== undefined && m.data !== null) diffs.push(`data ${JSON.stringify(m.data)} want none (SQL NULL)`);
    } else if (!isDeepStrictEqual(m.data, r.data)) {
      diffs.push(`data ${JSON.stringify(m.data)} (${typeof m.data}) want ${JSON.stringify(r.data)}`);
    }
    if (m.encoding) diffs.push(`encoding ${m.encoding} left undecoded`);
    const want = { ...(r.headers || {}), 'x-ably-models-event-uuid': r.mutationId };
    if (r.rejected) want['x-ably-models-reject'] = 'true';
    if (!isDeepStrictEqual(m.headers, want)) diffs.push(`headers ${JSON.stringify(m.headers)} want ${JSON.stringify(want)}`);
    if (diffs.length) {
      summary.fieldMismatches = (summary.fieldMismatches || 0) + 1;
      if (problems.length < 10) problems.push(`id ${m.id}: ${diffs.join('; ')}`);
    }
  }
  summary.orderViolations = orderViolations;
  summary.fieldMismatches = summary.fieldMismatches || 0;
  summary.rejectHeaders = received.filter((m) => m.headers?.['x-ably-models-reject'] !== undefined).length;
  summary.problems = problems;

  // The connector deletes published rows but keeps the max sequence_id as a
  // processed tombstone.
  const maxSeq = Math.max(...expectedIds.map(Number));
  try {
    const last = await pollUntil(Number(env.OUTBOX_TIMEOUT_MS || 15000), 'outbox drained to the tombstone', async () => {
      const { rows: [s] } = await db.query(
        `SELECT count(*)::int AS n, max(sequence_id) AS max, bool_and(processed) AS processed FROM outbox`,
      );
      return { ok: s.n === 1 && s.max === maxSeq && s.processed === true, ...s };
    }, 100);
    summary.outbox = { rows: last.n, maxSequenceId: last.max, processed: last.processed };
  } catch (err) {
    summary.outbox = { error: err.message };
  }
  summary.maxSequenceId = maxSeq;
  await db.end();
  closeAll(clients);
  console.log(JSON.stringify(summary));
}

async function latency() {
  const RATE = Number(env.RATE || 1000);
  const SECONDS = Number(env.SECONDS || 10);
  const CHANNELS = Number(env.CHANNELS || 10);
  const CONCURRENCY = Number(env.CONCURRENCY || 4);
  const total = Math.round(RATE * SECONDS);
  const names = Array.from({ length: CHANNELS }, (_, c) => `livesync-lat-${run}-${c}`);
  const recvAt = new Map(); // mutation_id → receive time
  const sentAt = new Map(); // mutation_id → insert start time (also in data.t0)
  const commitAt = new Map(); // mutation_id → insert-commit time
  let onProgress = () => {};
  const clients = await subscribe(names, (_channel, msg, t) => {
    const mid = msg.extras?.headers?.['x-ably-models-event-uuid'];
    if (mid && !recvAt.has(mid)) recvAt.set(mid, t);
    onProgress();
  });
  const dbs = await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    const c = new pg.Client({ connectionString: sb.postgres.url });
    await c.connect();
    return c;
  }));

  let next = 0;
  const start = now();
  const worker = async (db) => {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      const due = start + (i * 1000) / RATE;
      const wait = due - now();
      if (wait > 1) await sleep(wait);
      const mid = `${run}-l-${i}`;
      const t0 = now();
      sentAt.set(mid, t0);
      // One statement outside a transaction block: a single-row transaction.
      await db.query(
        'INSERT INTO outbox (mutation_id, channel, name, data, headers) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb)',
        [mid, names[i % CHANNELS], 'lat', JSON.stringify({ i, t0 }), JSON.stringify({ t0: String(t0) })],
      );
      commitAt.set(mid, now());
    }
  };
  await Promise.all(dbs.map(worker));
  const insertSeconds = (now() - start) / 1000;
  let error;
  try {
    await within(30000, `receiving ${total} messages`, new Promise((resolve) => {
      onProgress = () => { if (recvAt.size >= total) resolve(); };
      onProgress();
    }));
  } catch (err) {
    error = err.message;
  }
  const fromCommit = [];
  const fromStart = [];
  let recvBeforeCommitCallback = 0;
  for (const [mid, t] of recvAt) {
    if (!commitAt.has(mid)) continue;
    const d = t - commitAt.get(mid);
    if (d < 0) recvBeforeCommitCallback++;
    fromCommit.push(Math.max(0, d));
    fromStart.push(t - sentAt.get(mid));
  }
  fromCommit.sort((a, b) => a - b);
  fromStart.sort((a, b) => a - b);
  const stats = (xs) => ({ p50: percentile(xs, 50), p95: percentile(xs, 95), p99: percentile(xs, 99), max: percentile(xs, 100) });
  console.log(JSON.stringify({
    mode: 'latency',
    targetRate: RATE,
    seconds: SECONDS,
    concurrency: CONCURRENCY,
    channels: CHANNELS,
    inserted: total,
    received: recvAt.size,
    achievedRate: Math.round(total / insertSeconds),
    commitToReceiveMs: stats(fromCommit),
    insertStartToReceiveMs: stats(fromStart),
    recvBeforeCommitCallback,
    error,
  }));
  await Promise.all(dbs.map((c) => c.end()));
  closeAll(clients);
}

try {
  await (MODE === 'latency' ? latency() : e2e());
  process.exit(0);
} catch (err) {
  console.error(err?.stack || err);
  process.exit(1);
}
