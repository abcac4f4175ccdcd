// The models' run-time operations over real HTTP (issue 13, operations): GET /admin/models shows
// each deployment's weight, maintenance, health, circuit and load; PATCH drains a deployment or a
// whole model, or changes a weight, and new requests follow at once while requests in flight on a
// drained deployment finish; bad input changes nothing; no secret of an engine is shown. Then the
// same through `sluice models list|update` against the gateway started here.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { createLogger } from '../src/observability/logger.js';
import { assertContractError } from './helpers/assert-error.js';
import { http, startTestGateway, type TestGateway } from './helpers/gateway.js';

const ADMIN = 'admin-token-for-model-tests-0123456789';
const SECRET_ENV = 'SLUICE_TEST_UPSTREAM_KEY';
const SECRET = 'sk-upstream-very-secret-value';
const FAST = { ttftMs: 1, itlMs: 1 };
/** ~500 ms for a 10-token answer: long enough to drain its deployment while it runs. */
const SLOW = { ttftMs: 1, itlMs: 50 };

let gw: TestGateway;
const logLines: string[] = [];
const admin = (path: string, init: RequestInit & { key?: string } = {}) => http(`${gw.url}/admin${path}`, { key: ADMIN, ...init });
const patch = (path: string, body: unknown) => admin(path, { method: 'PATCH', body: typeof body === 'string' ? body : JSON.stringify(body) });
const chat = (model: string, extra: Record<string, unknown> = {}) =>
  http(`${gw.baseURL}/chat/completions`, { method: 'POST', key: gw.key, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 10, ...extra }) });
const deployment = async (model: string, id: string) => (await admin(`/models/${model}`)).body.deployments.find((d: { id: string }) => d.id === id);

/** The deployment that answered each of `n` requests, in order. */
async function servedBy(model: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await chat(model);
    assert.equal(res.status, 200, res.text);
    out.push(res.headers.get('x-sluice-deployment') ?? 'none');
  }
  return out;
}

async function waitFor(what: string, ok: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

before(async () => {
  process.env[SECRET_ENV] = SECRET;
  const sink = new Writable({ write(c, _e, done) { logLines.push(...String(c).split('\n').filter(Boolean)); done(); } });
  gw = await startTestGateway({
    adminToken: ADMIN,
    models: [
      // least-loaded: these identical prompts would otherwise all follow one prefix-aware home.
      { id: 'duo', routing: 'least-loaded', deployments: [{ id: 'a', engine: 'sim', sim: FAST }, { id: 'b', engine: 'sim', admission: { maxConcurrency: 4 }, sim: FAST }] },
      { id: 'slow', routing: 'least-loaded', deployments: [{ id: 'a', engine: 'sim', sim: SLOW }, { id: 'b', engine: 'sim', sim: FAST }] },
      { id: 'cli', routing: 'least-loaded', deployments: [{ id: 'x', engine: 'sim', sim: FAST }, { id: 'y', engine: 'sim', weight: 3, sim: FAST }] },
      // Model names often carry an organisation: the id goes in the path percent-encoded.
      { id: 'org/slashed', deployments: [{ id: 'only', engine: 'sim', sim: FAST }] },
      // Credentials in the URL and a key in the environment: none of it may be shown. Never called;
      // its metrics poll fails (nothing listens on port 9), so its engine load reads null.
      {
        id: 'upstream',
        owner: 'tester',
        deployments: [{ id: 'remote', engine: 'openai', baseUrl: 'http://operator:hunter2@127.0.0.1:9/v1?token=abc', apiKeyEnv: SECRET_ENV, engineMetrics: { intervalMs: 60_000 } }],
      },
    ],
  }, { logger: createLogger('info', sink) });
});
after(async () => {
  await gw.close();
  delete process.env[SECRET_ENV];
});

describe('GET /admin/models', () => {
  test('every model with each deployment: weight, maintenance, health, circuit, in-flight, admission', async () => {
    const res = await admin('/models');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.object, 'list');
    assert.deepEqual(res.body.data.map((m: { id: string }) => m.id), ['duo', 'slow', 'cli', 'org/slashed', 'upstream']);
    const duo = res.body.data[0];
    assert.deepEqual(duo, {
      id: 'duo',
      kind: 'chat',
      maintenance: false,
      deployments: [
        { id: 'a', engine: 'sim', weight: 1, maintenance: false, health: 'healthy', circuit: { state: 'closed' }, inFlight: 0 },
        { id: 'b', engine: 'sim', weight: 1, maintenance: false, health: 'healthy', circuit: { state: 'closed' }, inFlight: 0, admission: { limit: 4, inService: 0, queued: { critical: 0, standard: 0, batch: 0 } } },
      ],
    });
    assert.deepEqual((await admin('/models/duo')).body, duo, 'one model alone, the same view');
    assert.deepEqual(res.body.data[2].deployments.map((d: { id: string; weight: number }) => [d.id, d.weight]), [['x', 1], ['y', 3]], 'weights from the config');
  });

  test('a model id with a slash, percent-encoded in the path', async () => {
    assert.equal((await admin('/models/org%2Fslashed')).body.id, 'org/slashed');
    const res = await patch('/models/org%2Fslashed/deployments/only', { weight: 7 });
    assert.equal(res.status, 200, res.text);
    assert.equal((await admin('/models/org%2Fslashed')).body.deployments[0].weight, 7);
    await patch('/models/org%2Fslashed/deployments/only', { weight: 1 });
  });

  test("an engine's credentials are never shown: its origin only", async () => {
    const res = await admin('/models/upstream');
    assert.equal(res.status, 200, res.text);
    for (const secret of ['hunter2', 'operator', 'token=abc', SECRET, SECRET_ENV, '/v1']) assert.ok(!res.text.includes(secret), `${secret} leaked: ${res.text}`);
    assert.equal(res.body.owner, 'tester');
    const d = res.body.deployments[0];
    assert.equal(d.origin, 'http://127.0.0.1:9');
    assert.equal(d.engineLoad, null, 'polled, but no reading');
    assert.equal(d.admission.inService, 0, 'the queue that holds requests while the engine is saturated');
    assert.ok(!(await admin('/models')).text.includes('hunter2'));
  });

  test('an open circuit shows when its probe is due; capacity advice shows how long it still runs', async () => {
    // Driven from the inside: the engine on port 9 is never sent a request in this file.
    const d = gw.gateway.deps.registry.get('upstream')!.deployments[0]!;
    for (let i = 0; i < 5; i++) d.circuit.failure();
    d.busyUntil = performance.now() + 2_000;
    try {
      const v = (await admin('/models/upstream')).body.deployments[0];
      assert.equal(v.circuit.state, 'open');
      assert.ok(v.circuit.reopensInMs > 4_000 && v.circuit.reopensInMs <= 5_000, `default cooldown 5 s: ${v.circuit.reopensInMs}`);
      assert.ok(v.busyForMs > 1_000 && v.busyForMs <= 2_000, String(v.busyForMs));
    } finally {
      d.circuit.forceClose('test over');
      d.busyUntil = 0;
    }
    const v = (await admin('/models/upstream')).body.deployments[0];
    assert.deepEqual([v.circuit, v.busyForMs], [{ state: 'closed' }, undefined]);
  });

  test('an unknown model is 404 model_not_found; no or a wrong token is 401', async () => {
    assertContractError(await admin('/models/nope'), 'model_not_found');
    assertContractError(await http(`${gw.url}/admin/models`), 'missing_api_key');
    assertContractError(await http(`${gw.url}/admin/models/duo`, { key: gw.key }), 'invalid_api_key');
    assertContractError(await http(`${gw.url}/admin/models/duo`, { method: 'PATCH', body: JSON.stringify({ maintenance: true }) }), 'missing_api_key');
    assertContractError(await http(`${gw.url}/admin/models/duo/deployments/a`, { method: 'PATCH', key: `${ADMIN}x`, body: JSON.stringify({ maintenance: true }) }), 'invalid_api_key');
    assert.equal((await admin('/models/duo')).body.maintenance, false, 'nothing changed');
    assert.equal((await deployment('duo', 'a')).maintenance, false, 'nothing changed');
  });
});

describe('PATCH: maintenance and weights at run time', () => {
  test('a drained deployment gets no new requests; the last one drained is 503 maintenance; back on, served again', async () => {
    assert.deepEqual(new Set(await servedBy('duo', 20)), new Set(['a', 'b']), 'both serve at first');
    const drained = await patch('/models/duo/deployments/a', { maintenance: true });
    assert.equal(drained.status, 200, drained.text);
    assert.deepEqual({ id: drained.body.id, maintenance: drained.body.maintenance, weight: drained.body.weight }, { id: 'a', maintenance: true, weight: 1 });
    assert.equal((await deployment('duo', 'a')).maintenance, true);
    assert.deepEqual(new Set(await servedBy('duo', 20)), new Set(['b']));

    await patch('/models/duo/deployments/b', { maintenance: true });
    assertContractError(await chat('duo'), 'maintenance');
    assertContractError(await chat('duo', { stream: true }), 'maintenance');

    await patch('/models/duo/deployments/a', { maintenance: false });
    assert.deepEqual(new Set(await servedBy('duo', 10)), new Set(['a']));
    await patch('/models/duo/deployments/b', { maintenance: false });
    assert.deepEqual(new Set(await servedBy('duo', 20)), new Set(['a', 'b']), 'both serve again');
  });

  test('model-wide maintenance is 503 maintenance whatever its deployments; off, served again', async () => {
    const res = await patch('/models/duo', { maintenance: true });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.maintenance, true);
    assert.equal(res.body.deployments.length, 2, 'the model view');
    assert.equal((await admin('/models/duo')).body.maintenance, true);
    assertContractError(await chat('duo'), 'maintenance');
    assert.equal((await patch('/models/duo', { maintenance: false })).body.maintenance, false);
    assert.equal((await chat('duo')).status, 200);
  });

  test('a request in flight on a deployment drained under it finishes there; new ones go elsewhere', async () => {
    // All traffic to the slow deployment first, so the long request surely runs on it.
    await patch('/models/slow/deployments/b', { maintenance: true });
    const started = performance.now();
    const long = chat('slow');
    await waitFor('the request in flight on a', async () => (await deployment('slow', 'a')).inFlight === 1);
    await patch('/models/slow/deployments/a', { maintenance: true });
    await patch('/models/slow/deployments/b', { maintenance: false });
    const a = await deployment('slow', 'a');
    assert.deepEqual([a.maintenance, a.inFlight], [true, 1], 'drained, with its request still running');
    assert.deepEqual(await servedBy('slow', 5), ['b', 'b', 'b', 'b', 'b']);
    const res = await long;
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('x-sluice-deployment'), 'a');
    assert.ok(performance.now() - started >= 300, 'it was still running when its deployment was drained');
    assert.ok(res.body.choices[0].message.content.length > 0);
    assert.equal((await deployment('slow', 'a')).inFlight, 0);
    await patch('/models/slow/deployments/a', { maintenance: false });
  });

  test('a weight change shows in GET and steers the balancer at once', async () => {
    const res = await patch('/models/duo/deployments/a', { weight: 1000 });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.weight, 1000);
    assert.equal((await deployment('duo', 'a')).weight, 1000);
    // Two deployments, both drawn, equally idle: the lower load per unit of weight always wins.
    assert.deepEqual(new Set(await servedBy('duo', 10)), new Set(['a']));
    await patch('/models/duo/deployments/a', { weight: 0.001 });
    assert.deepEqual(new Set(await servedBy('duo', 10)), new Set(['b']));
    const both = await patch('/models/duo/deployments/a', { weight: 2.5, maintenance: false });
    assert.deepEqual([both.body.weight, both.body.maintenance], [2.5, false]);
    await patch('/models/duo/deployments/a', { weight: 1 });
  });

  test('each change is logged at info with who asked and what moved', async () => {
    const res = await patch('/models/cli/deployments/y', { weight: 5 });
    await patch('/models/cli/deployments/y', { weight: 3 });
    await waitFor('the log line', async () => logLines.some((l) => l.includes(res.headers.get('x-request-id')!) && l.includes('changed by the admin API')));
    const line = JSON.parse(logLines.find((l) => l.includes(res.headers.get('x-request-id')!) && l.includes('changed by the admin API'))!);
    assert.equal(line.level, 30);
    assert.deepEqual([line.by, line.model, line.deployment, line.changes], ['admin', 'cli', 'y', { weight: { from: 3, to: 5 } }]);
    assert.match(line.remote, /127\.0\.0\.1/);
    assert.ok(!logLines.some((l) => l.includes(ADMIN)), 'the admin token is never logged');
  });

  test('bad bodies are 400 naming the field, and change nothing', async () => {
    const cases: Array<[string, unknown, string | null]> = [
      ['/models/duo', {}, 'maintenance'],
      ['/models/duo', { maintenance: 'yes' }, 'maintenance'],
      ['/models/duo', { maintenance: 1 }, 'maintenance'],
      ['/models/duo', { maintenance: null }, 'maintenance'],
      ['/models/duo', { maintenance: true, weight: 2 }, 'weight'],
      ['/models/duo/deployments/a', {}, null],
      ['/models/duo/deployments/a', { weight: 0 }, 'weight'],
      ['/models/duo/deployments/a', { weight: -1 }, 'weight'],
      ['/models/duo/deployments/a', { weight: 1001 }, 'weight'],
      ['/models/duo/deployments/a', { weight: '2' }, 'weight'],
      ['/models/duo/deployments/a', { weight: 1e300 }, 'weight'],
      ['/models/duo/deployments/a', { maintenance: 'on' }, 'maintenance'],
      ['/models/duo/deployments/a', { maintenance: true, weight: 0 }, 'weight'],
      ['/models/duo/deployments/a', { weight: 2, colour: 'red' }, 'colour'],
    ];
    for (const [path, body, param] of cases) {
      const res = await patch(path, body);
      assert.equal(res.status, 400, `${path} ${JSON.stringify(body)}: ${res.text}`);
      assertContractError(res, 'invalid_parameter', param);
    }
    // An unknown field is reported as the other admin inputs report it: no param, named in the message.
    assert.match((await patch('/models/duo/deployments/a', { weight: 2, colour: 'red' })).body.error.message, /colour/);
    assertContractError(await patch('/models/duo', '{oops'), 'invalid_json');
    assertContractError(await patch('/models/duo/deployments/a', [true]), 'invalid_json');
    const duo = (await admin('/models/duo')).body;
    assert.equal(duo.maintenance, false);
    assert.deepEqual(duo.deployments.map((d: { weight: number; maintenance: boolean }) => [d.weight, d.maintenance]), [[1, false], [1, false]]);
  });

  test('an unknown model or deployment is 404', async () => {
    assertContractError(await patch('/models/nope', { maintenance: true }), 'model_not_found');
    assertContractError(await patch('/models/nope/deployments/a', { maintenance: true }), 'model_not_found');
    const res = await patch('/models/duo/deployments/zz', { weight: 2 });
    assertContractError(res, 'deployment_not_found');
    assert.match(res.body.error.message, /no deployment 'zz'/);
    // Deployment ids are per model: slow's `a` is not duo's.
    assertContractError(await patch('/models/upstream/deployments/a', { weight: 2 }), 'deployment_not_found');
  });
});

describe('sluice models list|update', () => {
  const cli = new URL('../src/cli/main.js', import.meta.url).pathname;
  const env = (token: string | null) => {
    const e: NodeJS.ProcessEnv = { ...process.env };
    delete e.SLUICE_ADMIN_TOKEN;
    if (token !== null) e.SLUICE_ADMIN_TOKEN = token;
    return e;
  };
  /** Asynchronous: the gateway answering it runs in this process. */
  async function run(args: string[], token: string | null = ADMIN): Promise<{ status: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, ...args], { env: env(token), timeout: 15_000 });
      return { status: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { status: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }
  const url = () => ['--url', gw.url];

  test('list: a table for people, JSON for scripts', async () => {
    const json = await run(['models', 'list', '--json', ...url()]);
    assert.equal(json.status, 0, json.stderr);
    const models = JSON.parse(json.stdout);
    assert.deepEqual(models.find((m: { id: string }) => m.id === 'cli').deployments.map((d: { id: string; weight: number }) => [d.id, d.weight]), [['x', 1], ['y', 3]]);
    const table = await run(['models', 'list', ...url()]);
    assert.equal(table.status, 0, table.stderr);
    for (const col of ['model', 'deployment', 'weight', 'maintenance', 'health', 'circuit', 'in-flight']) assert.match(table.stdout, new RegExp(col));
    assert.match(table.stdout, /│ cli +│ x +│ 1 +│ off +│ healthy +│ closed +│ 0 +│/);
    assert.match(table.stdout, /│ cli +│ y +│ 3 +│ off +│/);
  });

  test('update: a deployment, then the whole model; the gateway changes at once', async () => {
    const w = await run(['models', 'update', 'cli', '--deployment', 'y', '--weight', '4', '--maintenance', 'on', '--json', ...url()]);
    assert.equal(w.status, 0, w.stderr);
    assert.deepEqual([JSON.parse(w.stdout).weight, JSON.parse(w.stdout).maintenance], [4, true]);
    const y = await deployment('cli', 'y');
    assert.deepEqual([y.weight, y.maintenance], [4, true]);
    assert.deepEqual(new Set(await servedBy('cli', 5)), new Set(['x']));
    const table = await run(['models', 'update', 'cli', '-d', 'y', '--maintenance', 'off', ...url()]);
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /│ cli +│ y +│ 4 +│ off +│/);

    const m = await run(['models', 'update', 'cli', '--maintenance', 'on', ...url()]);
    assert.equal(m.status, 0, m.stderr);
    assert.match(m.stdout, /on \(model\)/);
    assert.equal((await admin('/models/cli')).body.maintenance, true);
    assertContractError(await chat('cli'), 'maintenance');
    assert.equal((await run(['models', 'update', 'cli', '--maintenance', 'off', ...url()])).status, 0);
    assert.equal((await chat('cli')).status, 200);
    // The CLI encodes the names it puts in the path.
    const slashed = await run(['models', 'update', 'org/slashed', '-d', 'only', '--maintenance', 'on', '--json', ...url()]);
    assert.equal(slashed.status, 0, slashed.stderr);
    assert.equal((await admin('/models/org%2Fslashed')).body.deployments[0].maintenance, true);
    assertContractError(await chat('org/slashed'), 'maintenance');
    assert.equal((await run(['models', 'update', 'org/slashed', '-d', 'only', '--maintenance', 'off', ...url()])).status, 0);
  });

  test('bad flags, unknown names, a missing or wrong token and no gateway: exit 1 with a reason, nothing changed', async () => {
    const cases: Array<[string[], RegExp, string | null]> = [
      [['models', 'update', 'cli', '--weight', '2'], /--deployment/, ADMIN],
      [['models', 'update', 'cli'], /--maintenance/, ADMIN],
      [['models', 'update', 'cli', '-d', 'x'], /nothing to change/, ADMIN],
      [['models', 'update', 'cli', '-d', 'x', '--weight', '0'], /weight/, ADMIN],
      [['models', 'update', 'cli', '-d', 'x', '--weight', 'lots'], /weight/, ADMIN],
      [['models', 'update', 'cli', '-d', 'x', '--maintenance', 'maybe'], /on or off/, ADMIN],
      [['models', 'update', 'nope', '--maintenance', 'on'], /model_not_found/, ADMIN],
      [['models', 'update', 'cli', '-d', 'zz', '--weight', '2'], /no deployment 'zz'/, ADMIN],
      [['models', 'list'], /admin token/, null],
      [['models', 'list'], /invalid_api_key/, `${ADMIN}x`],
    ];
    for (const [args, reason, token] of cases) {
      const r = await run([...args, ...url()], token);
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, reason, args.join(' '));
    }
    const down = await run(['models', 'list', '--url', 'http://127.0.0.1:9']);
    assert.equal(down.status, 1);
    assert.match(down.stderr, /cannot reach the gateway at http:\/\/127\.0\.0\.1:9/);
    const cliModel = (await admin('/models/cli')).body;
    assert.equal(cliModel.maintenance, false);
    assert.deepEqual(cliModel.deployments.map((d: { weight: number; maintenance: boolean }) => [d.weight, d.maintenance]), [[1, false], [4, false]]);
  });

  test('a gateway without an admin token: the CLI says so', async () => {
    const plain = await startTestGateway();
    try {
      const r = await run(['models', 'list', '--url', plain.url]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /has no admin API/);
    } finally {
      await plain.close();
    }
  });
});
