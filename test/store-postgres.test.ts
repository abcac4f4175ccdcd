import { defineStoreSuite } from './helpers/store-suite.js';
import { dropSchemaOf, freshPostgresUrl, postgresSkipReason } from './helpers/postgres.js';

await defineStoreSuite({
  name: 'PostgreSQL',
  url: async () => {
    const skip = await postgresSkipReason();
    return skip ? { skip } : freshPostgresUrl();
  },
  cleanup: dropSchemaOf,
});
