// Headless Chromium for the browser tests: Debian's package (/usr/bin/chromium) driven by
// playwright-core. Where it is missing the suites skip with a clear reason; CI sets
// SLUICE_REQUIRE_CHROMIUM=1 (.ci/run installs the package), which turns that into a failure.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT } from './prometheus.js';

export const CHROMIUM = '/usr/bin/chromium';
/** Screenshots the tests save, kept by CI (gitignored). */
export const ARTIFACTS_DIR = join(REPO_ROOT, 'test-artifacts');

/** undefined when Chromium is installed; otherwise the reason to skip. Throws when required. */
export function chromiumSkipReason(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const why = `${CHROMIUM} not found (Debian: apt-get install chromium)`;
  if (process.env.SLUICE_REQUIRE_CHROMIUM === '1') throw new Error(`${why}, and SLUICE_REQUIRE_CHROMIUM=1 makes it mandatory`);
  return `${why}: skipping; set SLUICE_REQUIRE_CHROMIUM=1 to make this a failure`;
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * A fresh headless Chromium with its own temporary profile. The flags keep it off the network
 * (no background requests, component updates, sync or QUIC probes: on a machine without network
 * access Chromium otherwise retries them all the time) and let it run as root in a container.
 */
export async function launchChromium(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'sluice-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** What a page said that a test must see: console errors, uncaught exceptions, dialogs (dismissed). */
export function watchPage(page: Page): { errors: string[]; dialogs: string[] } {
  const seen = { errors: [] as string[], dialogs: [] as string[] };
  page.on('console', (m) => {
    if (m.type() === 'error') seen.errors.push(m.text());
  });
  page.on('pageerror', (e) => seen.errors.push(`uncaught: ${e.message}`));
  page.on('requestfailed', (r) => seen.errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('dialog', (d) => {
    seen.dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  return seen;
}

/** Saves a full-page screenshot under test-artifacts/ and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, name);
  await page.screenshot({ path, fullPage: true });
  return path;
}
