#!/usr/bin/env node
// The `sluice` command.
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError } from '../config/load.js';
import { EngineStartError } from '../engines/engine-start-error.js';
import { GatewayError } from '../errors/gateway-error.js';
import { registerAdminCommands } from './admin-commands.js';
import { serve } from './serve.js';
import { registerSimCommand } from './sim-command.js';

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

registerSimCommand(program, port);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`sluice: ${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof EngineStartError) {
    process.stderr.write(`sluice: ${err.message}\n`);
    process.exit(1);
  }
  if (err instanceof GatewayError) {
    process.stderr.write(`sluice: ${err.param ? `${err.param}: ` : ''}${err.message} (${err.code})\n`);
    process.exit(1);
  }
  process.stderr.write(`sluice: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
