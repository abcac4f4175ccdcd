// `sluice requests show ID`: the request inspector (GET /admin/requests/{id}) of a running gateway.
// Through its admin API, not the store: the gateway writes what it holds back (journaled ledger
// rows, queued request-log rows) before it answers, so a request just made is found.
import type { Command } from 'commander';
import type { RequestView } from '../admin/request-inspector.js';
import { print } from './output.js';
import { client, connection, reporting, type Connection } from './admin-connection.js';

/** One row per field, for people: a request is one record with long values, not a wide table. */
function fields(r: RequestView): Array<{ field: string; value: unknown }> {
  const rows: Array<[string, unknown]> = [
    ['id', r.id],
    ['recorded in', r.recordedIn.join(', ')],
    ['account', r.accountId],
    ['key', r.keyId],
    ['model', r.model],
    ...(r.requestedModel !== null && r.requestedModel !== r.model ? [['requested model', r.requestedModel] as [string, unknown]] : []),
    ['deployment', r.deployment],
    ['endpoint', r.endpoint],
    ...(r.path !== null ? [['request', `${r.method} ${r.path}`] as [string, unknown]] : []),
    ['status', r.status],
    ['code', r.code],
    ['message', r.error?.message ?? null],
    ['tokens in / out', r.inputTokens === null ? null : `${r.inputTokens} / ${r.outputTokens}`],
    ['cost (USD)', r.cost],
    ['started at', r.startedAt],
    ['duration ms', r.durationMs],
    ['first byte ms', r.firstByteMs],
    ['attempts', r.attempts],
  ];
  return rows.map(([field, value]) => ({ field, value }));
}

export function registerRequestsCommands(program: Command): void {
  const requests = program.command('requests').description("what a running gateway knows of a request (through its admin API)");

  connection(requests.command('show <requestId>').description('a request by its id (x-request-id): its ledger row, or the error it was given'))
    .option('--account <id>', 'only if the request is this account\'s (otherwise: not found)')
    .action((id: string, o: Connection & { account?: string }) => reporting(async () => {
      const query = o.account === undefined ? '' : `?account=${encodeURIComponent(o.account)}`;
      const view = await client(o).call<RequestView>('GET', `/admin/requests/${encodeURIComponent(id)}${query}`);
      print(o.json ? view : fields(view), o.json ?? false, o.json ? undefined : ['field', 'value']);
    }));
}
