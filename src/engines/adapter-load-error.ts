// The one failure an engine's loadAdapter() throws when the engine refused or could not read the
// adapter. The gateway remembers it for a while and answers 412 adapter_load_failed with a clean
// message; `detail` (the engine's own words, which may name paths) goes to the log only.
export class AdapterLoadError extends Error {
  constructor(readonly detail: string) {
    super('the adapter failed to load');
    this.name = 'AdapterLoadError';
  }
}
