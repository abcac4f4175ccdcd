// The probing side of health-probe.ts, in a process of its own so that what the test process does
// (building bodies, parsing answers) never shows up as a slow /health. Sequential GETs on one
// kept-alive connection until told to stop; then the slowest times go back to the parent.
import { Agent, request } from 'node:http';

const url = process.argv[2]!;
const everyMs = Number(process.argv[3] ?? 5);
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const times: number[] = [];
let running = true;

const once = () => new Promise<number>((resolve, reject) => {
  const t0 = performance.now();
  request(`${url}/health`, { agent }, (res) => {
    res.resume();
    res.on('end', () => resolve(performance.now() - t0));
  }).on('error', reject).end();
});

process.on('message', () => (running = false));
times.push(await once());
process.send!('ready'); // the parent measures only once a first answer is in
while (running) {
  times.push(await once());
  await new Promise((r) => setTimeout(r, everyMs));
}
agent.destroy();
process.send!({ slowest: times.sort((a, b) => b - a).slice(0, 5), count: times.length }, () => process.exit(0));
