// Connection and channel lifecycle cases: heartbeats on an idle connection,
// detach and close, clientId rules, channel enumeration,
// presence, --limits ably and graceful shutdown. Cases that need a server
// started with other flags (or that stop it) start their own through
// ctx.ownServer().
import assert from 'node:assert/strict';
import {
  collect, describeErr, expectAblyError, uniq, waitState, within,
} from './harness.mjs';

/** REST API version sent with rest.request(). */
const API_VERSION = 3;

/** Resolves with the first event of emitter (an ably-js EventEmitter). */
function once(emitter, event, what, ms) {
  return within(new Promise((r) => emitter.once(event, r)), what, ms);
}

/** Waits until channel reaches state; rejects early if it fails instead. */
function waitChannel(channel, state, ms) {
  if (channel.state === state) return Promise.resolve(null);
  const p = new Promise((resolve, reject) => {
    const listener = (change) => {
      if (change.current === state) {
        channel.off(listener);
        resolve(change);
      } else if (change.current === 'failed') {
        channel.off(listener);
        reject(new Error(`channel failed while waiting for ${state}: ${describeErr(change.reason)}`));
      }
    };
    channel.on(listener);
  });
  return within(p, `channel ${channel.name} ${state}`, ms);
}

/** The realtime client's active transport (ably-js internals). */
function transportOf(rt) {
  const t = rt.connection.connectionManager.activeProtocol?.getTransport();
  assert.ok(t, 'no active transport');
  return t;
}

/**
 * Subscribes to presence events on channel and returns {attached,
 * next(what)}: next() resolves with the next PresenceMessage, in order.
 */
function collectPresence(channel) {
  const queue = [];
  const waiters = [];
  const attached = channel.presence.subscribe((pm) => {
    const w = waiters.shift();
    if (w) w(pm);
    else queue.push(pm);
  });
  return {
    attached: within(attached, `presence subscribe on ${channel.name}`),
    next(what = 'a presence event') {
      if (queue.length) return Promise.resolve(queue.shift());
      return within(new Promise((r) => waiters.push(r)), `${what} on ${channel.name}`);
    },
  };
}

/** Sends a raw REST publish with a token (Bearer) and returns {status, code}. */
async function rawTokenPublish(ctx, token, channelName, body) {
  const res = await within(fetch(`http://${ctx.addr}/channels/${encodeURIComponent(channelName)}/messages`, {
    method: 'POST',
    headers: {
      Authorization: 'Bearer ' + Buffer.from(token).toString('base64'),
      'Content-Type': 'application/json',
      Accept: 'application/json',
    },
    body: JSON.stringify(body),
  }), `raw token POST to ${channelName}`);
  const text = await res.text();
  let parsed = null;
  try { parsed = JSON.parse(text); } catch { /* reported below */ }
  return { status: res.status, code: parsed?.error?.code, text };
}

/** Publishes every [channel, name] pair at once; returns the settled results. */
function publishAll(pairs) {
  return within(Promise.allSettled(pairs.map(([ch, name]) => ch.publish(name, 'x'))), 'burst of publishes');
}

/** Lifecycle cases, in run order. */
export const lifecycleCases = [
  ['idle-heartbeat', async (ctx) => {
    // maxIdleInterval 1 s: the server must send HEARTBEAT after ~667 ms of
    // silence. ably-js drops a transport that is silent for maxIdleInterval +
    // realtimeRequestTimeout + 100 ms = 2.1 s, so staying connected for 2.6 s
    // without traffic needs the heartbeats.
    const { ctx: own } = await ctx.ownServer(['--max-idle-interval', '1s']);
    const rt = own.realtime({ realtimeRequestTimeout: 1000 });
    await waitState(rt.connection, 'connected');
    assert.equal(rt.connection.connectionManager.connectionDetails.maxIdleInterval, 1000, 'advertised maxIdleInterval');
    const id = rt.connection.id;
    const transport = transportOf(rt);
    const start = Date.now();
    const beats = [];
    let onBeat;
    let onChange;
    const quiet = new Promise((resolve, reject) => {
      onBeat = () => {
        beats.push(Date.now() - start);
        if (beats.length >= 3 && Date.now() - start >= 2600) resolve();
      };
      onChange = (change) => {
        if (change.current !== 'connected') {
          reject(new Error(`idle connection went ${change.current} after ${Date.now() - start} ms (heartbeats at ${beats}): ${describeErr(change.reason)}`));
        }
      };
      transport.on('heartbeat', onBeat);
      rt.connection.on(onChange);
    });
    try {
      await within(quiet, 'heartbeats over 2.6 s of idleness', 8000);
    } finally {
      transport.off('heartbeat', onBeat);
      rt.connection.off(onChange);
    }
    assert.equal(rt.connection.state, 'connected');
    assert.equal(rt.connection.id, id, 'connection was replaced');
    assert.equal(transportOf(rt), transport, 'transport was replaced');
    const gaps = beats.map((t, i) => t - (i ? beats[i - 1] : 0));
    assert.ok(Math.max(...gaps) < 1000, `heartbeat gaps ${gaps} ms exceed maxIdleInterval`);
  }],

  ['detach-close', async (ctx) => {
    const rt = ctx.realtime({ clientId: 'closer' });
    const other = ctx.realtime();
    const name = uniq('detach');
    const ch = rt.channels.get(name);
    const sub = collect(ch);
    await sub.attached;
    const rest = ctx.rest().channels.get(name);
    const before = await within(rest.status(), 'status before detach');
    assert.equal(before.status?.occupancy?.metrics?.subscribers, 1, JSON.stringify(before));
    const detached = waitChannel(ch, 'detached');
    await within(ch.detach(), 'detach');
    await detached;
    assert.equal(ch.state, 'detached');
    const after = await within(rest.status(), 'status after detach');
    assert.equal(after.status?.occupancy?.metrics?.connections ?? 0, 0, `still attached after DETACHED: ${JSON.stringify(after)}`);
    // Attaching again works and delivers again.
    await within(ch.attach(), 're-attach');
    await within(other.channels.get(name).publish('again', 'x'), 'publish after re-attach');
    assert.equal((await sub.next('again')).name, 'again');
    // close(): ably-js reaches "closed" as soon as it has sent CLOSE, so the
    // server side is observed through the LEAVE it generates for the member.
    const watcher = collectPresence(other.channels.get(name));
    await watcher.attached;
    await within(ch.presence.enter('here'), 'presence enter');
    assert.equal((await watcher.next('enter')).clientId, 'closer');
    const connId = rt.connection.id;
    const closed = waitState(rt.connection, 'closed', 3000);
    rt.close();
    await closed;
    assert.equal(rt.connection.state, 'closed');
    const leave = await watcher.next('LEAVE after close');
    assert.equal(leave.action, 'leave');
    assert.equal(leave.clientId, 'closer');
    assert.ok(!leave.id.startsWith(connId + ':'), `LEAVE id ${leave.id} is not server-generated`);
    const gone = await within(rest.status(), 'status after close');
    assert.equal(gone.status?.occupancy?.metrics?.presenceMembers, 0, JSON.stringify(gone));
  }],

  ['client-id', async (ctx) => {
    const keyRest = ctx.rest();
    const alice = ctx.realtime({
      authCallback: (params, cb) => {
        keyRest.auth.createTokenRequest({ clientId: 'alice' }).then((tr) => cb(null, tr), (err) => cb(err, null));
      },
    });
    // A wildcard token takes its clientId from the clientId option.
    const carol = ctx.realtime({
      clientId: 'carol',
      authCallback: (params, cb) => {
        keyRest.auth.createTokenRequest({ clientId: '*' }).then((tr) => cb(null, tr), (err) => cb(err, null));
      },
    });
    const watcher = ctx.realtime();
    await waitState(alice.connection, 'connected');
    await waitState(carol.connection, 'connected');
    assert.equal(alice.auth.clientId, 'alice');
    assert.equal(alice.connection.connectionManager.connectionDetails.clientId, 'alice', 'CONNECTED clientId');
    assert.equal(carol.auth.clientId, 'carol');
    assert.equal(carol.connection.connectionManager.connectionDetails.clientId, 'carol', 'CONNECTED clientId for a wildcard token');
    const name = uniq('cid');
    const sub = collect(watcher.channels.get(name));
    await sub.attached;
    await within(alice.channels.get(name).publish('implicit', 'x'), 'publish without clientId');
    assert.equal((await sub.next('implicit')).clientId, 'alice', 'server stamps the connection clientId');
    await within(alice.channels.get(name).publish({ name: 'explicit', data: 'x', clientId: 'alice' }), 'publish with own clientId');
    assert.equal((await sub.next('explicit')).clientId, 'alice');
    await within(carol.channels.get(name).publish('wild', 'x'), 'publish with a wildcard token');
    assert.equal((await sub.next('wild')).clientId, 'carol');
    await expectAblyError(alice.channels.get(name).publish({ name: 'spoof', data: 'x', clientId: 'mallory' }), 40012,
      'realtime publish with another clientId');
    assert.equal(alice.connection.state, 'connected', 'connection must stay connected after 40012');
    // A key holder may publish on behalf of any clientId.
    await within(keyRest.channels.get(name).publish({ name: 'onbehalf', data: 'x', clientId: 'dave' }), 'key REST publish with a clientId');
    assert.equal((await sub.next('onbehalf')).clientId, 'dave');
    // REST with alice's token, sent raw so no SDK check runs first.
    const td = await within(keyRest.auth.requestToken({ clientId: 'alice' }), 'requestToken for alice');
    const bad = await rawTokenPublish(ctx, td.token, name, { name: 'rest-spoof', data: 'x', clientId: 'mallory' });
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.code, 40012, bad.text);
    const good = await rawTokenPublish(ctx, td.token, name, { name: 'rest-own', data: 'x' });
    assert.equal(good.status, 201, good.text);
    const got = await sub.next('rest-own');
    assert.equal(got.name, 'rest-own', `a rejected publish was delivered: ${got.name}`);
    assert.equal(got.clientId, 'alice', 'REST publish stamped with the token clientId');
  }],

  ['channel-enumeration', async (ctx) => {
    const prefix = uniq('enum') + ':';
    const names = ['a', 'b', 'c'].map((s) => prefix + s);
    const rt = ctx.realtime();
    await Promise.all(names.map((n) => within(rt.channels.get(n).attach(), `attach ${n}`)));
    const rest = ctx.rest();
    const ids = await within(rest.request('get', '/channels', API_VERSION, { prefix, by: 'id' }), 'GET /channels by=id');
    assert.equal(ids.statusCode, 200, ids.errorMessage);
    assert.deepEqual([...ids.items].sort(), names);
    const vals = await within(rest.request('get', '/channels', API_VERSION, { prefix }), 'GET /channels');
    assert.deepEqual(vals.items.map((d) => d.channelId).sort(), names);
    for (const d of vals.items) {
      assert.equal(d.status?.isActive, true, JSON.stringify(d));
      assert.equal(d.status?.occupancy?.metrics?.connections, 1, JSON.stringify(d));
    }
    const first = await within(rest.request('get', '/channels', API_VERSION, { prefix, by: 'id', limit: 2 }), 'GET /channels limit=2');
    assert.equal(first.items.length, 2);
    assert.equal(first.hasNext(), true, 'first page must link to the next');
    const second = await within(first.next(), 'next page of /channels');
    assert.equal(second.hasNext(), false);
    assert.deepEqual([...first.items, ...second.items].sort(), names);
    // A detached channel stays listed (recently active) with no connections.
    await within(rt.channels.get(names[2]).detach(), 'detach c');
    const left = await within(rest.request('get', '/channels', API_VERSION, { prefix }), 'GET /channels after detach');
    const byName = Object.fromEntries(left.items.map((d) => [d.channelId, d]));
    assert.equal(byName[names[0]]?.status?.occupancy?.metrics?.connections, 1, JSON.stringify(left.items));
    assert.equal(byName[names[2]]?.status?.occupancy?.metrics?.connections ?? 0, 0, JSON.stringify(left.items));
    const none = await within(rest.request('get', '/channels', API_VERSION, { prefix: uniq('nothing'), by: 'id' }), 'GET /channels unknown prefix');
    assert.deepEqual(none.items, []);
  }],

  ['presence', async (ctx) => {
    const name = uniq('presence');
    const watcher = ctx.realtime();
    const alice = ctx.realtime({ clientId: 'alice' });
    const carol = ctx.realtime({ clientId: 'carol' });
    const events = collectPresence(watcher.channels.get(name));
    await events.attached;
    const ach = alice.channels.get(name);
    await within(ach.presence.enter({ mood: 'hi' }), 'alice enter');
    let pm = await events.next('enter');
    assert.equal(pm.action, 'enter');
    assert.equal(pm.clientId, 'alice');
    assert.deepEqual(pm.data, { mood: 'hi' });
    assert.equal(pm.connectionId, alice.connection.id);
    await within(ach.presence.update('busy'), 'alice update');
    pm = await events.next('update');
    assert.equal(pm.action, 'update');
    assert.equal(pm.data, 'busy');
    const members = await within(watcher.channels.get(name).presence.get(), 'presence.get()');
    assert.deepEqual(members.map((m) => [m.clientId, m.data]), [['alice', 'busy']]);
    // A late attacher gets the members through SYNC.
    const late = ctx.realtime();
    const lateMembers = await within(late.channels.get(name).presence.get(), 'presence.get() after SYNC');
    assert.deepEqual(lateMembers.map((m) => m.clientId), ['alice']);
    const restMembers = await within(ctx.rest().channels.get(name).presence.get(), 'REST presence get');
    assert.deepEqual(restMembers.items.map((m) => m.clientId), ['alice']);
    await within(carol.channels.get(name).presence.enter(), 'carol enter');
    assert.equal((await events.next('carol enter')).clientId, 'carol');
    await within(ach.presence.leave(), 'alice leave');
    pm = await events.next('leave');
    assert.equal(pm.action, 'leave');
    assert.equal(pm.clientId, 'alice');
    // Closing carol's connection makes the server send her LEAVE.
    const carolClosed = waitState(carol.connection, 'closed');
    carol.close();
    await carolClosed;
    pm = await events.next('server-generated leave');
    assert.equal(pm.action, 'leave');
    assert.equal(pm.clientId, 'carol');
    const empty = await within(watcher.channels.get(name).presence.get(), 'presence.get() at the end');
    assert.deepEqual(empty, []);
    // Entering needs a clientId.
    const anon = ctx.realtime();
    await expectAblyError(anon.channels.get(name).presence.enter(), [40012, 91000], 'anonymous presence enter');
  }],

  ['limits', async (ctx) => {
    const { ctx: own } = await ctx.ownServer(['--limits', 'ably']);
    // Per channel: 3 connections × 40 publishes on one channel. No connection
    // reaches 50, but the channel gets 120 within at most two 1 s windows.
    const pubs = [own.realtime(), own.realtime(), own.realtime()];
    await Promise.all(pubs.map((p) => waitState(p.connection, 'connected')));
    const name = uniq('limch');
    const perChannel = await publishAll(pubs.flatMap((p) => Array.from({ length: 40 }, (_, i) => [p.channels.get(name), `m${i}`])));
    const rejected = perChannel.filter((r) => r.status === 'rejected').map((r) => r.reason);
    const accepted = perChannel.length - rejected.length;
    assert.ok(rejected.length > 0, 'no publish was rate limited at 120 messages on one channel');
    assert.deepEqual([...new Set(rejected.map((e) => e.code))], [42913], rejected.map(describeErr).slice(0, 3).join('; '));
    assert.ok(accepted >= 50, `only ${accepted} publishes accepted`);
    for (const p of pubs) assert.equal(p.connection.state, 'connected', 'rate limiting must not drop the connection');
    const hist = await within(own.rest().channels.get(name).history({ limit: 1000 }), 'history');
    assert.equal(hist.items.length, accepted, 'rejected publishes must not be stored');
    // Per connection: 120 publishes on 120 channels from one connection.
    const one = pubs[0];
    const perConn = await publishAll(Array.from({ length: 120 }, (_, i) => [one.channels.get(uniq(`limconn${i}`)), 'c']));
    const connRejected = perConn.filter((r) => r.status === 'rejected').map((r) => r.reason);
    assert.ok(connRejected.length > 0, 'no publish was rate limited at 120 messages on one connection');
    assert.deepEqual([...new Set(connRejected.map((e) => e.code))], [42911], connRejected.map(describeErr).slice(0, 3).join('; '));
    assert.equal(one.connection.state, 'connected');
  }],

  ['shutdown', async (ctx) => {
    const { server, ctx: own } = await ctx.ownServer();
    const rt = own.realtime();
    const ch = rt.channels.get(uniq('shutdown'));
    await within(ch.attach(), 'attach');
    const states = [];
    rt.connection.on((change) => states.push(change.current));
    const disconnected = waitState(rt.connection, 'disconnected');
    server.signal('SIGTERM');
    const change = await disconnected;
    // The server's DISCONNECTED carries 80003/503; a socket that merely
    // closes gives ably-js's own "Websocket closed" 80003/400.
    assert.equal(change?.reason?.code, 80003, `disconnect reason: ${describeErr(change?.reason)}`);
    assert.equal(change?.reason?.statusCode, 503, `disconnect reason: ${describeErr(change?.reason)}`);
    const exit = await within(server.exited, 'server exit after SIGTERM', 8000);
    assert.deepEqual(exit, { code: 0, signal: null }, `server output:\n${server.output()}`);
    assert.match(server.output(), /stopping: sending DISCONNECTED/);
    assert.ok(!states.includes('failed'), `connection states: ${states}`);
    assert.notEqual(ch.state, 'failed', 'channel failed on shutdown');
    assert.notEqual(rt.connection.state, 'failed');
    const closed = waitState(rt.connection, 'closed');
    rt.close();
    await closed;
  }],
];
