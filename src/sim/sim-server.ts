// `sluice sim`: the simulator as a standalone OpenAI-compatible HTTP server that serves any model
// name, so the `openai` engine is tested over real HTTP. It answers errors the way vLLM does
// (these bodies are the engine's, which the gateway maps to its own catalog), and injects faults
// at the HTTP level: resets, cut streams, bad JSON. GET /metrics serves vLLM's load gauges and
// prefix-cache counters, and one of its own: the most requests the engine ever held at once.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simSettingsSchema, type FaultName, type SimSettings } from '../config/schema.js';
import { CUT_AFTER_CHUNKS, drawFault, FAULT_HEADER, parseFault } from './faults.js';
import { EngineFullError } from './scheduler.js';
import type { PrefixCacheStats } from './prefix-cache.js';
import { SimCore, SimRequestError, type SimLoad } from './sim-core.js';
import { simResponsesRequest, type SimResponsesRequest } from './sim-responses.js';
import { SimAdapterError, type SimAdapters } from './sim-adapters.js';

/** The model name /v1/models lists and the metrics are labelled with. */
const MODEL_NAME = 'sim';

/** The model_name label vLLM puts on its metrics, escaped as the text format requires. */
function modelLabel(modelName: string): string {
  return `{model_name="${modelName.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"}`;
}

/**
 * vLLM's load gauges in the Prometheus text format, named, labelled and described as vLLM's are.
 * vLLM has since deprecated vllm:gpu_cache_usage_perc for vllm:kv_cache_usage_perc
 * (vllm-project/vllm#18354), so both names are served.
 */
export function vllmMetricsText(load: SimLoad, modelName = MODEL_NAME): string {
  const label = modelLabel(modelName);
  const gauge = (name: string, help: string, value: number) => `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name}${label} ${value}\n`;
  return gauge('vllm:num_requests_running', 'Number of requests in model execution batches.', load.running)
    + gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', load.waiting)
    + gauge('vllm:gpu_cache_usage_perc', 'GPU KV-cache usage. 1 means 100 percent usage.', load.cacheUsage)
    + gauge('vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.', load.cacheUsage);
}

/**
 * The prefix cache's counters under vLLM's names, in tokens (vllm/v1/metrics/loggers.py):
 * vllm:prefix_cache_queries and vllm:prefix_cache_hits, Prometheus counters, so scraped with
 * `_total`. Also the names they replaced, for dashboards and routers written against them:
 * vllm:gpu_prefix_cache_queries / _hits (V1 until vLLM 0.9 deprecated them, same values), and V0's
 * gauge vllm:gpu_prefix_cache_hit_rate, here hits / queries since the start.
 */
export function prefixCacheMetricsText(stats: PrefixCacheStats, modelName = MODEL_NAME): string {
  const label = modelLabel(modelName);
  const counter = (name: string, help: string, value: number) => `# HELP ${name}_total ${help}\n# TYPE ${name}_total counter\n${name}_total${label} ${value}\n`;
  const rate = stats.queries > 0 ? stats.hits / stats.queries : 0;
  return counter('vllm:prefix_cache_queries', 'Prefix cache queries, in terms of number of queried tokens.', stats.queries)
    + counter('vllm:prefix_cache_hits', 'Prefix cache hits, in terms of number of cached tokens.', stats.hits)
    + counter('vllm:gpu_prefix_cache_queries', 'GPU prefix cache queries, in terms of number of queried tokens. DEPRECATED: Use vllm:prefix_cache_queries instead.', stats.queries)
    + counter('vllm:gpu_prefix_cache_hits', 'GPU prefix cache hits, in terms of number of cached tokens. DEPRECATED: Use vllm:prefix_cache_hits instead.', stats.hits)
    + `# HELP vllm:gpu_prefix_cache_hit_rate GPU prefix cache block hit rate.\n# TYPE vllm:gpu_prefix_cache_hit_rate gauge\nvllm:gpu_prefix_cache_hit_rate${label} ${rate}\n`;
}

/**
 * Not a vLLM metric: the high-water mark of running + waiting since the server started. Gauges
 * sampled now and then miss a short peak; this one is exact, so the overload benchmark can show
 * that admission never sent the engine more than its concurrency.
 */
export const PEAK_METRIC = 'sluice_sim_requests_peak';

function peakMetricText(peak: number): string {
  return `# HELP ${PEAK_METRIC} Most requests running and waiting at once since the simulator started.\n# TYPE ${PEAK_METRIC} gauge\n${PEAK_METRIC} ${peak}\n`;
}

/** Not vLLM metrics: the adapters' loads, failures and unloads, and requests per loaded adapter. */
function adapterMetricsText(adapters: SimAdapters): string {
  const counter = (name: string, help: string, value: number) => `# HELP ${name} ${help}\n# TYPE ${name} counter\n${name} ${value}\n`;
  const { loads, failures, unloads } = adapters.counts;
  let out = counter('sluice_sim_adapter_loads_total', 'LoRA adapter loads asked for, failed ones included.', loads)
    + counter('sluice_sim_adapter_load_failures_total', 'LoRA adapter loads that failed.', failures)
    + counter('sluice_sim_adapter_unloads_total', 'LoRA adapters unloaded.', unloads)
    + '# HELP sluice_sim_adapter_requests_total Requests served per LoRA adapter.\n# TYPE sluice_sim_adapter_requests_total counter\n';
  for (const [name, n] of adapters.requests) out += `sluice_sim_adapter_requests_total${modelLabel(name).replace('model_name', 'adapter')} ${n}\n`;
  return out;
}

/** vLLM's POST /v1/load_lora_adapter and /v1/unload_lora_adapter, with vLLM's answers. */
async function adapterRoute(core: SimCore, path: string, body: Record<string, unknown>, res: ServerResponse): Promise<void> {
  const name = body.lora_name;
  if (typeof name !== 'string' || name === '') return vllmError(res, 400, 'lora_name must be a non-empty string', {}, 'lora_name');
  try {
    if (path === '/v1/load_lora_adapter') {
      const source = body.lora_path;
      if (typeof source !== 'string' || source === '') return vllmError(res, 400, 'lora_path must be a non-empty string', {}, 'lora_path');
      const abort = new AbortController();
      res.once('close', () => abort.abort(new Error('client closed')));
      await core.adapters.load(name, source, abort.signal);
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`Success: LoRA adapter '${name}' added successfully.`);
    } else {
      core.adapters.unload(name);
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`Success: LoRA adapter '${name}' removed successfully.`);
    }
  } catch (err) {
    if (err instanceof SimAdapterError) return vllmError(res, err.status, err.message);
    throw err;
  }
}

export interface SimServerOptions {
  port?: number;
  host?: string;
  faultHeader?: boolean;
  settings?: Partial<SimSettings>;
}

export interface SimServer {
  url: string;
  /** Requests received per path, so tests can count retries. */
  hits: Map<string, number>;
  totalHits(): number;
  core: SimCore;
  close(): Promise<void>;
}


function vllmError(res: ServerResponse, status: number, message: string, extraHeaders: Record<string, string> = {}, param: string | null = null): void {
  const body = JSON.stringify({ object: 'error', message, type: status === 400 ? 'BadRequestError' : 'ServerError', param, code: status });
  res.writeHead(status, { 'content-type': 'application/json', ...extraHeaders });
  res.end(body);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  const parsed = JSON.parse(Buffer.concat(parts).toString('utf8')) as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new SyntaxError('body must be an object');
  return parsed as Record<string, unknown>;
}

function waitForClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => res.once('close', () => resolve()));
}

export async function startSimServer(opts: SimServerOptions = {}): Promise<SimServer> {
  const settings = simSettingsSchema.parse(opts.settings ?? {});
  const core = new SimCore(settings);
  const hits = new Map<string, number>();
  let peak = 0;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (req.method === 'GET' && (path === '/health' || path === '/v1/health')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (req.method === 'GET' && path === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ id: MODEL_NAME, object: 'model', created: 0, owned_by: 'sluice-sim' }, ...core.adapters.list(MODEL_NAME)] }));
      return;
    }
    if (req.method === 'GET' && path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(vllmMetricsText(core.load()) + prefixCacheMetricsText(core.prefixCacheStats()) + peakMetricText(peak) + adapterMetricsText(core.adapters));
      return;
    }
    const endpoint = path === '/v1/chat/completions' ? 'chat' : path === '/v1/completions' ? 'completions' : path === '/v1/embeddings' ? 'embeddings' : path === '/v1/responses' ? 'responses' : undefined;
    const adapterPath = path === '/v1/load_lora_adapter' || path === '/v1/unload_lora_adapter';
    if (req.method !== 'POST' || (endpoint === undefined && !adapterPath)) {
      vllmError(res, 404, `no route ${req.method} ${path}`);
      return;
    }
    let body: Record<string, unknown>;
    try {
      body = await readJson(req);
    } catch {
      vllmError(res, 400, 'request body is not valid JSON');
      return;
    }
    if (endpoint === undefined) return adapterRoute(core, path, body, res);
    // vLLM answers 404 for an adapter it does not hold (never loaded here, unloaded, or failed).
    if (!core.adapters.serves(String(body.model))) return vllmError(res, 404, `The model \`${String(body.model)}\` does not exist.`, {}, 'model');
    const fault: FaultName | undefined = (opts.faultHeader ? parseFault(req.headers[FAULT_HEADER]) : undefined) ?? drawFault(settings.faultRates);
    const abort = new AbortController();
    res.once('close', () => abort.abort(new Error('client closed')));
    const signal = abort.signal;

    switch (fault) {
      case 'crash': return vllmError(res, 500, 'simulated engine crash');
      case 'capacity': return vllmError(res, 503, 'simulated: engine at capacity', { 'retry-after': '2' });
      case 'rate-limited': return vllmError(res, 429, 'simulated: rate limited', { 'retry-after': '1' });
      case 'status-418': return vllmError(res, 418, "simulated: I'm a teapot");
      case 'reset': req.socket.destroy(); return;
      case 'hang': return waitForClose(res);
      default: break;
    }
    const firstTokenDelay = fault === 'slow-first-token' ? settings.slowFirstTokenMs : undefined;

    if (endpoint === 'embeddings') {
      const out = (await core.embeddings(body, signal)).text;
      const broken = fault === 'invalid-json' || fault === 'cut-stream';
      res.writeHead(200, { 'content-type': 'application/json' }).end(broken ? out.slice(0, Math.floor(out.length / 2)) : out);
      return;
    }
    // The Responses API runs as chat, its answer retold (sim-responses.ts).
    let responses: SimResponsesRequest | undefined;
    let plan;
    try {
      if (endpoint === 'responses') {
        responses = simResponsesRequest(body);
        body = responses.chat;
      }
      plan = await core.plan(endpoint === 'responses' ? 'chat' : endpoint, body);
    } catch (err) {
      if (err instanceof SimRequestError) return vllmError(res, 400, err.message, {}, err.param);
      throw err;
    }
    let release: () => void;
    try {
      const admitting = core.admit(signal);
      // The scheduler has counted this request (running or waiting) before admit's first await,
      // and the count only grows here: its maximum over these moments is the exact peak.
      const { running, waiting } = core.scheduler.load;
      peak = Math.max(peak, running + waiting);
      release = await admitting;
    } catch (err) {
      if (err instanceof EngineFullError) return vllmError(res, 503, 'engine queue is full', { 'retry-after': '1' });
      throw err;
    }
    try {
      if (body.stream === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
        let sent = 0;
        for await (const chunk of core.stream(plan, signal, includeUsage, firstTokenDelay)) {
          if (fault === 'cut-stream' && sent === CUT_AFTER_CHUNKS) {
            res.end();
            return;
          }
          if (fault === 'invalid-json') res.write(`data: ${JSON.stringify(chunk).slice(0, 20)}\n\n`);
          else res.write(responses ? responses.events(chunk) : `data: ${JSON.stringify(chunk)}\n\n`);
          sent++;
        }
        res.end(responses ? responses.end() : 'data: [DONE]\n\n');
        return;
      }
      const answer = await core.complete(plan, signal, firstTokenDelay);
      const out = responses ? responses.answer(answer) : JSON.stringify(answer);
      if (fault === 'invalid-json' || fault === 'cut-stream') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(out.slice(0, Math.floor(out.length / 2)));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(out)) }).end(out);
    } finally {
      release();
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if ((err as Error)?.name === 'AbortError' || res.destroyed) return;
      if (!res.headersSent) vllmError(res, 500, `simulator error: ${(err as Error).message}`);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}/v1`,
    hits,
    totalHits: () => [...hits.values()].reduce((a, b) => a + b, 0),
    core,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
