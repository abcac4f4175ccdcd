// Most payloads of a stream are the previous one with only the generated text changed:
//   {"id":"…","object":"chat.completion.chunk",…,"delta":{"content":" fox"},"finish_reason":null}]}
// Such a payload needs no JSON.parse to be known valid (the contract lets nothing that is not JSON
// reach a client): if everything before and after its content string is byte for byte that of a
// payload that was parsed in full, and the content string is itself a valid JSON string, then the
// payload is that valid payload with one string value replaced by another, which is valid JSON of
// the same shape (no usage, no error). Parsing each payload was the largest single cost of a
// proxied stream; this check is a comparison of two strings and a scan of a few characters.
//
// Why the first `"content":"` in a valid payload opens a string value: its second quote follows a
// letter, so it cannot open a string (a bare word is not JSON); it closes one, so the colon after
// it is structural and that string was a key; a quote right after a key's colon opens its value.

const MARKER = '"content":"';
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** From the first character inside a JSON string: the index of its closing quote, or -1 if invalid. */
export function stringEnd(s: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === QUOTE) return i;
    if (c < 0x20) return -1; // control characters must be escaped
    if (c === BACKSLASH) {
      const e = s.charCodeAt(++i);
      if (e === 0x75) {
        // \uXXXX
        if (!isHex(s.charCodeAt(i + 1)) || !isHex(s.charCodeAt(i + 2)) || !isHex(s.charCodeAt(i + 3)) || !isHex(s.charCodeAt(i + 4))) return -1;
        i += 4;
      } else if (e !== QUOTE && e !== BACKSLASH && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) {
        return -1;
      }
    }
  }
  return -1; // unterminated
}

export class ChunkTemplate {
  /** Up to and including the opening quote of the content string; '' when nothing is learned. */
  private prefix = '';
  /** From the closing quote of the content string to the end. */
  private suffix = '';

  /** True when `data` is the learned payload with only a (valid) content string changed. */
  matches(data: string): boolean {
    return this.contentEnd(data) !== -1;
  }

  /** Where the content string's characters start (just past its opening quote) in a matching payload. */
  get contentStart(): number {
    return this.prefix.length;
  }

  /**
   * When `data` matches (see matches), the index of its content string's closing quote, so the
   * content is `data.slice(contentStart, contentEnd(data))`, still JSON-escaped; otherwise -1.
   */
  contentEnd(data: string): number {
    const prefix = this.prefix;
    const n = prefix.length;
    // slice + === measured several times faster than startsWith here.
    if (n === 0 || data.slice(0, n) !== prefix) return -1;
    const end = stringEnd(data, n);
    return end !== -1 && data.length - end === this.suffix.length && data.slice(end) === this.suffix ? end : -1;
  }

  /**
   * Learns from a payload that was parsed in full: valid JSON, with no usage and no error.
   * Returns whether it learned (the payload has a content string to vary).
   */
  learn(data: string): boolean {
    const at = data.indexOf(MARKER);
    const start = at + MARKER.length;
    const end = at === -1 ? -1 : stringEnd(data, start);
    if (end === -1) {
      this.prefix = '';
      return false;
    }
    this.prefix = data.slice(0, start);
    this.suffix = data.slice(end);
    return true;
  }

  /** Forgets what was learned: nothing matches until the next learn. */
  forget(): void {
    this.prefix = '';
  }
}
