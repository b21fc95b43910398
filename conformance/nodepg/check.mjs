// Connects with the sandbox's postgres.url exactly as given (PG_URL), writes
// an outbox row as an app would, and checks that jsonb refuses non-JSON.
// Prints one JSON line with what it saw; exits non-zero on any failure.
import pg from 'pg';

const url = process.env.PG_URL;
if (!url) {
  console.error('PG_URL is not set');
  process.exit(2);
}
const client = new pg.Client({ connectionString: url });
await client.connect();
try {
  const ins = await client.query(
    "INSERT INTO outbox (mutation_id, channel, name, data, headers) VALUES ($1, $2, $3, $4, $5) RETURNING sequence_id",
    ['node-pg-1', 'node:check', 'hello', { x: 1 }, { source: 'node-pg' }],
  );
  let rejectedNonJSON = false;
  try {
    await client.query("INSERT INTO outbox (mutation_id, channel, name, data) VALUES ('m', 'c', 'n', 'New comment!')");
  } catch (e) {
    rejectedNonJSON = e.code === '22P02';
  }
  const ssl = await client.query('SHOW ssl');
  console.log(JSON.stringify({ sequenceId: Number(ins.rows[0].sequence_id), rejectedNonJSON, serverSSL: ssl.rows[0].ssl }));
} finally {
  await client.end();
}
