// The embedded default: what `sluice serve` runs with no config file. Two chat models and one
// embedding model on the built-in simulator, data in ./sluice.db.
export const defaultConfigDocument = {
  server: { host: '127.0.0.1', port: 8080 },
  store: 'sqlite://./sluice.db',
  models: [
    {
      id: 'llama-3.1-8b-instruct',
      contextLength: 8192,
      deployments: [{ id: 'sim-llama', engine: 'sim', sim: { ttftMs: 20, itlMs: 5, maxNumSeqs: 16, seed: 1 } }],
    },
    {
      id: 'qwen2.5-7b-instruct',
      contextLength: 32768,
      deployments: [{ id: 'sim-qwen', engine: 'sim', sim: { ttftMs: 30, itlMs: 8, maxNumSeqs: 16, seed: 2 } }],
    },
    {
      id: 'nomic-embed-text-v1.5',
      kind: 'embedding',
      contextLength: 8192,
      deployments: [{ id: 'sim-embed', engine: 'sim', sim: { ttftMs: 5, embeddingDimensions: 768, seed: 3 } }],
    },
  ],
};
