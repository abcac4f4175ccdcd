// node-llama-cpp, loaded only when a config has an `engine: llama` deployment: it is an optional
// peer dependency (large native binaries), so the gateway must build, install and run without it.
// Its types are therefore not imported; the few parts the engine uses are declared here, as
// node-llama-cpp 3.x defines them.
import { realpathSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type Token = number & { __token?: never };

/** A LlamaText (a prompt with special tokens): only tokenized or passed back as a stop trigger. */
export interface LlamaText {
  tokenize(tokenizer: Tokenizer): Token[];
}

export type Tokenizer = (text: string, specialTokens?: boolean, options?: 'trimLeadingSpace') => Token[];

export type ChatHistoryItem =
  | { type: 'system'; text: string }
  | { type: 'user'; text: string }
  | { type: 'model'; response: string[] };

export interface ChatWrapper {
  readonly wrapperName: string;
  generateContextState(options: { chatHistory: ChatHistoryItem[] }): {
    contextText: LlamaText;
    stopGenerationTriggers: LlamaText[];
  };
}

export interface RepeatPenalty {
  penalty?: number;
  frequencyPenalty?: number;
  presencePenalty?: number;
}

export interface CompletionOptions {
  onTextChunk?: (text: string) => void;
  onToken?: (tokens: Token[]) => void;
  signal?: AbortSignal;
  stopOnAbortSignal?: boolean;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  repeatPenalty?: false | RepeatPenalty;
  customStopTriggers?: readonly (LlamaText | string)[];
}

export interface LlamaCompletion {
  generateCompletionWithMeta(input: Token[], options: CompletionOptions): Promise<{
    response: string;
    metadata: { stopReason: 'eogToken' | 'stopGenerationTrigger' | 'maxTokens' | 'abort' | 'customStopTrigger' };
  }>;
  dispose(options?: { disposeSequence?: boolean }): void;
}

export interface LlamaContextSequence {
  /** Counts what the sequence evaluated and sampled, across generations. */
  readonly tokenMeter: { readonly usedOutputTokens: number };
  dispose(): void;
}

export interface LlamaContext {
  readonly contextSize: number;
  getSequence(): LlamaContextSequence;
  dispose(): Promise<void>;
}

export interface LlamaEmbeddingContext {
  getEmbeddingFor(input: Token[]): Promise<{ vector: readonly number[] }>;
  /** The tokens evaluated for an input: with the BOS (and EOS) the model adds. */
  calculateInputLength(input: Token[]): number;
  dispose(): Promise<void>;
}

export interface LlamaModel {
  readonly tokenizer: Tokenizer;
  readonly tokens: { readonly bos: Token | null; readonly shouldPrependBosToken: boolean };
  readonly vocabularyType: string;
  readonly embeddingVectorSize: number;
  readonly trainContextSize: number;
  readonly fileInfo: { metadata: { tokenizer?: { ggml?: { tokens?: readonly string[] } } } };
  tokenize(text: string, specialTokens?: boolean, options?: 'trimLeadingSpace'): Token[];
  detokenize(tokens: readonly Token[], specialTokens?: boolean): string;
  createContext(options: {
    contextSize?: number | { max?: number };
    sequences?: number;
    threads?: number;
    lora?: { adapters: { filePath: string; scale?: number }[] };
    createSignal?: AbortSignal;
  }): Promise<LlamaContext>;
  createEmbeddingContext(options: { contextSize?: number | { max?: number }; threads?: number }): Promise<LlamaEmbeddingContext>;
  dispose(): Promise<void>;
}

export interface Llama {
  loadModel(options: { modelPath: string }): Promise<LlamaModel>;
}

export interface NodeLlamaCpp {
  getLlama(options: { gpu: false; build: 'never'; logLevel?: unknown; logger?: (level: string, message: string) => void; maxThreads?: number }): Promise<Llama>;
  LlamaCompletion: new (options: { contextSequence: LlamaContextSequence; autoDisposeSequence?: boolean }) => LlamaCompletion;
  resolveChatWrapper(model: LlamaModel): ChatWrapper | null;
  LlamaLogLevel: Record<string, unknown>;
}

/** What a config with `engine: llama` needs installed, and how to get it. */
export const INSTALL_HINT = 'engine: llama needs the node-llama-cpp package, which is not installed: run `npm run install:llama` ' +
  '(node-llama-cpp with its CPU binary only), or `npm install node-llama-cpp@3` (with every GPU variant of its binary)';

export class LlamaUnavailableError extends Error {
  constructor(cause: unknown) {
    super(INSTALL_HINT, { cause });
    this.name = 'LlamaUnavailableError';
  }
}

// The module name in a variable: TypeScript does not look for the package when compiling.
const MODULE = 'node-llama-cpp';

/**
 * Imports node-llama-cpp by the real path of its entry module. `npm run install:llama` links
 * node_modules/node-llama-cpp to node_modules/.node-llama-cpp/node_modules/node-llama-cpp, whose
 * own dependencies sit beside it there: they are found only from its real path. Node resolves
 * symlinks when it imports, but Node 20's realpath stops early once anything has fstat'ed a pipe
 * (as createLogger does with stdout: a stale stat buffer then reads as a FIFO), and the package
 * would be loaded by its link's path, its dependencies not found. The native realpath has no such
 * cache.
 */
function importLibrary(): Promise<unknown> {
  const entry = fileURLToPath(import.meta.resolve(MODULE));
  return import(pathToFileURL(realpathSync.native(entry)).href);
}

let loading: Promise<{ lib: NodeLlamaCpp; llama: Llama }> | undefined;

/**
 * The library and its one CPU backend per process (loading the native binary takes about a
 * second; every llama deployment shares it). Never builds from source: the prebuilt binary or a
 * clear error.
 */
export function loadLlama(): Promise<{ lib: NodeLlamaCpp; llama: Llama }> {
  loading ??= (async () => {
    let lib: NodeLlamaCpp;
    try {
      lib = (await importLibrary()) as NodeLlamaCpp;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') throw new LlamaUnavailableError(err);
      throw err;
    }
    // llama.cpp logs (model metadata, warnings) go nowhere: failures surface as errors.
    const llama = await lib.getLlama({ gpu: false, build: 'never', logLevel: lib.LlamaLogLevel.error, logger: () => {} });
    return { lib, llama };
  })();
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}

/** True when node-llama-cpp can be imported (tests skip the local engine without it). */
export async function llamaInstalled(): Promise<boolean> {
  try {
    await importLibrary();
    return true;
  } catch {
    return false;
  }
}
