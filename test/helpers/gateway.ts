// Starts a real gateway on port 0 with its own SQLite file and a fresh key, for one test file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { parseConfigDocument } from '../../src/config/load.js';
import type { SluiceConfig } from '../../src/config/schema.js';
import { createKeyFor } from '../../src/keys/bootstrap.js';
import { applyDeclaredAccounts } from '../../src/admin/apply-declared.js';
import { createLogger, type Logger } from '../../src/observability/logger.js';
import type { EngineFactory } from '../../src/routing/registry.js';
import { startGateway, type Gateway } from '../../src/server/gateway.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import type { SweeperOptions } from '../../src/store/responses-sweeper.js';

export interface TestGateway {
  gateway: Gateway;
  url: string;
  /** Base URL for the OpenAI client: url + /v1. */
  baseURL: string;
  key: string;
  store: Store;
  config: SluiceConfig;
  client(opts?: { maxRetries?: number; timeout?: number; apiKey?: string }): OpenAI;
  /** Waits until every journaled ledger row is in the database. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/** A chat model on the in-process simulator with fast timings. */
export function simModel(id: string, extra: Record<string, unknown> = {}, sim: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, deployments: [{ id: `${id}-sim`, engine: 'sim', faultHeader: true, sim: { ttftMs: 1, itlMs: 1, ...sim } }], ...extra };
}

export async function startTestGateway(doc: Record<string, unknown> = {}, opts: { engineFor?: EngineFactory; store?: string; logger?: Logger; responsesSweeper?: SweeperOptions; requestLogSweeper?: SweeperOptions } = {}): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-test-'));
  const config = parseConfigDocument({
    store: opts.store ?? `sqlite://${join(dir, 'sluice.db')}`,
    logLevel: 'silent',
    models: [simModel('test-chat'), { id: 'test-embed', kind: 'embedding', deployments: [{ id: 'embed-sim', engine: 'sim', sim: { ttftMs: 1 } }] }],
    ...doc,
    server: { host: '127.0.0.1', port: 0, ...(doc.server as object | undefined) },
  }, 'test');
  const store = await openStore(config.store);
  await applyDeclaredAccounts(store, config.accounts);
  const { key } = await createKeyFor(store, 'tester');
  const gateway = await startGateway({ config, store, logger: opts.logger ?? createLogger('silent'), engineFor: opts.engineFor, responsesSweeper: opts.responsesSweeper, requestLogSweeper: opts.requestLogSweeper });
  const baseURL = `${gateway.url}/v1`;
  return {
    gateway,
    url: gateway.url,
    baseURL,
    key,
    store,
    config,
    client: (o = {}) => new OpenAI({ baseURL, apiKey: o.apiKey ?? key, maxRetries: o.maxRetries ?? 0, timeout: o.timeout ?? 20_000 }),
    settled: () => gateway.deps.billing.flush(),
    async close() {
      await gateway.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Raw HTTP: the status, headers and parsed body of one request. */
export async function http(url: string, init: RequestInit & { key?: string } = {}): Promise<{ status: number; headers: Headers; body: any; text: string }> {
  const headers = new Headers(init.headers);
  if (init.key) headers.set('authorization', `Bearer ${init.key}`);
  if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
  const res = await fetch(url, { ...init, headers });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, body, text };
}
