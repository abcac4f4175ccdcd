// Which LoRA adapters one deployment's engine holds, as this gateway replica loaded them: at most
// maxAdapters (least recently used unloaded first, never one a request is using), one load at a
// time per adapter (requests arriving during a load wait for that same load), never a load while
// an unload of the same adapter is under way, and a failed load remembered for the adapter's
// failedLoadTtlMs so a burst of requests does not hammer the engine with the same failing load.
import type { DeploymentConfig } from '../config/schema.js';
import { AdapterLoadError } from '../engines/adapter-load-error.js';
import type { AdapterSpec, Engine } from '../engines/types.js';
import { GatewayError, toGatewayError } from '../errors/gateway-error.js';
import { Cancellation } from '../server/cancellation.js';
import { ClientClosed } from '../server/context.js';

export interface AdapterEvents {
  loaded?(name: string, ms: number): void;
  /** `detail`: the engine's own words (may name paths): for the log only. */
  failed?(name: string, detail: string): void;
  /** `err`: the engine's unload failed (the adapter counts as unloaded anyway). */
  unloaded?(name: string, err?: unknown): void;
}

/**
 * One load of an adapter on a deployment, and the requests using it. A request gives back the
 * entry it acquired: when the entry was forgotten meanwhile (the engine lost the adapter) and the
 * adapter loaded again, its release leaves the new load's count alone, so LRU eviction never
 * takes an adapter a request is still using.
 */
export interface AdapterEntry {
  readonly name: string;
  inUse: number;
}

/** What the gateway loads for an adapter model, and how it treats the load. */
export interface AdapterLoad extends AdapterSpec {
  failedLoadTtlMs: number;
  loadTimeoutMs: number;
}

/** The client's answer for an adapter whose load failed: it names the adapter, never its source. */
export function adapterLoadFailed(name: string): GatewayError {
  return new GatewayError('adapter_load_failed', { message: `The adapter '${name.slice(0, 256)}' failed to load.` });
}

/** Waits for `p`, or rejects when the request is cancelled first (the load goes on for the others). */
function unlessCancelled<T>(p: Promise<T>, cancel: Cancellation): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const undo = cancel.onAbort((reason) => reject(reason instanceof Error ? reason : new ClientClosed()));
    p.then((v) => {
      undo();
      resolve(v);
    }, (err: unknown) => {
      undo();
      reject(err);
    });
  });
}

export class DeploymentAdapters {
  /** Loaded adapters and the requests using each; Map order is recency, least recently used first. */
  private readonly loaded = new Map<string, AdapterEntry>();
  private readonly loading = new Map<string, Promise<void>>();
  private readonly unloading = new Map<string, Promise<void>>();
  /** Adapters whose last load here failed: until when (performance.now()) that is remembered. */
  private readonly failed = new Map<string, number>();

  constructor(
    private readonly config: DeploymentConfig,
    private readonly engine: Engine,
    private readonly events: AdapterEvents = {},
  ) {}

  get max(): number {
    return this.config.maxAdapters;
  }

  /** Loaded here, or being loaded: a request for it waits for this deployment rather than loading it elsewhere. */
  holds(name: string): boolean {
    return this.loaded.has(name) || this.loading.has(name);
  }

  /** Until when a failed load of `name` here is remembered, or undefined when none is. */
  failedUntil(name: string, now = performance.now()): number | undefined {
    const until = this.failed.get(name);
    if (until === undefined) return undefined;
    if (until > now) return until;
    this.failed.delete(name);
    return undefined;
  }

  /** For the admin views: loaded (least recently used first), loading, and failures still remembered. */
  state(now = performance.now()): { loaded: string[]; loading: string[]; failed: Array<{ name: string; retryInMs: number }> } {
    const failed: Array<{ name: string; retryInMs: number }> = [];
    for (const [name, until] of this.failed) if (until > now) failed.push({ name, retryInMs: Math.ceil(until - now) });
    return { loaded: [...this.loaded.keys()], loading: [...this.loading.keys()], failed };
  }

  loadedCount(): number {
    return this.loaded.size;
  }

  /**
   * Resolves once the adapter is loaded here, with one more request counted as using it: give the
   * entry back with release(). Loads it if needed, or joins the load under way. Throws
   * adapter_load_failed when the load fails (or failed within failedLoadTtlMs), another
   * GatewayError when the engine is unavailable, ClientClosed (or the abort's reason) when the
   * request is cancelled while waiting.
   */
  async acquire(adapter: AdapterLoad, cancel: Cancellation): Promise<AdapterEntry> {
    const { name } = adapter;
    for (;;) {
      const held = this.loaded.get(name);
      if (held) {
        held.inUse++;
        this.loaded.delete(name);
        this.loaded.set(name, held);
        return held;
      }
      if (this.failedUntil(name) !== undefined) throw adapterLoadFailed(name);
      let load = this.loading.get(name);
      if (!load) {
        const started = this.load(adapter).finally(() => {
          if (this.loading.get(name) === started) this.loading.delete(name);
        });
        // Nobody may be left waiting for it (its requests went away): its failure is handled here.
        started.catch(() => {});
        this.loading.set(name, started);
        load = started;
      }
      await unlessCancelled(load, cancel);
      // Loaded; if a load of another adapter unloaded it in between (it was idle), load it again.
    }
  }

  /** One request is done with the entry it acquired; past maxAdapters (loads while all were in use), trim. */
  release(entry: AdapterEntry): void {
    if (entry.inUse > 0) entry.inUse--;
    if (this.loaded.size > this.max) void this.makeRoom();
  }

  /**
   * The engine no longer holds the load `entry` stands for (it answered 404 for it, e.g. after a
   * restart): load it again when asked. A newer load, by a request that saw the 404 first, stays.
   */
  forget(entry: AdapterEntry): void {
    if (this.loaded.get(entry.name) === entry) this.loaded.delete(entry.name);
  }

  private async load(adapter: AdapterLoad): Promise<void> {
    const { name } = adapter;
    const started = performance.now();
    try {
      // Always awaited (undefined when no unload runs), so this load is in `loading` before anything below.
      await this.unloading.get(name);
      await this.makeRoom();
      if (!this.engine.loadAdapter) throw new AdapterLoadError(`engine ${this.config.engine} cannot load adapters`);
      const cancel = new Cancellation();
      const timer = setTimeout(() => cancel.abort(new AdapterLoadError(`the load did not finish within ${adapter.loadTimeoutMs} ms`)), adapter.loadTimeoutMs);
      // The load's own socket keeps the process up while it runs; the timer alone must not hold a closing gateway.
      timer.unref();
      try {
        await this.engine.loadAdapter(this.config, { name, source: adapter.source }, cancel);
      } catch (err) {
        throw cancel.aborted ? cancel.reason : err;
      } finally {
        clearTimeout(timer);
      }
      this.loaded.set(name, { name, inUse: 0 });
      this.failed.delete(name);
      this.events.loaded?.(name, performance.now() - started);
    } catch (err) {
      if (err instanceof AdapterLoadError) {
        if (adapter.failedLoadTtlMs > 0) this.failed.set(name, performance.now() + adapter.failedLoadTtlMs);
        this.events.failed?.(name, err.detail);
        throw adapterLoadFailed(name);
      }
      // The engine unreachable or busy: its own failure, not remembered against the adapter.
      throw toGatewayError(err);
    }
  }

  /**
   * Unloads idle adapters, least recently used first, while more are loaded or loading than
   * maxAdapters. When every loaded one is in use the excess stays until release().
   */
  private async makeRoom(): Promise<void> {
    while (this.loaded.size + this.loading.size > this.max) {
      let victim: string | undefined;
      for (const [name, held] of this.loaded) {
        if (held.inUse === 0) {
          victim = name;
          break;
        }
      }
      if (victim === undefined) return;
      await this.unload(victim);
    }
  }

  private unload(name: string): Promise<void> {
    this.loaded.delete(name);
    const engine = this.engine;
    const done: Promise<void> = Promise.resolve()
      .then(() => engine.unloadAdapter?.(this.config, name))
      .then(() => this.events.unloaded?.(name), (err: unknown) => this.events.unloaded?.(name, err))
      .finally(() => {
        if (this.unloading.get(name) === done) this.unloading.delete(name);
      });
    this.unloading.set(name, done);
    return done;
  }
}
