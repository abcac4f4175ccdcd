// CLI output: a table for people, or JSON for scripts (--json).
import Table from 'cli-table3';

type Row = Record<string, unknown>;

function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (Array.isArray(v)) return v.join(', ');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function print(data: unknown, json: boolean, columns?: string[]): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    return;
  }
  const rows: Row[] = Array.isArray(data) ? (data as Row[]) : [data as Row];
  const head = columns ?? Object.keys(rows[0] ?? {});
  const table = new Table({ head, style: { head: [], border: [] } });
  for (const r of rows) table.push(head.map((h) => cell(r[h])));
  process.stdout.write(`${table.toString()}\n`);
}
