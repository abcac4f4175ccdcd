// `sluice serve`: load the config, open the store, start the gateway, print the first key once,
// and drain on SIGTERM/SIGINT.
import { loadConfig } from '../config/load.js';
import { applyDeclaredAccounts } from '../admin/apply-declared.js';
import { bootstrapFirstKey } from '../keys/bootstrap.js';
import { createLogger } from '../observability/logger.js';
import { startGateway } from '../server/gateway.js';
import { openStore } from '../store/open.js';

export async function serve(opts: { config?: string; port?: string; host?: string }): Promise<void> {
  const config = loadConfig(opts.config);
  if (opts.port !== undefined) config.server.port = Number(opts.port);
  if (opts.host !== undefined) config.server.host = opts.host;
  const logger = createLogger(config.logLevel);
  const store = await openStore(config.store);
  await applyDeclaredAccounts(store, config.accounts);
  const first = await bootstrapFirstKey(store);
  const gateway = await startGateway({ config, store, logger });
  logger.info({ url: gateway.url, models: config.models.map((m) => m.id), store: config.store.split(':')[0] }, 'sluice listening');
  logger.flush();
  process.stdout.write(`Sluice listening on ${gateway.url}/v1\n`);
  if (first) {
    // Shown once, on the terminal only; the store keeps its hash.
    process.stdout.write(`Created account "local" and its first API key (shown only this once):\n\n  ${first.key}\n\n` +
      `  export OPENAI_BASE_URL=${gateway.url}/v1 OPENAI_API_KEY=${first.key}\n\n`);
  }
  // A stray rejection is a bug to log under its stack, not a reason to drop every other request.
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining');
    gateway.close()
      .then(() => store.close())
      .then(() => {
        logger.info('stopped');
        logger.flush();
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        logger.flush();
        process.exit(1);
      });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
