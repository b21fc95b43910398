// Protocol fidelity cases (issue 14): numeric params, client SYNC, channel
// modes and params on ATTACHED, in-band AUTH narrowing a capability, JWTs
// naming an unknown key, and connection resume / recover.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import {
  collect, describeErr, expectAblyError, uniq, waitState, within,
} from './harness.mjs';

/** The realtime client's active transport (ably-js internals). */
function transportOf(rt) {
  const t = rt.connection.connectionManager.activeProtocol?.getTransport();
  assert.ok(t, 'no active transport');
  return t;
}

/** Resolves with the next channel state change to state (rejects on failed). */
function nextChannelState(channel, state, ms) {
  return within(new Promise((resolve, reject) => {
    const listener = (change) => {
      if (change.current === state) {
        channel.off(listener);
        resolve(change);
      } else if (change.current === 'failed' && state !== 'failed') {
        channel.off(listener);
        reject(new Error(`channel failed while waiting for ${state}: ${describeErr(change.reason)}`));
      }
    };
    channel.on(listener);
  }), `channel ${channel.name} ${state}`, ms);
}

/**
 * Makes the client's current transport drop the next n MESSAGE frames of a
 * channel, as if they were lost with a dying socket; resolves once they
 * have arrived (and been dropped).
 */
function loseMessages(rt, channelName, n) {
  const transport = transportOf(rt);
  const orig = transport.onProtocolMessage;
  let lost = 0;
  return new Promise((resolve) => {
    transport.onProtocolMessage = function onProtocolMessage(msg) {
      if (msg.action === 15 && msg.channel === channelName && lost < n) {
        lost += 1;
        if (lost === n) resolve();
        return;
      }
      orig.call(this, msg);
    };
  });
}

/** Signs an HS256 Ably JWT with keyName as kid (test helper). */
function mintJWT(keyName, secret, claims) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const head = b64({ alg: 'HS256', typ: 'JWT', kid: keyName });
  const body = b64(claims);
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

/** Fidelity cases, in run order. */
export const fidelityCases = [
  ['numeric-params', async (ctx) => {
    // Item 1: a number as a param value must not fail the connection.
    const name = uniq('numparam');
    const rest = ctx.rest().channels.get(name);
    await within(rest.publish('old', 'x'), 'REST publish');
    const rt = ctx.realtime();
    const ch = rt.channels.get(name, { params: { rewind: 1 } });
    const sub = collect(ch);
    await sub.attached;
    assert.equal((await sub.next('rewound')).name, 'old');
    assert.equal(ch.params?.rewind, '1', `channel.params ${JSON.stringify(ch.params)}`);
    assert.equal(rt.connection.state, 'connected');
  }],

  ['client-sync', async (ctx) => {
    // Item 2: a client SYNC is answered, not fatal.
    const name = uniq('sync');
    const rt = ctx.realtime({ clientId: 'syncer' });
    const ch = rt.channels.get(name);
    await within(ch.presence.enter('here'), 'presence enter');
    const synced = new Promise((resolve) => {
      const transport = transportOf(rt);
      const onMsg = (msg) => { if (msg.action === 16 && msg.channel === name) resolve(msg); };
      const orig = transport.onProtocolMessage;
      transport.onProtocolMessage = function onProtocolMessage(msg) { onMsg(msg); orig.call(this, msg); };
    });
    ch.sync();
    const msg = await within(synced, 'SYNC answer');
    assert.deepEqual(msg.presence.map((p) => p.clientId), ['syncer']);
    await within(rt.connection.ping(), 'ping after SYNC');
    assert.equal(rt.connection.state, 'connected');
  }],

  ['channel-modes', async (ctx) => {
    // Items 3 and 4: modes are enforced (40165) and echoed.
    const rt = ctx.realtime({ clientId: 'moder' });
    const ch = rt.channels.get(uniq('modes'), { modes: ['SUBSCRIBE'] });
    await within(ch.attach(), 'attach with SUBSCRIBE');
    assert.deepEqual(ch.modes, ['subscribe']);
    await expectAblyError(ch.publish('n', 'x'), 40165, 'publish without PUBLISH mode');
    await expectAblyError(ch.presence.enter(), 40165, 'presence enter without PRESENCE mode');
    assert.equal(rt.connection.state, 'connected');
    const byParam = rt.channels.get(uniq('modeparam'), { params: { modes: 'subscribe', delta: 'vcdiff', bogus: 'x' } });
    await within(byParam.attach(), 'attach with the modes param');
    assert.deepEqual(byParam.params, { modes: 'subscribe' }, 'ATTACHED params echo recognised params only');
    assert.deepEqual(byParam.modes, ['subscribe']);
    const plain = rt.channels.get(uniq('defaults'));
    await within(plain.attach(), 'default attach');
    assert.deepEqual([...plain.modes].sort(), ['presence', 'presence_subscribe', 'publish', 'subscribe']);
  }],

  ['auth-narrows', async (ctx) => {
    // Item 6: AUTH with a narrower capability detaches what it no longer permits.
    const keyRest = ctx.rest();
    let capability = '{"*":["*"]}';
    const rt = ctx.realtime({
      authCallback: (params, cb) => {
        keyRest.auth.createTokenRequest({ capability }).then((tr) => cb(null, tr), (err) => cb(err, null));
      },
    });
    const keep = rt.channels.get(uniq('keep'));
    const lose = rt.channels.get(uniq('lose'));
    await within(keep.attach(), 'attach keep');
    await within(lose.attach(), 'attach lose');
    const failed = nextChannelState(lose, 'failed');
    capability = JSON.stringify({ [keep.name]: ['*'] });
    await within(rt.auth.authorize(), 'authorize with a narrower capability');
    const change = await failed;
    assert.equal(change.reason?.code, 40160, describeErr(change.reason));
    assert.equal(keep.state, 'attached');
    assert.equal(rt.connection.state, 'connected');
  }],

  ['jwt-unknown-kid', async (ctx) => {
    // Item 8: a JWT naming no key of the endpoint is 404 40400, not renewable.
    const [, secret] = ctx.key.split(':');
    const now = Math.floor(Date.now() / 1000);
    const token = mintJWT('nosuchapp.key', secret, { iat: now, exp: now + 3600, 'x-ably-capability': '{"*":["*"]}' });
    const rest = ctx.rest({ token });
    const err = await expectAblyError(rest.channels.get('jwt').history(), 40400, 'REST with an unknown kid');
    assert.equal(err.statusCode, 404);
    const rt = ctx.realtime({ token });
    const failed = await within(new Promise((r) => rt.connection.once('failed', r)), 'connection failed');
    assert.equal(failed.reason?.code, 40400, describeErr(failed.reason));
  }],

  ['resume', async (ctx) => {
    // RTN15c6: a dropped transport resumes the same connection; messages lost
    // with it come back once, in order, and the channel is resumed.
    const rt = ctx.realtime();
    const name = uniq('resume');
    const ch = rt.channels.get(name);
    const sub = collect(ch);
    await sub.attached;
    const publisher = ctx.rest().channels.get(name);
    const oldId = rt.connection.id;
    const lost = loseMessages(rt, name, 2);
    await within(publisher.publish('lost-1', 'x'), 'publish lost-1');
    await within(publisher.publish('lost-2', 'x'), 'publish lost-2');
    await within(lost, 'the two messages to reach the dying transport');
    const reattached = nextChannelState(ch, 'attached');
    const disconnected = waitState(rt.connection, 'disconnected');
    transportOf(rt).wsConnection.terminate();
    await disconnected;
    const change = await waitState(rt.connection, 'connected');
    assert.equal(rt.connection.id, oldId, 'expected the same connectionId');
    assert.equal(change?.reason ?? null, null, `resume reason: ${describeErr(change?.reason)}`);
    const att = await reattached;
    assert.equal(att.resumed, true, 'channel re-attached without RESUMED');
    assert.equal((await sub.next('lost-1')).name, 'lost-1');
    assert.equal((await sub.next('lost-2')).name, 'lost-2');
    await within(publisher.publish('live', 'x'), 'publish live');
    assert.equal((await sub.next('live')).name, 'live', 'a lost message came twice');
    await within(ch.publish('own', 'x'), 'publish after resume');
    assert.equal((await sub.next('own')).connectionId, oldId);
  }],

  ['failed-resume', async (ctx) => {
    // The endpoint does not know the key (a restart, or a key it never issued):
    // 80018, a new connectionId; ably-js re-attaches its channels and resends
    // queued publishes.
    const rt = ctx.realtime();
    const other = ctx.realtime();
    const name = uniq('failresume');
    const ch = rt.channels.get(name);
    const sub = collect(ch);
    await sub.attached;
    await waitState(other.connection, 'connected');
    const oldId = rt.connection.id;
    rt.connection.connectionManager.connectionKey = 'deadbeef0123!cafe4567'; // well-formed, unknown
    const disconnected = waitState(rt.connection, 'disconnected');
    transportOf(rt).wsConnection.terminate();
    await disconnected;
    const reconnected = waitState(rt.connection, 'connected');
    const queued = ch.publish('queued', 'sent while disconnected');
    const change = await reconnected;
    assert.notEqual(rt.connection.id, oldId, 'expected a new connectionId');
    assert.equal(change?.reason?.code, 80018, `resume reason: ${describeErr(change?.reason)}`);
    await within(queued, 'ACK of the publish queued while disconnected');
    assert.equal((await sub.next('queued')).name, 'queued');
    await within(other.channels.get(name).publish('after', 'x'), 'publish by another client after the resume');
    assert.equal((await sub.next('after')).name, 'after', 'channel was not re-attached');
    await within(ch.publish('own-after', 'x'), 'publish after the resume (msgSerial restarted)');
    assert.equal((await sub.next('own-after')).connectionId, rt.connection.id);
  }],

  ['recover', async (ctx) => {
    // RTN16: a new client instance recovers the connection of one that went
    // away, and gets what that one missed.
    const first = ctx.realtime();
    const name = uniq('recover');
    const sub1 = collect(first.channels.get(name));
    await sub1.attached;
    const publisher = ctx.rest().channels.get(name);
    await within(publisher.publish('seen', 'x'), 'publish seen');
    assert.equal((await sub1.next('seen')).name, 'seen');
    const lost = loseMessages(first, name, 1);
    await within(publisher.publish('missed', 'x'), 'publish missed');
    await within(lost, 'the missed message to reach the old client');
    const recoveryKey = first.connection.createRecoveryKey();
    const id = first.connection.id;
    // The old instance goes away: its own reconnect uses a key the endpoint
    // does not know, so it cannot take the connection back.
    first.connection.connectionManager.connectionKey = 'deadbeef0123!cafe4567';
    transportOf(first).wsConnection.terminate();
    const second = ctx.realtime({ recover: recoveryKey });
    const change = await waitState(second.connection, 'connected');
    assert.equal(second.connection.id, id, 'expected the recovered connectionId');
    assert.equal(change?.reason ?? null, null, `recover reason: ${describeErr(change?.reason)}`);
    const sub2 = collect(second.channels.get(name));
    await sub2.attached;
    assert.equal((await sub2.next('missed')).name, 'missed');
    await within(publisher.publish('live', 'x'), 'publish live');
    assert.equal((await sub2.next('live')).name, 'live');
  }],

  ['comet-refused', async (ctx) => {
    // Only WebSocket is served: the comet fallback gets a clear error (the
    // connection fails with it) rather than a 404 retried forever.
    const rt = ctx.realtime({ transports: ['comet'] });
    const failed = await within(new Promise((r) => rt.connection.once('failed', r)), 'comet connection to fail');
    assert.equal(failed.reason?.code, 40000, describeErr(failed.reason));
    assert.match(failed.reason?.message ?? '', /WebSocket only/);
  }],
];
