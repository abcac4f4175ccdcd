// A minimal GGUF (version 3) writer: metadata key-values and F32 tensors, laid out as
// ggml's docs/gguf.md specifies (little-endian; header, KVs, tensor infos, padding to
// general.alignment, then each tensor's data at an aligned offset). Enough to write test models
// and LoRA adapters by hand; nothing here reads GGUF.

const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
const GGUF_VERSION = 3;
const ALIGNMENT = 32;
const GGML_TYPE_F32 = 0;

/** GGUF metadata value types (gguf.md, `gguf_metadata_value_type`). */
const T = { u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9 } as const;

export type MetaValue =
  | { u32: number }
  | { i32: number }
  | { f32: number }
  | { bool: boolean }
  | string
  | { strings: string[] }
  | { f32s: number[] }
  | { i32s: number[] };

export interface Tensor {
  name: string;
  /** ggml order: dims[0] varies fastest (a PyTorch (out, in) weight is [in, out]). */
  dims: number[];
  data: Float32Array;
}

class ByteSink {
  private chunks: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  i32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  u64(v: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  f32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  string(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.push(bytes);
  }
  padTo(alignment: number): void {
    const pad = (alignment - (this.length % alignment)) % alignment;
    if (pad) this.push(Buffer.alloc(pad));
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function writeValue(out: ByteSink, v: MetaValue): void {
  if (typeof v === 'string') {
    out.u32(T.string);
    out.string(v);
  } else if ('u32' in v) {
    out.u32(T.u32);
    out.u32(v.u32);
  } else if ('i32' in v) {
    out.u32(T.i32);
    out.i32(v.i32);
  } else if ('f32' in v) {
    out.u32(T.f32);
    out.f32(v.f32);
  } else if ('bool' in v) {
    out.u32(T.bool);
    out.push(Buffer.from([v.bool ? 1 : 0]));
  } else if ('strings' in v) {
    out.u32(T.array);
    out.u32(T.string);
    out.u64(v.strings.length);
    for (const s of v.strings) out.string(s);
  } else if ('f32s' in v) {
    out.u32(T.array);
    out.u32(T.f32);
    out.u64(v.f32s.length);
    for (const f of v.f32s) out.f32(f);
  } else {
    out.u32(T.array);
    out.u32(T.i32);
    out.u64(v.i32s.length);
    for (const i of v.i32s) out.i32(i);
  }
}

/** The whole file as bytes. */
export function encodeGguf(metadata: Record<string, MetaValue>, tensors: Tensor[]): Buffer {
  const out = new ByteSink();
  const entries = Object.entries({ 'general.alignment': { u32: ALIGNMENT }, ...metadata });
  out.u32(GGUF_MAGIC);
  out.u32(GGUF_VERSION);
  out.u64(tensors.length);
  out.u64(entries.length);
  for (const [key, value] of entries) {
    out.string(key);
    writeValue(out, value);
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    const elements = t.dims.reduce((a, b) => a * b, 1);
    if (elements !== t.data.length) throw new Error(`tensor ${t.name}: dims ${t.dims.join('x')} but ${t.data.length} values`);
    out.string(t.name);
    out.u32(t.dims.length);
    for (const d of t.dims) out.u64(d);
    out.u32(GGML_TYPE_F32);
    out.u64(offset);
    offsets.push(offset);
    offset += Math.ceil(t.data.byteLength / ALIGNMENT) * ALIGNMENT;
  }
  out.padTo(ALIGNMENT);
  for (const t of tensors) {
    out.push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    out.padTo(ALIGNMENT);
  }
  return out.toBuffer();
}
