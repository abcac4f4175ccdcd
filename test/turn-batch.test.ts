// Log lines of one loop turn reach the destination as one write; flush and exit lose none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TurnBatch } from '../src/observability/turn-batch.js';

test('lines written in one turn leave in one write, in order', async () => {
  const writes: string[] = [];
  const batch = new TurnBatch({ write: (s: string) => void writes.push(s) });
  batch.write('a\n');
  batch.write('b\n');
  assert.deepEqual(writes, [], 'nothing before the turn ends');
  await new Promise((r) => setImmediate(r));
  batch.write('c\n');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(writes, ['a\nb\n', 'c\n']);
  batch.write('d\n');
  let flushed = false;
  batch.flush(() => (flushed = true));
  assert.deepEqual(writes, ['a\nb\n', 'c\n', 'd\n']);
  assert.equal(flushed, true, 'a destination without flush still calls back');
});

test('a destination that throws loses its lines, not the process', async () => {
  let calls = 0;
  const batch = new TurnBatch({ write: () => {
    calls++;
    throw new Error('destroyed');
  } });
  batch.write('x\n');
  await new Promise((r) => setImmediate(r));
  assert.equal(calls, 1);
});

test('lines logged just before process.exit are written', () => {
  const logger = fileURLToPath(new URL('../src/observability/logger.js', import.meta.url));
  const script = `import(${JSON.stringify(logger)}).then(({ createLogger }) => { const l = createLogger('info'); l.info('first'); l.info('last'); process.exit(0); });`;
  const out = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  const msgs = out.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { msg: string }).msg);
  assert.deepEqual(msgs, ['first', 'last']);
});
