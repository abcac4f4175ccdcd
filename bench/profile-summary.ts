// Reads a V8 CPU profile (`node --cpu-prof`) and lists where the busy time went: the functions
// with the most self time, garbage collection and V8 itself among them. Idle time (waiting for
// I/O, or for the benchmark to load another server) is left out of the shares. Used by
// `npm run bench -- --cpu-prof` on the gateway's profile; open the .cpuprofile file itself in
// Chrome DevTools or speedscope for the call tree.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileLine {
  /** Share of all samples, 0..1. */
  share: number;
  name: string;
}

/** The places in this project, its dependencies and Node itself, by self time. */
function where(url: string): string {
  if (url === '') return '';
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(url);
  if (dep) return `${dep[1]}/${dep[2]}`;
  const own = /\/dist\/(.*)$/.exec(url);
  if (own) return own[1]!;
  return url.replace(/^node:(internal\/)?/, 'node:');
}

export function summarizeProfile(file: string, top = 25): ProfileLine[] {
  // (Shares are of the samples that were not idle.)
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfTime = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const frame = byNode.get(id)!.callFrame;
    if (frame.functionName === '(idle)') return;
    total += dt;
    const at = where(frame.url);
    const name = at === '' ? frame.functionName || '(native)' : `${frame.functionName || '(anonymous)'} ${at}:${frame.lineNumber + 1}`;
    selfTime.set(name, (selfTime.get(name) ?? 0) + dt);
  });
  return [...selfTime]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, t]) => ({ share: total > 0 ? t / total : 0, name }));
}

export function renderProfile(lines: ProfileLine[]): string {
  return lines.map((l) => `${(100 * l.share).toFixed(1).padStart(6)}%  ${l.name}`).join('\n');
}
