// Core pub/sub cases: connect, realtime round trip, echo, REST publish,
// history with pagination and untilAttach. Each case receives a context from
// harness.context() bound to one wire format.
import assert from 'node:assert/strict';
import { collect, uniq, waitState, within } from './harness.mjs';

/** Asserts that a received message carries the server-stamped fields. */
function assertStamped(msg, connectionId) {
  assert.equal(typeof msg.id, 'string', 'message id');
  assert.ok(msg.id.length > 0, 'message id is empty');
  assert.equal(typeof msg.timestamp, 'number', 'message timestamp');
  if (connectionId) assert.equal(msg.connectionId, connectionId, 'message connectionId');
}

/** Publishes n messages m1..mn over REST one by one (so their order is fixed). */
async function restPublishSeries(rest, channelName, n) {
  const ch = rest.channels.get(channelName);
  for (let i = 1; i <= n; i++) {
    await within(ch.publish(`m${i}`, `data-${i}`), `REST publish m${i}`);
  }
}

/** Walks every page of a history result and returns the names per page. */
async function pageNames(first) {
  const pages = [];
  let page = first;
  for (let guard = 0; page && guard < 20; guard++) {
    pages.push(page.items.map((m) => m.name));
    if (!page.hasNext()) {
      assert.equal(page.isLast(), true, 'isLast() on a page without next');
      break;
    }
    page = await within(page.next(), 'history next()');
  }
  return pages;
}

/** Core cases, in run order. */
export const coreCases = [
  ['connect', async (ctx) => {
    const rt = ctx.realtime();
    await waitState(rt.connection, 'connected');
    assert.equal(typeof rt.connection.id, 'string');
    assert.ok(rt.connection.id.length > 0, 'connectionId is empty');
    assert.ok(!rt.connection.id.includes(':'), `connectionId ${rt.connection.id} contains ":"`);
    assert.ok(rt.connection.key, 'connection key missing');
    const details = rt.connection.connectionManager.connectionDetails;
    assert.ok(details, 'connectionDetails missing');
    assert.equal(details.maxMessageSize, 65536);
    assert.equal(details.maxIdleInterval, 15000);
    assert.ok(Number.isInteger(details.connectionStateTtl) && details.connectionStateTtl > 0, 'connectionStateTtl');
    assert.ok(Number.isInteger(details.maxFrameSize) && details.maxFrameSize > 0, 'maxFrameSize');
    assert.equal(typeof details.serverId, 'string');
    assert.equal(details.connectionKey, rt.connection.key);
    const transport = rt.connection.connectionManager.activeProtocol?.getTransport();
    assert.equal(transport?.params?.format, ctx.format, 'negotiated wire format');
  }],

  ['roundtrip', async (ctx) => {
    const rt = ctx.realtime();
    const ch = rt.channels.get(uniq('rt'));
    const sub = collect(ch);
    await sub.attached;
    assert.equal(ch.state, 'attached');
    assert.deepEqual([...(ch.modes || [])].sort(), ['presence', 'presence_subscribe', 'publish', 'subscribe'], 'ATTACHED modes');
    await waitState(rt.connection, 'connected');
    const bin = Buffer.from([0, 1, 2, 0x7f, 0x80, 0xff]);
    const sent = [
      { name: 'obj', data: { a: 1, b: [true, null, 'x'], c: { d: 'é' } } },
      { name: 'str', data: 'hello ✓' },
      { name: 'bin', data: bin, extras: { headers: { 'x-kind': 'binary', n: '1' } } },
    ];
    for (const m of sent) await within(ch.publish(m), `publish ${m.name}`);
    const got = [];
    for (const m of sent) got.push(await sub.next(m.name));
    assert.deepEqual(got.map((m) => m.name), ['obj', 'str', 'bin']);
    assert.deepEqual(got[0].data, sent[0].data);
    assert.equal(got[1].data, 'hello ✓');
    assert.ok(Buffer.isBuffer(got[2].data) || got[2].data instanceof ArrayBuffer, `binary came back as ${typeof got[2].data}`);
    assert.deepEqual(Buffer.from(got[2].data), bin);
    assert.deepEqual(got[2].extras?.headers, { 'x-kind': 'binary', n: '1' });
    for (const m of got) assertStamped(m, rt.connection.id);
  }],

  ['roundtrip-crossformat', async (ctx) => {
    const pub = ctx.realtime();
    const other = ctx.realtime({ useBinaryProtocol: !ctx.binary });
    const name = uniq('xf');
    const sub = collect(other.channels.get(name));
    await sub.attached;
    const bin = Buffer.from([9, 8, 0, 255]);
    await within(pub.channels.get(name).publish({ name: 'bin', data: bin }), 'publish bin');
    await within(pub.channels.get(name).publish({ name: 'obj', data: { k: [1, 2] } }), 'publish obj');
    const a = await sub.next('bin');
    const b = await sub.next('obj');
    assert.deepEqual(Buffer.from(a.data), bin);
    assert.ok(typeof a.data !== 'string', 'binary arrived as a string in the other format');
    assert.deepEqual(b.data, { k: [1, 2] });
  }],

  ['echo-false', async (ctx) => {
    const quiet = ctx.realtime({ echoMessages: false });
    const other = ctx.realtime();
    const name = uniq('echo');
    const mine = collect(quiet.channels.get(name));
    const theirs = collect(other.channels.get(name));
    await mine.attached;
    await theirs.attached;
    await within(quiet.channels.get(name).publish('own', 'x'), 'publish own');
    assert.equal((await theirs.next('own')).name, 'own', 'other connection gets the message');
    await within(other.channels.get(name).publish('foreign', 'y'), 'publish foreign');
    const first = await mine.next('foreign');
    assert.equal(first.name, 'foreign', 'echoMessages=false connection received its own message');
  }],

  ['rest-publish', async (ctx) => {
    const rt = ctx.realtime();
    const name = uniq('restpub');
    const sub = collect(rt.channels.get(name));
    await sub.attached;
    const ch = ctx.rest().channels.get(name);
    await within(ch.publish('single', { one: 1 }), 'REST publish single');
    await within(ch.publish([{ name: 'arr1', data: 'a' }, { name: 'arr2', data: Buffer.from([1, 2]) }]), 'REST publish array');
    const got = [await sub.next('single'), await sub.next('arr1'), await sub.next('arr2')];
    assert.deepEqual(got.map((m) => m.name), ['single', 'arr1', 'arr2']);
    assert.deepEqual(got[0].data, { one: 1 });
    assert.equal(got[1].data, 'a');
    assert.deepEqual(Buffer.from(got[2].data), Buffer.from([1, 2]));
    for (const m of got) assertStamped(m);
    // ably-js sets idempotent ids <base>:<index> on REST publishes; they must be kept.
    assert.match(got[0].id, /^[^:]+:0$/, 'single REST publish id');
    assert.match(got[1].id, /^[^:]+:0$/, 'first array REST publish id');
    assert.equal(got[2].id, got[1].id.replace(/:0$/, ':1'), 'second array REST publish id');
  }],

  ['rest-history-paginated', async (ctx) => {
    const rest = ctx.rest();
    const name = uniq('hist');
    await restPublishSeries(rest, name, 5);
    const first = await within(rest.channels.get(name).history({ limit: 2 }), 'REST history');
    assert.deepEqual(await pageNames(first), [['m5', 'm4'], ['m3', 'm2'], ['m1']]);
    const fwd = await within(rest.channels.get(name).history({ limit: 3, direction: 'forwards' }), 'REST history forwards');
    assert.deepEqual(await pageNames(fwd), [['m1', 'm2', 'm3'], ['m4', 'm5']]);
    assert.equal(first.items[0].data, 'data-5');
    for (const m of first.items) assertStamped(m);
  }],

  ['realtime-history-paginated', async (ctx) => {
    const name = uniq('rthist');
    await restPublishSeries(ctx.rest(), name, 5);
    const rt = ctx.realtime();
    const first = await within(rt.channels.get(name).history({ limit: 2 }), 'realtime history');
    assert.deepEqual(await pageNames(first), [['m5', 'm4'], ['m3', 'm2'], ['m1']]);
  }],

  ['history-untilattach', async (ctx) => {
    const name = uniq('until');
    const rest = ctx.rest();
    await restPublishSeries(rest, name, 2);
    const rt = ctx.realtime();
    const ch = rt.channels.get(name);
    const sub = collect(ch);
    await sub.attached;
    await within(rest.channels.get(name).publish('m3', 'after'), 'REST publish m3');
    assert.equal((await sub.next('m3')).name, 'm3');
    const all = await within(ch.history(), 'history');
    assert.deepEqual(all.items.map((m) => m.name), ['m3', 'm2', 'm1']);
    const until = await within(ch.history({ untilAttach: true }), 'history untilAttach');
    assert.deepEqual(until.items.map((m) => m.name), ['m2', 'm1']);
  }],
];
