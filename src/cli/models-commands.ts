// `sluice models list|update`: the run-time state of a running gateway's models (maintenance,
// weights, health). That state lives in the gateway's memory, not in the store, so these commands
// go through its admin API over HTTP where the other admin commands open the store.
import { type Command, InvalidArgumentError } from 'commander';
import { patchDeploymentInput, patchModelInput } from '../admin/inputs.js';
import type { DeploymentView, ModelView } from '../admin/model-views.js';
import { validateBody } from '../openai/validate.js';
import { print } from './output.js';
import { client, connection, reporting, type Connection } from './admin-connection.js';

const COLUMNS = ['model', 'deployment', 'weight', 'maintenance', 'health', 'circuit', 'in-flight'];

const onOff = (v: string): boolean => {
  if (v === 'on' || v === 'true') return true;
  if (v === 'off' || v === 'false') return false;
  throw new InvalidArgumentError('expected on or off');
};

function num(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number');
  return n;
}

/** One table row per deployment; a model drained as a whole shows it on each of its rows. */
function row(model: Pick<ModelView, 'id' | 'maintenance'>, d: DeploymentView | undefined): Record<string, unknown> {
  if (!d) return { model: model.id, maintenance: model.maintenance ? 'on (model)' : 'off' };
  const reopens = d.circuit.reopensInMs === undefined ? '' : ` (${Math.ceil(d.circuit.reopensInMs / 1000)}s)`;
  return {
    model: model.id,
    deployment: d.id,
    weight: d.weight,
    maintenance: model.maintenance ? 'on (model)' : d.maintenance ? 'on' : 'off',
    health: d.health,
    circuit: `${d.circuit.state}${reopens}`,
    'in-flight': d.inFlight,
  };
}

const rows = (m: ModelView) => (m.deployments.length === 0 ? [row(m, undefined)] : m.deployments.map((d) => row(m, d)));

const path = (model: string, deployment?: string) => `/admin/models/${encodeURIComponent(model)}${deployment === undefined ? '' : `/deployments/${encodeURIComponent(deployment)}`}`;

export function registerModelsCommands(program: Command): void {
  const models = program.command('models').description("a running gateway's models: maintenance, weights, health (through its admin API)");

  connection(models.command('list').description('each deployment: weight, maintenance, health, circuit, requests in flight'))
    .action((o: Connection) => reporting(async () => {
      const list = (await client(o).call<{ data: ModelView[] }>('GET', '/admin/models')).data;
      print(o.json ? list : list.flatMap(rows), o.json ?? false, o.json ? undefined : COLUMNS);
    }));

  connection(models.command('update <model>').description('drain a model or deployment for maintenance, or change a deployment\'s weight (until the gateway restarts)'))
    .option('-d, --deployment <id>', 'change this deployment instead of the whole model')
    .option('--maintenance <on|off>', 'on: new requests avoid it while those in flight finish; off: back in service', onOff)
    .option('--weight <n>', "the deployment's share of traffic (0 < n ≤ 1000)", num)
    .action((model: string, o: Connection & { deployment?: string; maintenance?: boolean; weight?: number }, cmd: Command) => reporting(async () => {
      if (o.deployment === undefined) {
        if (o.weight !== undefined) cmd.error('error: --weight applies to a deployment: add --deployment <id>');
        if (o.maintenance === undefined) cmd.error('error: nothing to change: give --maintenance on|off');
        const view = await client(o).call<ModelView>('PATCH', path(model), validateBody(patchModelInput, { maintenance: o.maintenance }));
        return print(o.json ? view : rows(view), o.json ?? false, o.json ? undefined : COLUMNS);
      }
      if (o.maintenance === undefined && o.weight === undefined) cmd.error('error: nothing to change: give --maintenance on|off or --weight <n>');
      // Checked here too, so a bad flag fails before anything is sent.
      const patch = validateBody(patchDeploymentInput, { ...(o.maintenance !== undefined && { maintenance: o.maintenance }), ...(o.weight !== undefined && { weight: o.weight }) });
      const view = await client(o).call<DeploymentView>('PATCH', path(model, o.deployment), patch);
      // The model-wide flag is not in a deployment's view: the row shows the deployment's own.
      print(o.json ? view : row({ id: model, maintenance: false }, view), o.json ?? false, o.json ? undefined : COLUMNS);
    }));
}
