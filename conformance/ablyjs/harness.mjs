// Harness for the ably-js conformance cases: finds or starts the local Ably
// endpoint, builds SDK clients pointed at it and provides event helpers that
// wait with a timeout (never a fixed sleep).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import * as Ably from 'ably';

export { Ably };

/** Default wait for one awaited event, in milliseconds. */
export const EVENT_TIMEOUT = 10000;

/** All-access key used when this harness starts the server itself. */
export const DEFAULT_KEY = 'app.key:secret';
/** Restricted key used when this harness starts the server itself. */
export const DEFAULT_KEY2 = 'app.key2:secret2';
/** Capability of DEFAULT_KEY2 as configured on the server. */
export const KEY2_CAPABILITY = { 'allowed:*': ['publish', 'subscribe', 'history'] };

/**
 * Resolves with the value of promise, or rejects with a clear message after
 * ms milliseconds.
 */
export function within(promise, what, ms = EVENT_TIMEOUT) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Returns a channel name unique to this run. */
export function uniq(prefix) {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/** Returns a free TCP port on 127.0.0.1 (the OS picks it). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Polls GET /time until the server answers 200 or the deadline passes. */
async function waitForTime(addr, child, deadline) {
  let lastErr;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) {
      throw new Error(`livesync-dev exited with code ${child.exitCode} before answering GET /time`);
    }
    try {
      const res = await fetch(`http://${addr}/time`);
      if (res.ok) return;
      lastErr = new Error(`GET /time answered ${res.status}`);
    } catch (err) {
      lastErr = err;
    }
    // Back off between polls; this is a readiness poll, not synchronisation.
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server at ${addr} did not answer GET /time: ${lastErr?.message}`);
}

/**
 * Returns {addr, key, key2, stop} for the endpoint under test: from
 * ABLY_LOCAL_ADDR / ABLY_LOCAL_KEY / ABLY_LOCAL_KEY2 when set, otherwise by
 * starting `$LIVESYNC_DEV_BIN ably serve` on a free port with two keys.
 */
export async function startServer() {
  if (process.env.ABLY_LOCAL_ADDR) {
    const addr = process.env.ABLY_LOCAL_ADDR;
    await waitForTime(addr, null, Date.now() + 15000);
    return {
      addr,
      key: process.env.ABLY_LOCAL_KEY || DEFAULT_KEY,
      key2: process.env.ABLY_LOCAL_KEY2 || DEFAULT_KEY2,
      stop: async () => {},
    };
  }
  return spawnServer();
}

/** Thrown by cases that need their own server when no binary is configured. */
export class SkipCase extends Error {}

/**
 * Starts `$LIVESYNC_DEV_BIN ably serve` on a free 127.0.0.1 port with the two
 * default keys and extraArgs (e.g. ['--limits', 'ably']). Returns {addr, key,
 * key2, pid, signal(sig), exited, stop, output}; exited resolves with
 * {code, signal} when the process ends.
 */
export async function spawnServer(extraArgs = []) {
  const bin = process.env.LIVESYNC_DEV_BIN;
  if (!bin) {
    if (process.env.ABLY_LOCAL_ADDR) {
      throw new SkipCase('needs its own server: set LIVESYNC_DEV_BIN to the livesync-dev binary');
    }
    throw new Error('set ABLY_LOCAL_ADDR (and ABLY_LOCAL_KEY) or LIVESYNC_DEV_BIN to the livesync-dev binary');
  }
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const addr = `127.0.0.1:${port}`;
    const key2Spec = `${DEFAULT_KEY2}=${JSON.stringify(KEY2_CAPABILITY)}`;
    const args = ['ably', 'serve', '--addr', addr, '--key', DEFAULT_KEY, '--key', key2Spec, ...extraArgs];
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
    const killOnExit = () => { if (child.exitCode === null) child.kill('SIGKILL'); };
    process.once('exit', killOnExit);
    const stop = async () => {
      process.removeListener('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    };
    try {
      await waitForTime(addr, child, Date.now() + 20000);
      return {
        addr,
        key: DEFAULT_KEY,
        key2: DEFAULT_KEY2,
        pid: child.pid,
        signal: (sig) => child.kill(sig),
        exited,
        stop,
        output: () => output,
      };
    } catch (err) {
      lastErr = new Error(`${err.message}\nserver output:\n${output}`);
      await stop();
    }
  }
  throw lastErr;
}

/** Builds the per-format client options pointing at addr. */
export function clientOptions(addr, binary, extra = {}) {
  const [host, port] = addr.split(':');
  return {
    endpoint: host === 'localhost' ? 'localhost' : host,
    port: Number(port),
    tls: false,
    useBinaryProtocol: binary,
    logLevel: 0,
    ...extra,
  };
}

/**
 * Creates a per-test context: client factories bound to the format, and a
 * close() that closes every realtime client the test opened.
 */
export function context(server, format) {
  const binary = format === 'msgpack';
  const opened = [];
  const cleanups = [];
  return {
    format,
    binary,
    addr: server.addr,
    key: server.key,
    key2: server.key2,
    options: (extra) => clientOptions(server.addr, binary, extra),
    rest(extra = {}) {
      const opts = clientOptions(server.addr, binary, { key: server.key, ...extra });
      if (extra.authCallback || extra.token) delete opts.key;
      return new Ably.Rest(opts);
    },
    realtime(extra = {}) {
      const opts = clientOptions(server.addr, binary, { key: server.key, ...extra });
      if (extra.authCallback || extra.token) delete opts.key;
      const rt = new Ably.Realtime(opts);
      opened.push(rt);
      return rt;
    },
    /**
     * Starts a separate server with extraArgs for this case and returns
     * {server, ctx}: a context bound to it; both are closed with this one.
     */
    async ownServer(extraArgs = []) {
      const own = await spawnServer(extraArgs);
      const sub = context(own, format);
      cleanups.push(async () => { await sub.close(); await own.stop(); });
      return { server: own, ctx: sub };
    },
    async close() {
      await Promise.all(opened.map((rt) => closeRealtime(rt)));
      for (const fn of cleanups.splice(0).reverse()) await fn();
    },
  };
}

/** Closes a realtime client and waits (bounded) until it is closed or failed. */
async function closeRealtime(rt) {
  const state = rt.connection.state;
  if (state === 'closed' || state === 'failed') return;
  const done = new Promise((r) => {
    rt.connection.on((change) => {
      if (change.current === 'closed' || change.current === 'failed') r();
    });
  });
  rt.close();
  await within(done, 'the realtime client to close', 5000).catch(() => {});
}

/**
 * Waits until the connection reaches state; rejects early with the reason if
 * it reaches "failed" instead.
 */
export function waitState(connection, state, ms = EVENT_TIMEOUT) {
  if (connection.state === state) return Promise.resolve(null);
  const p = new Promise((resolve, reject) => {
    const listener = (change) => {
      if (change.current === state) {
        connection.off(listener);
        resolve(change);
      } else if (change.current === 'failed') {
        connection.off(listener);
        reject(new Error(`connection failed while waiting for ${state}: ${describeErr(change.reason)}`));
      }
    };
    connection.on(listener);
  });
  return within(p, `connection state ${state}`, ms);
}

/** Formats an ErrorInfo (or any error) with its code and status. */
export function describeErr(err) {
  if (!err) return 'no error';
  return `${err.message} (code ${err.code}, statusCode ${err.statusCode})`;
}

/**
 * Subscribes to a channel and returns {attached, next(what)}: attached
 * resolves once the subscribe attach completes; next() resolves with the
 * next delivered message, in order.
 */
export function collect(channel) {
  const queue = [];
  const waiters = [];
  const attached = channel.subscribe((msg) => {
    const w = waiters.shift();
    if (w) w(msg);
    else queue.push(msg);
  });
  return {
    attached: within(attached, `attach of ${channel.name}`),
    next(what = 'a message', ms = EVENT_TIMEOUT) {
      if (queue.length) return Promise.resolve(queue.shift());
      return within(new Promise((r) => waiters.push(r)), `${what} on ${channel.name}`, ms);
    },
    pending: () => queue.length,
  };
}

/**
 * Asserts that promise rejects with an Ably error whose code is one of codes
 * and returns the error.
 */
export async function expectAblyError(promise, codes, what) {
  const list = Array.isArray(codes) ? codes : [codes];
  let err;
  try {
    await within(promise, what);
  } catch (e) {
    err = e;
  }
  if (!err) throw new Error(`${what}: expected Ably error ${list.join('/')}, but it succeeded`);
  if (!list.includes(err.code)) {
    throw new Error(`${what}: expected Ably error ${list.join('/')}, got ${describeErr(err)}`);
  }
  return err;
}

/** Returns the Basic Authorization header value for an API key. */
export function basicAuth(key) {
  return 'Basic ' + Buffer.from(key).toString('base64');
}
