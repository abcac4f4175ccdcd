// What the CLI commands that act on a running gateway share: its URL and admin token as flags,
// the admin API client (admin/admin-client.ts), and how an unreachable gateway is reported.
import type { Command } from 'commander';
import { AdminClientError, createAdminClient } from '../admin/admin-client.js';

export interface Connection {
  url: string;
  adminToken?: string;
  json?: boolean;
}

export const client = (o: Connection) => createAdminClient({ url: o.url, token: o.adminToken ?? process.env.SLUICE_ADMIN_TOKEN });

/** A gateway out of reach is an answer, not a crash: one line on stderr, exit status 1. */
export async function reporting(run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (err) {
    if (!(err instanceof AdminClientError)) throw err;
    process.stderr.write(`sluice: ${err.message}\n`);
    process.exitCode = 1;
  }
}

export const connection = (c: Command) => c
  .option('--url <url>', 'the running gateway', 'http://127.0.0.1:8080')
  .option('--admin-token <token>', 'admin token (default: $SLUICE_ADMIN_TOKEN; the variable keeps it out of the process list)')
  .option('--json', 'JSON output for scripts', false);
