// The benchmark's profile summary: self time by function, idle left out, places named briefly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summarizeProfile } from '../bench/profile-summary.js';

test('shares are of busy samples, heaviest first, with short places', () => {
  const frame = (functionName: string, url = '', lineNumber = -1) => ({ functionName, url, lineNumber });
  const profile = {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 3, 4, 5] },
      { id: 2, callFrame: frame('(idle)') },
      { id: 3, callFrame: frame('settle', 'file:///x/dist/src/billing/billing.js', 9) },
      { id: 4, callFrame: frame('_parse', 'file:///x/node_modules/secure-json-parse/index.js', 16) },
      { id: 5, callFrame: frame('(garbage collector)') },
    ],
    samples: [2, 2, 2, 3, 3, 3, 4, 5],
    timeDeltas: [100, 100, 100, 10, 10, 10, 10, 10],
  };
  const dir = mkdtempSync(join(tmpdir(), 'sluice-profile-'));
  writeFileSync(join(dir, 'p.cpuprofile'), JSON.stringify(profile));
  assert.deepEqual(summarizeProfile(join(dir, 'p.cpuprofile')), [
    { name: 'settle src/billing/billing.js:10', share: 0.6 },
    { name: '_parse secure-json-parse/index.js:17', share: 0.2 },
    { name: '(garbage collector)', share: 0.2 },
  ]);
  rmSync(dir, { recursive: true, force: true });
});
