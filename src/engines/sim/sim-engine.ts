// The built-in simulator as an in-process engine. Faults are turned into the same catalog errors
// the `openai` engine produces when the standalone simulator injects them over HTTP.
import type { DeploymentConfig, FaultName, SimSettings } from '../../config/schema.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { CUT_AFTER_CHUNKS, drawFault } from '../../sim/faults.js';
import type { PrefixCacheStats } from '../../sim/prefix-cache.js';
import { EngineFullError } from '../../sim/scheduler.js';
import { SimCore, SimRequestError, type GenerationPlan, type SimLoad } from '../../sim/sim-core.js';
import { errorFromUpstreamStatus } from '../upstream-errors.js';
import type { AdapterSpec, Engine, EngineCall, JsonAnswer, StreamAnswer, Usage } from '../types.js';
import type { Cancellation } from '../../server/cancellation.js';
import { SimAdapterError, type SimAdapterCounts } from '../../sim/sim-adapters.js';
import { AdapterLoadError } from '../adapter-load-error.js';


const STATUS_FAULTS: Partial<Record<FaultName, number>> = { crash: 500, capacity: 503, 'rate-limited': 429, 'status-418': 418 };

function never(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
}

export class SimEngine implements Engine {
  /** json() says when the simulated first token came, so hangs are found within firstTokenMs. */
  readonly reportsFirstToken = true;
  private readonly core: SimCore;

  constructor(settings: SimSettings) {
    this.core = new SimCore(settings);
  }

  /** The simulated engine's load, as vLLM reports it: running and waiting requests, KV-cache usage. */
  load(): SimLoad {
    return this.core.load();
  }

  /** Its prefix cache's size and counters (in tokens), as `sluice sim` publishes them on /metrics. */
  prefixCacheStats(): PrefixCacheStats {
    return this.core.prefixCacheStats();
  }

  /** Faults that fail the request before any answer. Returns the first-token delay override. */
  private async preflight(fault: FaultName | undefined, signal: AbortSignal): Promise<number | undefined> {
    if (fault === undefined) return undefined;
    const status = STATUS_FAULTS[fault];
    if (status !== undefined) throw errorFromUpstreamStatus(status, `{"message":"simulated ${fault}"}`, '1');
    if (fault === 'reset') throw new GatewayError('upstream_unreachable', { cause: new Error('simulated connection reset') });
    if (fault === 'hang') await never(signal);
    return fault === 'slow-first-token' ? this.core.settings.slowFirstTokenMs : undefined;
  }

  private async plan(call: EngineCall): Promise<GenerationPlan> {
    try {
      return await this.core.plan(call.endpoint === 'chat' ? 'chat' : 'completions', call.body);
    } catch (err) {
      // Coded as the openai engine codes the same 400 from `sluice sim` (upstream-errors.ts): the
      // in-process and HTTP simulators answer alike.
      if (err instanceof SimRequestError) {
        const code = /not supported|unsupported/i.test(err.message) ? 'unsupported_parameter' : 'invalid_parameter';
        throw new GatewayError(code, { message: err.message, param: err.param });
      }
      throw err;
    }
  }

  private async admit(signal: AbortSignal): Promise<() => void> {
    try {
      return await this.core.admit(signal);
    } catch (err) {
      if (err instanceof EngineFullError) throw new GatewayError('engine_overloaded', { retryAfterMs: 1000 });
      throw err;
    }
  }

  private pickFault(call: EngineCall): FaultName | undefined {
    return call.fault ?? drawFault(this.core.settings.faultRates);
  }

  /** The simulated engine's adapter loads, failures and unloads so far. */
  adapterCounts(): Readonly<SimAdapterCounts> {
    return this.core.adapters.counts;
  }

  /** Whether the engine holds the adapter now. */
  hasAdapter(name: string): boolean {
    return this.core.adapters.has(name);
  }

  async loadAdapter(_d: DeploymentConfig, adapter: AdapterSpec, cancel: Cancellation): Promise<void> {
    try {
      await this.core.adapters.load(adapter.name, adapter.source, cancel.signal);
    } catch (err) {
      // Loaded already (a second gateway replica, or one restarted): it is there, as asked.
      if (err instanceof SimAdapterError && err.status === 400 && this.core.adapters.has(adapter.name)) return;
      if (err instanceof SimAdapterError) throw new AdapterLoadError(err.message);
      throw err;
    }
  }

  async unloadAdapter(_d: DeploymentConfig, name: string): Promise<void> {
    this.core.adapters.unload(name);
  }

  /** An adapter's call on an engine that does not hold it: vLLM's 404, coded as the openai engine codes it. */
  private checkAdapter(call: EngineCall): void {
    const name = String(call.body.model);
    if (!this.core.adapters.has(name) || !this.core.adapters.serves(name)) {
      throw errorFromUpstreamStatus(404, `{"message":"The model \`${name}\` does not exist."}`);
    }
  }

  async json(call: EngineCall): Promise<JsonAnswer> {
    if (call.model.adapter !== undefined) this.checkAdapter(call); // an adapter model only
    const fault = this.pickFault(call);
    const delay = await this.preflight(fault, call.cancel.signal);
    if (call.endpoint === 'embeddings') {
      if (fault === 'cut-stream' || fault === 'invalid-json') throw new GatewayError('upstream_invalid_response');
      const out = await this.core.embeddings(call.body, call.cancel.signal);
      // An embedding is one step: its answer begins when it is done.
      call.onFirstToken?.();
      return { text: out.text, usage: out.usage };
    }
    const plan = await this.plan(call);
    const release = await this.admit(call.cancel.signal);
    try {
      const body = await this.core.complete(plan, call.cancel.signal, delay, call.onFirstToken);
      if (fault === 'cut-stream' || fault === 'invalid-json') throw new GatewayError('upstream_invalid_response');
      return { text: JSON.stringify(body), usage: plan.usage };
    } finally {
      release();
    }
  }

  async stream(call: EngineCall): Promise<StreamAnswer> {
    if (call.model.adapter !== undefined) this.checkAdapter(call);
    const fault = this.pickFault(call);
    const delay = await this.preflight(fault, call.cancel.signal);
    const plan = await this.plan(call);
    const release = await this.admit(call.cancel.signal);
    // A stream abandoned before its first read never runs its finally: free the slot on abort too.
    call.cancel.signal.addEventListener('abort', release, { once: true });
    let usage: Usage | undefined;
    const core = this.core;
    async function* events(): AsyncGenerator<string[]> {
      try {
        let sent = 0;
        for await (const chunk of core.stream(plan, call.cancel.signal, call.clientWantsUsage, delay)) {
          if (fault === 'invalid-json') throw new GatewayError('upstream_invalid_response');
          if (fault === 'cut-stream' && sent === CUT_AFTER_CHUNKS) {
            throw new GatewayError('upstream_invalid_response', { message: 'The inference engine ended the stream early.' });
          }
          yield [JSON.stringify(chunk)];
          sent++;
        }
        usage = plan.usage;
      } finally {
        release();
      }
    }
    return { events: events(), usage: () => usage };
  }

  async close(): Promise<void> {}
}
