// The simulated engine's LoRA adapters, as vLLM's runtime LoRA API keeps them
// (VLLM_ALLOW_RUNTIME_LORA_UPDATING): loaded by name from a source, listed in /v1/models with the
// base as parent, unloaded by name. A load takes adapterLoadMs; a source matching one of
// failAdapters fails as an unreadable path does on vLLM. Both the in-process engine and the
// standalone `sluice sim` server drive this one class, and count what they were asked.
import { setTimeout as sleep } from 'node:timers/promises';
import type { SimSettings } from '../config/schema.js';
import { modelPatternMatches } from '../stages/access.js';

/** A load or unload vLLM refuses: its HTTP status and vLLM's message (which may name the path). */
export class SimAdapterError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'SimAdapterError';
  }
}

export interface SimAdapterCounts {
  /** Loads asked for, failed ones included. */
  loads: number;
  failures: number;
  unloads: number;
}

export class SimAdapters {
  /** Loaded adapters: name → source, in load order. */
  private readonly loaded = new Map<string, string>();
  /** Names that were loaded or asked for and are not loaded now: requests for them get 404, as on vLLM. */
  private readonly gone = new Set<string>();
  /** Requests served per loaded adapter. */
  readonly requests = new Map<string, number>();
  readonly counts: SimAdapterCounts = { loads: 0, failures: 0, unloads: 0 };

  constructor(private readonly settings: Pick<SimSettings, 'adapterLoadMs' | 'failAdapters'>) {}

  async load(name: string, source: string, signal?: AbortSignal): Promise<void> {
    this.counts.loads++;
    if (this.loaded.has(name)) throw new SimAdapterError(400, `The lora adapter '${name}' has already been loaded.`);
    if (this.settings.adapterLoadMs > 0) await sleep(this.settings.adapterLoadMs, undefined, signal ? { signal } : undefined);
    if (this.settings.failAdapters.some((p) => modelPatternMatches(p, source))) {
      this.counts.failures++;
      this.gone.add(name);
      throw new SimAdapterError(400, `Loading lora ${name} failed: No adapter found for ${source}`);
    }
    this.loaded.set(name, source);
    this.gone.delete(name);
  }

  unload(name: string): void {
    if (!this.loaded.delete(name)) throw new SimAdapterError(404, `The lora adapter '${name}' cannot be found.`);
    this.counts.unloads++;
    this.gone.add(name);
  }

  /**
   * Whether a request for `model` may be served: any name but an adapter's that is not loaded
   * (the simulator serves every model name; vLLM answers 404 for an adapter it does not hold).
   */
  serves(model: string): boolean {
    if (this.loaded.has(model)) {
      this.requests.set(model, (this.requests.get(model) ?? 0) + 1);
      return true;
    }
    return !this.gone.has(model);
  }

  has(name: string): boolean {
    return this.loaded.has(name);
  }

  /** Loaded adapters as vLLM's /v1/models lists them: `root` the source, `parent` the base. */
  list(parent: string): Array<Record<string, unknown>> {
    return [...this.loaded].map(([id, source]) => ({ id, object: 'model', created: 0, owned_by: 'vllm', root: source, parent }));
  }
}
