// The simulated GPU's engine clock: one loop per SimCore runs the batch step by step, as vLLM's
// engine core does, with one timer per step for the whole batch (never one per token per request).
//
// A step's duration is the decode cost of the sequences decoding in it, plus the prefill of the
// prompts that joined since the last step, which stalls every sequence in that step:
//
//   stepMs = decodeStepMs(b) + prefillMsPerToken × (new prompt tokens)
//   decodeStepMs(b) = itlMs × max(1 + stepGrowth × (b − 1), b / kneeSeqs)   (0 when b = 0)
//
// The stall is what vLLM does without chunked prefill: its scheduler runs waiting prefills first
// and the decodes wait for them (Kwon et al., "vLLM/PagedAttention", SOSP 2023; the "generation
// stalls" of Agrawal et al., "Sarathi-Serve", OSDI 2024, which chunked prefill removes). vLLM runs
// the prefill as a step of its own; the decoding sequences wait as long either way.
//
// decodeStepMs is the roofline's T = max(T_mem, T_math) (Williams, Waterman & Patterson,
// "Roofline", CACM 2009), as Sarathi-Serve §3 and Pope et al., "Efficiently Scaling Transformer
// Inference", MLSys 2023, apply it to decoding:
// - T_mem: a decode step reads all the weights once whatever the batch. Llama-3-8B in bf16 is
//   16 GB: ≥ 4.8 ms a step on an H100 (3.35 TB/s), ≥ 10 ms on an A100-40GB (1.55 TB/s). Public
//   vLLM benchmarks of Llama-3.1-8B find ~6.5 ms on an H100 and ~13 ms (75 tokens/s) on an
//   A100-40GB at concurrency 1 (yobitelcomm.github.io/bench/recipes/concurrency-sweep,
//   johnmusgrave.com/p/vllm-throughput-latency-sweep-on). It grows only by each sequence's
//   KV-cache read: 128 KiB a token for Llama-3-8B (32 layers × 8 KV heads × 128 × K,V × bf16), so
//   ~1% of the weights per sequence with ~1k tokens of context: stepGrowth 0.01.
// - T_math: each sequence costs ~2 × 8e9 FLOPs a step, so T_math grows linearly with the batch and
//   overtakes T_mem at the knee. The ideal ridge is in the 100s of sequences (A100: 312 TFLOPS /
//   2 TB/s ≈ 156 FLOP/byte), but achieved FLOPS, attention and sampling bring it down to a few
//   dozen in practice: the H100 sweep above gives 122, 580, 1384 and 1312 tokens/s at concurrency
//   1, 4, 16 and 64. Hence kneeSeqs 32.
// Total throughput b / decodeStepMs(b) thus rises almost linearly up to the knee, then flattens at
// kneeSeqs / itlMs tokens per ms, while each request's inter-token latency is decodeStepMs(b).
//
// With a prefix cache (prefix-cache.ts), "new prompt tokens" are those its cache does not hold:
// each joining sequence looks its prompt up as its prefill step starts, then registers its blocks,
// one sequence after another in join order, as vLLM's scheduler does within one step.
//
// A sequence goes through `steps` steps: the first is its prefill, which yields its first token;
// each later one yields one more token (for each of its choices still generating). Backpressure:
// a sequence whose consumer has not yet taken the output of its last step sits out of the next
// steps (it holds its KV cache but is not in the batch) until the consumer takes it, so at most
// one step's output waits per sequence. A cancelled sequence leaves the batch at once.
import type { SimSettings } from '../config/schema.js';
import type { PrefixCache, PromptBlocks } from './prefix-cache.js';

export interface SeqSpec {
  /** Tokens of the prompt, held in the KV cache from the moment the sequence joins. */
  promptTokens: number;
  /** Tokens to prefill in the first step (0 when the first token's delay was set otherwise). */
  prefillTokens: number;
  /** Each prompt's blocks, for the prefix cache to take its cached head off prefillTokens. */
  prefix?: readonly PromptBlocks[];
  /** Output tokens of each choice; the choices decode in lockstep. */
  lengths: number[];
}

/** Decode step time for a batch of `seqs` sequences. */
export function decodeStepMs(settings: Pick<SimSettings, 'itlMs' | 'load'>, seqs: number): number {
  if (seqs <= 0) return 0;
  const { kneeSeqs, stepGrowth } = settings.load;
  return settings.itlMs * Math.max(1 + stepGrowth * (seqs - 1), seqs / kneeSeqs);
}

/** Steps late by more than this are not caught up: the clock restarts from now. */
const MAX_CATCH_UP_MS = 2;

function abortError(signal: AbortSignal): Error {
  // As node:timers/promises rejects an aborted sleep, so callers treat both alike.
  return Object.assign(new Error('The operation was aborted', { cause: signal.reason }), { name: 'AbortError', code: 'ABORT_ERR' });
}

export class Sequence {
  /** Steps the engine has run for this sequence, and outputs the consumer has taken. */
  done = 0;
  taken = 0;
  /** Output tokens generated so far, over all choices (for the KV-cache usage). */
  generated = 0;
  readonly steps: number;
  /** Choice lengths, longest first. */
  private readonly lengths: number[];
  private waiter: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private readonly onAbort: () => void;

  constructor(private readonly clock: BatchClock, readonly spec: SeqSpec, private readonly signal: AbortSignal) {
    this.lengths = [...spec.lengths].sort((a, b) => b - a);
    this.steps = Math.max(1, this.lengths[0] ?? 0);
    this.onAbort = () => {
      this.leave();
      const w = this.waiter;
      this.waiter = undefined;
      w?.reject(abortError(signal));
    };
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Sequences (choices) that produce a token in step `step`. */
  width(step: number): number {
    let n = 0;
    while (n < this.lengths.length && this.lengths[n]! > step) n++;
    return n;
  }

  /** Whether the engine runs this sequence in the next step. */
  get ready(): boolean {
    return this.done < this.steps && this.done === this.taken;
  }

  /** Resolves when the next step's output (the first: the prefill's) is out. */
  next(): Promise<void> {
    if (this.signal.aborted) return Promise.reject(abortError(this.signal));
    if (this.taken >= this.steps) return Promise.reject(new Error('sequence already finished'));
    if (this.done > this.taken) {
      this.taken++;
      // Taken its buffered output: it can join the batch again.
      this.clock.kick();
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Called by the clock at the end of a step this sequence ran in. */
  stepped(): void {
    this.generated += this.width(this.done);
    this.done++;
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      this.taken++;
      w.resolve();
    }
  }

  /** Leaves the batch (idempotent): the sequence finished, was abandoned or cancelled. */
  leave(): void {
    this.signal.removeEventListener('abort', this.onAbort);
    this.clock.remove(this);
  }
}

export class BatchClock {
  private readonly seqs = new Set<Sequence>();
  private timer: { t: ReturnType<typeof setTimeout> } | { i: ReturnType<typeof setImmediate> } | undefined;
  private stepping = false;
  /** When the step in flight (or the last one) is meant to end, on performance.now()'s clock. */
  private stepEnd = 0;
  /** Steps run so far. */
  steps = 0;

  constructor(private readonly settings: SimSettings, private readonly cache?: PrefixCache) {}

  /** Joins the batch: the sequence's prefill runs in the next step (at once if the engine is idle). */
  join(spec: SeqSpec, signal: AbortSignal): Sequence {
    signal.throwIfAborted();
    const seq = new Sequence(this, spec, signal);
    this.seqs.add(seq);
    this.kick();
    return seq;
  }

  /** Starts a step if none is running. */
  kick(): void {
    if (!this.stepping) this.startStep(false);
  }

  remove(seq: Sequence): void {
    if (!this.seqs.delete(seq)) return;
    if (this.seqs.size === 0 && this.timer !== undefined) {
      // Nobody left to run for: the engine goes idle at once.
      if ('t' in this.timer) clearTimeout(this.timer.t);
      else clearImmediate(this.timer.i);
      this.timer = undefined;
      this.stepping = false;
    }
  }

  /** Sequences in the batch (running, decoding or waiting for their consumer). */
  get size(): number {
    return this.seqs.size;
  }

  /** Tokens the batch holds in the KV cache: prompts plus what has been generated. */
  cachedTokens(): number {
    let t = 0;
    for (const s of this.seqs) t += s.spec.promptTokens + s.generated;
    return t;
  }

  private startStep(continuing: boolean): void {
    const members: Sequence[] = [];
    let decodeSeqs = 0;
    let prefillTokens = 0;
    for (const s of this.seqs) {
      if (!s.ready) continue;
      members.push(s);
      if (s.done === 0) prefillTokens += this.toPrefill(s.spec);
      else decodeSeqs += s.width(s.done);
    }
    if (members.length === 0) {
      this.stepping = false;
      this.timer = undefined;
      return;
    }
    const ms = decodeStepMs(this.settings, decodeSeqs) + this.settings.prefillMsPerToken * prefillTokens;
    const now = performance.now();
    // Back to back steps follow the intended clock, so timer lateness does not add up over a
    // stream; a loop that has been idle (or fell far behind) starts from now.
    const start = continuing && now - this.stepEnd <= MAX_CATCH_UP_MS ? this.stepEnd : now;
    this.stepEnd = start + ms;
    this.stepping = true;
    this.steps++;
    const delay = this.stepEnd - now;
    const done = () => this.finishStep(members);
    this.timer = delay >= 0.5 ? { t: setTimeout(done, Math.round(delay)) } : { i: setImmediate(done) };
  }

  /** Prompt tokens a joining sequence computes: all of them, less its prompts' cached heads. */
  private toPrefill(spec: SeqSpec): number {
    if (!this.cache || !spec.prefix || spec.prefillTokens === 0) return spec.prefillTokens;
    let cached = 0;
    for (const p of spec.prefix) {
      cached += this.cache.lookup(p);
      this.cache.insert(p);
    }
    return Math.max(0, spec.prefillTokens - cached);
  }

  private finishStep(members: Sequence[]): void {
    this.timer = undefined;
    for (const s of members) if (this.seqs.has(s)) s.stepped();
    this.startStep(true);
  }
}
