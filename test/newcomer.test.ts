// A newcomer's path: start with no config, use the printed key with the openai client
// (non-streaming and streaming), create another key, stop cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';

const cli = new URL('../src/cli/main.js', import.meta.url).pathname;

function startServe(cwd: string): Promise<{ child: ChildProcess; url: string; key: string | undefined; output: () => string }> {
  const child = spawn(process.execPath, [cli, 'serve', '--port', '0'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${out}`)), 10_000);
    const check = () => {
      const url = /Sluice listening on (http:\/\/\S+)\/v1/.exec(out)?.[1];
      if (!url) return;
      // Give the first-key banner, written right after, a moment to arrive.
      setTimeout(() => {
        clearTimeout(timer);
        resolve({ child, url, key: /^ {2}(sk-sluice-\S+)$/m.exec(out)?.[1], output: () => out });
      }, 100);
      child.stdout!.off('data', check);
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`serve exited ${code}:\n${out}`)));
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

test('start with no config, call it with the printed key, stop', { timeout: 30_000 }, async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'sluice-newcomer-'));
  const first = await startServe(cwd);
  assert.ok(first.key, `a first key is printed:\n${first.output()}`);
  assert.ok(existsSync(join(cwd, 'sluice.db')), 'data kept in a SQLite file in the working directory');

  const client = new OpenAI({ baseURL: `${first.url}/v1`, apiKey: first.key, maxRetries: 0 });
  const models = (await client.models.list()).data.map((m) => m.id);
  assert.ok(models.length >= 3);
  const chat = await client.chat.completions.create({ model: models[0]!, messages: [{ role: 'user', content: 'Say hello' }] });
  assert.ok(chat.choices[0]!.message.content!.length > 0);
  const stream = await client.chat.completions.create({ model: models[0]!, messages: [{ role: 'user', content: 'Say hello' }], stream: true });
  let text = '';
  for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
  assert.ok(text.length > 0);
  assert.ok(!first.output().includes('authorization'), 'no authorization header in the logs');
  assert.equal(first.output().split(first.key!).length - 1, 2, 'the key is printed only in the first-start banner');
  assert.equal(await stop(first.child), 0, 'SIGTERM exits 0');

  // keys create prints only the key, on the same store.
  const created = spawnSync(process.execPath, [cli, 'keys', 'create'], { cwd, encoding: 'utf8', timeout: 10_000 });
  assert.equal(created.status, 0, created.stderr);
  assert.match(created.stdout, /^sk-sluice-[a-z0-9]{10}_[0-9a-f]{48}\n$/);

  // A second start prints no key; both keys work.
  const second = await startServe(cwd);
  assert.equal(second.key, undefined, 'no key printed on later starts');
  for (const apiKey of [first.key!, created.stdout.trim()]) {
    const c = new OpenAI({ baseURL: `${second.url}/v1`, apiKey, maxRetries: 0 });
    assert.ok((await c.models.list()).data.length >= 3);
  }
  assert.equal(await stop(second.child), 0);
});

test('sluice sim runs the simulator as a standalone OpenAI-compatible server for any model name', { timeout: 20_000 }, async () => {
  const child = spawn(process.execPath, [cli, 'sim', '--port', '0', '--fault-header'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`sim exited ${code}: ${out}`)));
    });
    const client = new OpenAI({ baseURL: url, apiKey: 'anything', maxRetries: 0 });
    const r = await client.chat.completions.create({ model: 'any/model-name', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 });
    assert.equal(r.model, 'any/model-name');
    assert.equal(r.usage!.completion_tokens, 3);
    await assert.rejects(
      client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-sluice-fault': 'status-418' } }),
      (e: unknown) => e instanceof OpenAI.APIError && e.status === 418,
    );
  } finally {
    child.kill('SIGTERM');
  }
});
