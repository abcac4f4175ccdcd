// The Prometheus tools for tests (Debian packages prometheus and prometheus-alertmanager): where
// a binary is missing the suites skip with a clear reason; CI sets SLUICE_REQUIRE_PROMETHEUS=1,
// which turns a missing promtool or prometheus into a failure.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository's root (this file is dist/test/helpers/prometheus.js once built). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const ALERTS_FILE = join(REPO_ROOT, 'deploy/prometheus/alerts.yml');

/** The binary's path when it is on PATH. */
export function which(binary: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * undefined when every binary is present; otherwise the reason to skip. Throws when required:
 * `required` says whether SLUICE_REQUIRE_PROMETHEUS=1 covers these binaries (amtool is optional).
 */
export function prometheusSkipReason(binaries: string[], required = true): string | undefined {
  const missing = binaries.filter((b) => which(b) === undefined);
  if (missing.length === 0) return undefined;
  const why = `${missing.join(', ')} not found on PATH (Debian: apt-get install prometheus prometheus-alertmanager)`;
  if (required && process.env.SLUICE_REQUIRE_PROMETHEUS === '1') throw new Error(`${why}, and SLUICE_REQUIRE_PROMETHEUS=1 makes it mandatory`);
  return `${why}: skipping${required ? '; set SLUICE_REQUIRE_PROMETHEUS=1 to make this a failure' : ''}`;
}
