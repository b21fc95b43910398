// ably-js conformance suite for livesync-dev's local Ably endpoint. Every
// case runs once per wire format and is named js:<format>:<item>.
// Run: see README.md.
import { after, before, describe, test } from 'node:test';
import { coreCases } from './cases-core.mjs';
import { limitCases } from './cases-limits.mjs';
import { lifecycleCases } from './cases-lifecycle.mjs';
import { fidelityCases } from './cases-fidelity.mjs';
import { SkipCase, context, startServer } from './harness.mjs';

const CASE_TIMEOUT = 30000;
const FORMATS = (process.env.ABLYJS_FORMATS || 'msgpack,json').split(',');
const ONLY = process.env.ABLYJS_ONLY ? new Set(process.env.ABLYJS_ONLY.split(',')) : null;

describe('ably-js 2.28.0 against livesync-dev ably serve', () => {
  let server;

  before(async () => {
    server = await startServer();
  }, { timeout: 60000 });

  after(async () => {
    if (server) await server.stop();
  });

  for (const format of FORMATS) {
    for (const [item, fn] of [...coreCases, ...limitCases, ...lifecycleCases, ...fidelityCases]) {
      if (ONLY && !ONLY.has(item)) continue;
      test(`js:${format}:${item}`, { timeout: CASE_TIMEOUT }, async (t) => {
        const ctx = context(server, format);
        try {
          await fn(ctx);
        } catch (err) {
          if (!(err instanceof SkipCase)) throw err;
          t.skip(err.message);
        } finally {
          await ctx.close();
        }
      });
    }
  }
});
