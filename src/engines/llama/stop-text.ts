// The client's stop sequences, applied to the generated text as OpenAI and vLLM do: the answer
// ends just before the first stop sequence, even inside a token (node-llama-cpp's own stop
// triggers cut at token boundaries, dropping the start of the token the sequence begins in).
// While streaming, the last few characters wait until they cannot be the start of a stop sequence.
export class StopText {
  private pending = '';
  private readonly holdBack: number;

  constructor(private readonly stops: string[]) {
    this.holdBack = Math.max(0, ...stops.map((s) => s.length - 1));
  }

  /** The text that can be sent now, and whether a stop sequence ended the answer. */
  push(text: string): { text: string; stopped: boolean } {
    this.pending += text;
    let cut = -1;
    for (const s of this.stops) {
      const i = this.pending.indexOf(s);
      if (i !== -1 && (cut === -1 || i < cut)) cut = i;
    }
    if (cut !== -1) {
      const out = this.pending.slice(0, cut);
      this.pending = '';
      return { text: out, stopped: true };
    }
    const free = this.pending.length - this.holdBack;
    if (free <= 0) return { text: '', stopped: false };
    const out = this.pending.slice(0, free);
    this.pending = this.pending.slice(free);
    return { text: out, stopped: false };
  }

  /** What was held back, once the generation ended without a stop sequence. */
  flush(): string {
    const out = this.pending;
    this.pending = '';
    return out;
  }
}
