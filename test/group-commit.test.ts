// Group commit: requests arriving in one turn of the event loop share one flush, results go back
// to their own callers, and a failed flush fails only its own batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GroupCommit } from '../src/billing/group-commit.js';

test('items submitted from separate socket events of one loop turn share a batch', async () => {
  const sizes: number[] = [];
  // A synchronous flush, like SQLite's: it never yields, so only the scheduling can batch.
  const gc = new GroupCommit<number, number>(async (items) => {
    sizes.push(items.length);
    return items.map((x) => x * 2);
  });
  const server = createServer((req, res) => {
    void gc.submit(Number(req.url!.slice(1))).then((r) => res.end(String(r)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => fetch(`http://127.0.0.1:${port}/${i}`).then((r) => r.text())));
  server.close();
  assert.deepEqual(answers, Array.from({ length: 40 }, (_, i) => String(i * 2)), 'each caller gets its own result');
  assert.equal(sizes.reduce((a, b) => a + b, 0), 40);
  assert.ok(sizes.length < 40, `batched: ${sizes.length} flushes for 40 items (${sizes.join(',')})`);
});

test('a failed flush rejects its own batch only; the next batch still runs', async () => {
  let calls = 0;
  const gc = new GroupCommit<string, string>(async (items) => {
    if (calls++ === 0) throw new Error('database down');
    return items;
  });
  await assert.rejects(gc.submit('a'), /database down/);
  assert.equal(await gc.submit('b'), 'b');
});
