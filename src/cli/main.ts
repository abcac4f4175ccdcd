#!/usr/bin/env node
// The `sluice` command.
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError } from '../config/load.js';
import { GatewayError } from '../errors/gateway-error.js';
import { registerAdminCommands } from './admin-commands.js';
import { startSimServer } from '../sim/sim-server.js';
import { serve } from './serve.js';

function port(value: string): string {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number 0-65535');
  return value;
}

const program = new Command('sluice').description('OpenAI-compatible LLM inference gateway').showHelpAfterError();

program
  .command('serve')
  .description('start the gateway (with no --config: the embedded default on 127.0.0.1:8080)')
  .option('-c, --config <file>', 'config file (YAML)')
  .option('-p, --port <port>', 'override server.port', port)
  .option('--host <host>', 'override server.host')
  .action(serve);

registerAdminCommands(program);

program
  .command('sim')
  .description('run the simulated engine as a standalone OpenAI-compatible server (any model name)')
  .option('-p, --port <port>', 'port', port, '8000')
  .option('--host <host>', 'host', '127.0.0.1')
  .option('--fault-header', 'obey the x-sluice-fault request header', false)
  .option('--ttft-ms <ms>', 'time to first token', Number)
  .option('--itl-ms <ms>', 'inter-token latency', Number)
  .action(async (opts: { port: string; host: string; faultHeader: boolean; ttftMs?: number; itlMs?: number }) => {
    const settings = { ...(opts.ttftMs !== undefined && { ttftMs: opts.ttftMs }), ...(opts.itlMs !== undefined && { itlMs: opts.itlMs }) };
    const sim = await startSimServer({ port: Number(opts.port), host: opts.host, faultHeader: opts.faultHeader, settings });
    process.stdout.write(`sluice sim listening on ${sim.url}\n`);
    const stop = () => void sim.close().then(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`sluice: ${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof GatewayError) {
    process.stderr.write(`sluice: ${err.param ? `${err.param}: ` : ''}${err.message} (${err.code})\n`);
    process.exit(1);
  }
  process.stderr.write(`sluice: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
