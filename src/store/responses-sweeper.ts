// Retention of stored responses: the ones past their expiry, in batches of one statement each.
import type { Logger } from '../observability/logger.js';
import type { ResponsesRepo } from './responses-repo.js';
import { RetentionSweeper, type SweeperOptions } from './retention-sweeper.js';

export type { SweeperOptions } from './retention-sweeper.js';

export class ResponsesSweeper extends RetentionSweeper {
  constructor(repo: Pick<ResponsesRepo, 'deleteExpired'>, logger: Logger, opts: SweeperOptions = {}) {
    super('stored responses', repo, logger, opts);
  }
}
