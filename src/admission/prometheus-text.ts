// Reads named samples out of a Prometheus text exposition (format 0.0.4), as an engine's /metrics
// serves it. Sluice reads three gauges of vLLM's; a line scan for those names is all it takes (the
// npm parsers of the full format are unmaintained, and a scrape every 250 ms should not build an
// object per sample it will not read).
//
// A sample line is `name{label="value",...} value [timestamp]`; label values may hold spaces, `}`
// and escaped quotes, so the label block is skipped with quotes respected. Comment lines (# HELP,
// # TYPE) and names not asked for are passed over.

/** Values of each wanted metric, one per label set, in the order the lines came. */
export function readSamples(text: string, names: readonly string[]): Map<string, number[]> {
  const wanted = new Set(names);
  const out = new Map<string, number[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const nameEnd = line.search(/[{\s]/);
    if (nameEnd <= 0) continue;
    const name = line.slice(0, nameEnd);
    if (!wanted.has(name)) continue;
    const rest = line[nameEnd] === '{' ? afterLabels(line, nameEnd + 1) : line.slice(nameEnd);
    if (rest === undefined) continue;
    const value = Number(rest.trim().split(/\s+/)[0]);
    // NaN and ±Inf are legal in the format but say nothing about load: skip them.
    if (!Number.isFinite(value)) continue;
    const list = out.get(name);
    if (list) list.push(value);
    else out.set(name, [value]);
  }
  return out;
}

/** The text after the label block that opened at `i`, or undefined if the block never closes. */
function afterLabels(line: string, i: number): string | undefined {
  let quoted = false;
  for (; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '}') return line.slice(i + 1);
  }
  return undefined;
}
