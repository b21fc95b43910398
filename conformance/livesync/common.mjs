// Shared helpers for the LiveSync end-to-end scripts: read the sandbox state
// file, open ably-js clients against its endpoint, and small utilities.
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import Ably from 'ably';

// sandbox reads .livesync/sandbox.json from $SANDBOX_JSON.
export function sandbox() {
  const path = process.env.SANDBOX_JSON;
  if (!path) throw new Error('SANDBOX_JSON must name the sandbox state file (.livesync/sandbox.json)');
  const doc = JSON.parse(readFileSync(path, 'utf8'));
  if (!doc.postgres?.url) throw new Error(`${path}: no postgres.url`);
  if (!doc.ably?.host || !doc.ably?.port || !doc.ably?.key) throw new Error(`${path}: no local ably endpoint`);
  return doc;
}

// realtime opens an unmodified ably-js Realtime client against the endpoint
// and resolves once it is connected.
export async function realtime(ably, useBinaryProtocol) {
  const client = new Ably.Realtime({
    key: ably.key,
    endpoint: ably.host,
    port: ably.port,
    tls: Boolean(ably.tls),
    useBinaryProtocol,
    logLevel: 0,
  });
  await client.connection.whenState('connected');
  return client;
}

export function runId() {
  return randomBytes(4).toString('hex');
}

// within rejects with a message naming what timed out.
export function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// pollUntil calls fn until it returns a truthy value or the deadline passes.
export async function pollUntil(ms, what, fn, every = 50) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = await fn();
    if (last?.ok) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}; last: ${JSON.stringify(last)}`);
    await sleep(every);
  }
}
