// `npm run docs:errors`: regenerates docs/errors.md from the catalog.
import { writeFileSync } from 'node:fs';
import { renderErrorsDoc } from './docs.js';

writeFileSync(new URL('../../../docs/errors.md', import.meta.url), renderErrorsDoc());
process.stdout.write('docs/errors.md written\n');
