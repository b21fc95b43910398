// The Ably Models SDK (@ably-labs/models, on unmodified ably-js) against
// the LiveSync connector: a model syncs from Postgres, then one optimistic
// mutation is confirmed by an outbox row with the same mutation_id and a
// second is rolled back by a rejected outbox row. Prints one JSON summary
// line. Needs SANDBOX_JSON and a connector running against that sandbox.
import { isDeepStrictEqual } from 'node:util';
import pg from 'pg';
import Models from '@ably-labs/models';
import { sandbox, realtime, runId, within, pollUntil } from './common.mjs';

// The package has no "exports" map, so Node loads its CommonJS build:
// the default import is module.exports and the client is its .default.
const ModelsClient = Models.default ?? Models;
const TIMEOUT = Number(process.env.STEP_TIMEOUT_MS || 15000);

const sb = sandbox();
const run = runId();
const channelName = `livesync-models-${run}`;
const appTable = `models_app_${run}`;
const db = new pg.Client({ connectionString: sb.postgres.url });
await db.connect();

// The application's backend: its own state table, changed in the same
// transaction that writes the outbox row (the LiveSync pattern). A rejected
// mutation leaves the state alone and writes a rejected outbox row. The
// sandbox's application role may not create tables in public, so the state
// table is a temporary one on this (single) connection.
await db.query(`CREATE TEMP TABLE ${appTable} (id int PRIMARY KEY, count int NOT NULL, tags jsonb NOT NULL)`);
await db.query(`INSERT INTO ${appTable} VALUES (1, 0, '[]')`);
async function mutate(mutationId, data, rejected = false) {
  await db.query('BEGIN');
  try {
    if (!rejected) {
      await db.query(`UPDATE ${appTable} SET count = count + $1, tags = tags || $2::jsonb WHERE id = 1`,
        [data.inc, JSON.stringify([data.tag])]);
    }
    const { rows: [r] } = await db.query(
      `INSERT INTO outbox (mutation_id, channel, name, rejected, data, headers)
       VALUES ($1, $2, 'inc', $3, $4::jsonb, '{}') RETURNING sequence_id`,
      [mutationId, channelName, rejected, JSON.stringify(data)],
    );
    await db.query('COMMIT');
    return r.sequence_id;
  } catch (err) {
    await db.query('ROLLBACK');
    throw err;
  }
}

// sync returns the state and the outbox position it corresponds to, read in
// one read-committed transaction (spec §2.3: MAX(sequence_id), not nextval).
const syncCalls = [];
async function sync() {
  await db.query('BEGIN');
  try {
    const { rows: [s] } = await db.query(`SELECT count, tags FROM ${appTable} WHERE id = 1`);
    const { rows: [m] } = await db.query('SELECT COALESCE(MAX(sequence_id), 0) AS seq FROM outbox');
    await db.query('COMMIT');
    const out = { data: { count: s.count, tags: s.tags }, sequenceId: String(m.seq) };
    syncCalls.push(out);
    return out;
  } catch (err) {
    await db.query('ROLLBACK');
    throw err;
  }
}

function merge(state, event) {
  return { count: state.count + event.data.inc, tags: [...state.tags, event.data.tag] };
}

const summary = { run, channelName };
const ably = await realtime(sb.ably, true);
const models = new ModelsClient({
  ably,
  logLevel: process.env.MODELS_LOG_LEVEL || 'silent',
  optimisticEventOptions: { timeout: 2 * TIMEOUT }, // a lost confirmation fails on our own timeout first
});
let model;
try {
  // A confirmed change made before the client loads, published and processed,
  // so the model's sync position is a real message in the channel's history.
  const seedSeq = await mutate(`${run}-seed`, { inc: 1, tag: 'seed' });
  await pollUntil(TIMEOUT, 'seed row published', async () => {
    const { rows } = await db.query('SELECT processed FROM outbox WHERE sequence_id = $1', [seedSeq]);
    return { ok: rows.length === 0 || rows[0].processed };
  });
  summary.seedSequenceId = seedSeq;

  model = models.models.get({ name: 'counter', channelName, sync, merge });
  // The SDK refuses subscribe() on a model that has not synced yet.
  await within(TIMEOUT, 'model sync', model.sync());
  const updates = [];
  model.subscribe((err, data) => updates.push(err ? { error: String(err) } : data));
  summary.state = model.state;
  summary.sync = syncCalls[0];
  summary.synced = { confirmed: model.data.confirmed, optimistic: model.data.optimistic };

  // (a) confirmed by an outbox row with the same mutation_id.
  const m1 = `${run}-a`;
  const [confirmA] = await model.optimistic({ mutationId: m1, name: 'inc', data: { inc: 5, tag: 'a' } });
  summary.a = { optimisticBefore: model.data.optimistic, confirmedBefore: model.data.confirmed };
  summary.a.sequenceId = await mutate(m1, { inc: 5, tag: 'a' });
  await within(TIMEOUT, 'confirmation of mutation a', confirmA);
  summary.a.resolved = true;
  summary.a.confirmed = model.data.confirmed;
  summary.a.optimistic = model.data.optimistic;

  // (b) rolled back by a rejected outbox row with the same mutation_id.
  const m2 = `${run}-b`;
  const [confirmB] = await model.optimistic({ mutationId: m2, name: 'inc', data: { inc: 7, tag: 'b' } });
  summary.b = { optimisticBefore: model.data.optimistic };
  summary.b.sequenceId = await mutate(m2, { inc: 7, tag: 'b' }, true);
  try {
    await within(TIMEOUT, 'rejection of mutation b', confirmB);
    summary.b.resolved = true; // wrong: a rejected row must not confirm
  } catch (err) {
    summary.b.rejectedWith = String(err?.message || err);
  }
  // The rollback recomputes the optimistic view from confirmed state; wait
  // for it rather than assuming it is synchronous with the rejection.
  try {
    await pollUntil(TIMEOUT, 'optimistic state reverts',
      async () => ({ ok: isDeepStrictEqual(model.data.optimistic, model.data.confirmed) }), 20);
  } catch (err) {
    summary.b.revertError = err.message;
  }
  summary.b.optimisticAfter = model.data.optimistic;
  summary.b.confirmedAfter = model.data.confirmed;
  summary.syncCalls = syncCalls.length;
  // Let queued subscription callbacks (setTimeout 0 in the SDK) run.
  await new Promise((r) => setTimeout(r, 0));
  summary.updates = updates;
} catch (err) {
  summary.error = String(err?.stack || err);
} finally {
  await model?.dispose().catch(() => {});
  ably.close();
  await db.query(`DROP TABLE IF EXISTS ${appTable}`).catch(() => {});
  await db.end();
}
console.log(JSON.stringify(summary));
process.exit(0);
