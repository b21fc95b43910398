// Conformance cases for idempotency, batch publish, channel status, error
// codes (40010, 40009, 40160, 401xx), token auth and ping.
import assert from 'node:assert/strict';
import {
  Ably, basicAuth, collect, describeErr, expectAblyError, uniq, waitState, within,
} from './harness.mjs';

const BAD_CHANNEL = ':bad-name';
const BIG = 'x'.repeat(70 * 1024);

/** Sends a raw REST POST (bypassing the SDK) and returns {status, code}. */
async function rawPost(ctx, path, body) {
  const res = await within(fetch(`http://${ctx.addr}${path}`, {
    method: 'POST',
    headers: {
      Authorization: basicAuth(ctx.key),
      'Content-Type': 'application/json',
      Accept: 'application/json',
    },
    body: JSON.stringify(body),
  }), `raw POST ${path}`);
  const text = await res.text();
  let parsed = null;
  try { parsed = JSON.parse(text); } catch { /* checked below */ }
  return {
    status: res.status,
    code: parsed?.error?.code,
    headerCode: Number(res.headers.get('x-ably-errorcode')),
    contentType: res.headers.get('content-type'),
    text,
  };
}

/** Asserts a raw response is an Ably error with the given status and code. */
function assertRawError(res, status, code) {
  const ctx = `got HTTP ${res.status} ${res.contentType}: ${res.text.slice(0, 200)}`;
  assert.equal(res.status, status, ctx);
  assert.equal(res.code, code, ctx);
  assert.equal(res.headerCode, code, `X-Ably-Errorcode; ${ctx}`);
  assert.equal(res.contentType, 'application/json', ctx);
}

/** Limit, auth and error cases, in run order. */
export const limitCases = [
  ['dedupe-rest', async (ctx) => {
    const name = uniq('dedupe');
    const rt = ctx.realtime();
    const sub = collect(rt.channels.get(name));
    await sub.attached;
    const ch = ctx.rest().channels.get(name);
    const id = uniq('fixed-id');
    await within(ch.publish({ id, name: 'dup', data: 'first' }), 'first publish');
    await within(ch.publish({ id, name: 'dup', data: 'first' }), 'second publish (same id)');
    await within(ch.publish({ name: 'sentinel', data: 'end' }), 'sentinel publish');
    const a = await sub.next('dup');
    assert.equal(a.id, id, 'explicit id kept');
    const b = await sub.next('sentinel');
    assert.equal(b.name, 'sentinel', `duplicate delivered: got ${b.name} (${b.id})`);
    const hist = await within(ch.history(), 'history');
    assert.deepEqual(hist.items.map((m) => m.name), ['sentinel', 'dup']);
  }],

  ['dedupe-realtime', async (ctx) => {
    const name = uniq('dedupert');
    const rt = ctx.realtime();
    const ch = rt.channels.get(name);
    const sub = collect(ch);
    await sub.attached;
    const id = uniq('rt-id');
    await within(ch.publish({ id, name: 'dup', data: 'one' }), 'first publish');
    await within(ch.publish({ id, name: 'dup', data: 'one' }), 'second publish (same id)');
    await within(ch.publish({ name: 'sentinel', data: 'end' }), 'sentinel publish');
    assert.equal((await sub.next('dup')).id, id);
    const b = await sub.next('sentinel');
    assert.equal(b.name, 'sentinel', `duplicate delivered: got ${b.name} (${b.id})`);
    const hist = await within(ctx.rest().channels.get(name).history(), 'history');
    assert.deepEqual(hist.items.map((m) => m.name), ['sentinel', 'dup']);
  }],

  ['batch-publish', async (ctx) => {
    const rest = ctx.rest();
    const [c1, c2] = [uniq('batch1'), uniq('batch2')];
    const results = await within(rest.batchPublish([
      { channels: [c1, c2], messages: [{ name: 'b1', data: 'x' }, { name: 'b2', data: 'y' }] },
      { channels: [BAD_CHANNEL], messages: { name: 'b3', data: 'z' } },
    ]), 'batchPublish');
    assert.equal(results.length, 2, JSON.stringify(results));
    assert.equal(results[0].successCount, 2, JSON.stringify(results[0]));
    assert.equal(results[0].failureCount, 0);
    assert.deepEqual(results[0].results.map((r) => r.channel).sort(), [c1, c2].sort());
    for (const r of results[0].results) assert.ok(r.messageId, `messageId missing: ${JSON.stringify(r)}`);
    assert.equal(results[1].successCount, 0, JSON.stringify(results[1]));
    assert.equal(results[1].failureCount, 1);
    assert.equal(results[1].results[0].error?.code, 40010, JSON.stringify(results[1]));
    for (const c of [c1, c2]) {
      const h = await within(rest.channels.get(c).history(), `history of ${c}`);
      assert.deepEqual(h.items.map((m) => m.name), ['b2', 'b1']);
    }
    const single = await within(rest.batchPublish({ channels: [c1], messages: [{ name: 'b4', data: 'w' }] }), 'single-spec batchPublish');
    assert.equal(single.successCount, 1, JSON.stringify(single));
  }],

  ['channel-status', async (ctx) => {
    const name = uniq('status');
    const rt = ctx.realtime();
    await within(rt.channels.get(name).attach(), 'attach');
    const details = await within(ctx.rest().channels.get(name).status(), 'channel status');
    assert.equal(details.channelId, name);
    assert.equal(details.status?.isActive, true, JSON.stringify(details));
    const m = details.status.occupancy?.metrics;
    assert.ok(m, `occupancy metrics missing: ${JSON.stringify(details)}`);
    assert.equal(m.connections, 1);
    assert.equal(m.subscribers, 1);
    assert.equal(m.publishers, 1);
    assert.equal(m.presenceMembers, 0);
  }],

  ['bad-channel-name', async (ctx) => {
    const rt = ctx.realtime();
    await waitState(rt.connection, 'connected');
    const ch = rt.channels.get(BAD_CHANNEL);
    await expectAblyError(ch.attach(), 40010, 'attach to a bad channel name');
    assert.equal(ch.state, 'failed');
    assert.equal(rt.connection.state, 'connected', 'connection must stay connected');
    await expectAblyError(ctx.rest().channels.get(BAD_CHANNEL).publish('n', 'd'), 40010, 'REST publish to a bad channel name');
    const raw = await rawPost(ctx, `/channels/${encodeURIComponent(BAD_CHANNEL)}/messages`, { name: 'n', data: 'd' });
    assertRawError(raw, 400, 40010);
    const ok = rt.channels.get(uniq('fine'));
    await within(ok.attach(), 'attach to a good channel afterwards');
  }],

  ['message-too-large', async (ctx) => {
    const rt = ctx.realtime();
    await waitState(rt.connection, 'connected');
    const name = uniq('big');
    await expectAblyError(rt.channels.get(name).publish('big', BIG), 40009, 'realtime publish of 70 KiB');
    assert.equal(rt.connection.state, 'connected');
    // Raise the SDK's own limit so the REST request reaches the server.
    const rest = ctx.rest({ maxMessageSize: 1024 * 1024 });
    await expectAblyError(rest.channels.get(name).publish('big', BIG), 40009, 'REST publish of 70 KiB');
    const raw = await rawPost(ctx, `/channels/${name}/messages`, { name: 'big', data: BIG });
    assertRawError(raw, 400, 40009);
    const hist = await within(rest.channels.get(name).history(), 'history');
    assert.equal(hist.items.length, 0, 'oversize messages must not be stored');
  }],

  ['token-authcallback', async (ctx) => {
    const restricted = new Ably.Rest(ctx.options({ key: ctx.key2 }));
    const capability = { 'allowed:*': ['publish', 'subscribe'] };
    let calls = 0;
    const rt = ctx.realtime({
      authCallback: (params, cb) => {
        calls++;
        restricted.auth.createTokenRequest({ capability, clientId: 'tok-user' })
          .then((tr) => cb(null, tr), (err) => cb(err, null));
      },
    });
    await waitState(rt.connection, 'connected');
    assert.ok(calls >= 1, 'authCallback was not called');
    const td = rt.auth.tokenDetails;
    assert.ok(td?.token, 'no token details');
    assert.deepEqual(JSON.parse(td.capability), capability);
    assert.equal(td.clientId, 'tok-user');
    assert.equal(td.keyName, ctx.key2.split(':')[0]);
    assert.equal(td.expires - td.issued, 60 * 60 * 1000, 'default token ttl');
    assert.equal(rt.auth.clientId, 'tok-user');
    const allowed = rt.channels.get(uniq('allowed:ch'));
    const sub = collect(allowed);
    await sub.attached;
    assert.deepEqual([...(allowed.modes || [])].sort(), ['presence_subscribe', 'publish', 'subscribe'], 'modes reduced by capability');
    await within(allowed.publish('hello', 'world'), 'publish on allowed channel');
    const got = await sub.next('hello');
    assert.equal(got.clientId, 'tok-user');
    const denied = rt.channels.get(uniq('denied'));
    await expectAblyError(denied.attach(), 40160, 'attach to a denied channel');
    assert.equal(rt.connection.state, 'connected');
    await expectAblyError(rt.channels.get(uniq('denied2')).publish('x', 'y'), 40160, 'publish to a denied channel');
    assert.equal(rt.connection.state, 'connected', 'connection must stay connected after 40160');
  }],

  ['token-rest-denied', async (ctx) => {
    const restricted = new Ably.Rest(ctx.options({ key: ctx.key2 }));
    const rest = ctx.rest({
      authCallback: (params, cb) => {
        restricted.auth.createTokenRequest({ capability: { 'allowed:*': ['history'] } })
          .then((tr) => cb(null, tr), (err) => cb(err, null));
      },
    });
    const h = await within(rest.channels.get(uniq('allowed:h')).history(), 'history on an allowed channel');
    assert.equal(h.items.length, 0);
    const e1 = await expectAblyError(rest.channels.get(uniq('denied')).history(), 40160, 'REST history on a denied channel');
    assert.equal(e1.statusCode, 401);
    const e2 = await expectAblyError(rest.channels.get(uniq('allowed:p')).publish('n', 'd'), 40160, 'REST publish without publish capability');
    assert.equal(e2.statusCode, 401);
  }],

  ['token-authorize', async (ctx) => {
    const restricted = new Ably.Rest(ctx.options({ key: ctx.key2 }));
    const caps = [{ 'allowed:*': ['subscribe'] }, { 'allowed:*': ['publish', 'subscribe'] }];
    let calls = 0;
    const rt = ctx.realtime({
      authCallback: (params, cb) => {
        const capability = caps[Math.min(calls++, caps.length - 1)];
        restricted.auth.createTokenRequest({ capability }).then((tr) => cb(null, tr), (err) => cb(err, null));
      },
    });
    await waitState(rt.connection, 'connected');
    const id = rt.connection.id;
    const name = uniq('allowed:auth');
    await expectAblyError(rt.channels.get(name).publish('x', 'y'), 40160, 'publish with a subscribe-only token');
    const updated = new Promise((r) => rt.connection.once('update', r));
    const td = await within(rt.auth.authorize(), 'auth.authorize() (in-band AUTH)');
    await within(updated, 'connection update event after AUTH');
    assert.deepEqual(JSON.parse(td.capability), caps[1]);
    assert.equal(rt.connection.state, 'connected');
    assert.equal(rt.connection.id, id, 'in-band AUTH keeps the connection');
    await within(rt.channels.get(name).publish('x', 'y'), 'publish after upgrading the token');
  }],

  ['token-renewal', async (ctx) => {
    const restricted = new Ably.Rest(ctx.options({ key: ctx.key2 }));
    let calls = 0;
    const rt = ctx.realtime({
      authCallback: (params, cb) => {
        calls++;
        // The first token lives 1.5 s; the server must expire the connection
        // (DISCONNECTED 40142) and the SDK renews it through the callback.
        const ttl = calls === 1 ? 1500 : 3600000;
        restricted.auth.createTokenRequest({ ttl, capability: { 'allowed:*': ['publish', 'subscribe'] } })
          .then((tr) => cb(null, tr), (err) => cb(err, null));
      },
    });
    await waitState(rt.connection, 'connected');
    const disconnected = new Promise((r) => rt.connection.once('disconnected', r));
    const change = await within(disconnected, 'DISCONNECTED at token expiry', 15000);
    assert.equal(change.reason?.code, 40142, `disconnect reason: ${describeErr(change.reason)}`);
    await waitState(rt.connection, 'connected', 15000);
    assert.ok(calls >= 2, 'authCallback was not called again to renew the token');
    await within(rt.channels.get(uniq('allowed:renew')).publish('after', 'renewal'), 'publish after renewal');
  }],

  ['wrong-secret', async (ctx) => {
    const [name] = ctx.key.split(':');
    const rt = ctx.realtime({ key: `${name}:definitely-wrong` });
    const failed = new Promise((resolve) => rt.connection.once('failed', resolve));
    const change = await within(failed, 'connection to fail with a wrong secret');
    const code = change.reason?.code;
    assert.ok(code >= 40100 && code < 40200, `want a 401xx code, got ${describeErr(change.reason)}`);
    const rest = ctx.rest({ key: `${name}:definitely-wrong` });
    let err;
    await within(rest.channels.get(uniq('x')).history(), 'REST with a wrong secret').catch((e) => { err = e; });
    assert.ok(err, 'REST request with a wrong secret succeeded');
    assert.ok(err.code >= 40100 && err.code < 40200 && err.statusCode === 401, `want 401xx/401, got ${describeErr(err)}`);
  }],

  ['ping', async (ctx) => {
    const rt = ctx.realtime();
    await waitState(rt.connection, 'connected');
    const rtt = await within(rt.connection.ping(), 'ping reply');
    assert.equal(typeof rtt, 'number');
    assert.ok(rtt >= 0);
  }],
];
