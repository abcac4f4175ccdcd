// The gateway's retry counters for the model after the run, from its /metrics: retries by the code
// that caused them (sluice_retries_total) and retries refused by the budget
// (sluice_retry_budget_exhausted_total). The gateway is fresh, so they count this run only.
import { gatewayMetricsText, labels } from '../overload/admission-metrics.js';

export interface RetryCounters {
  retriesByCode: Record<string, number>;
  retries: number;
  budgetExhausted: number;
}

export async function scrapeRetries(gatewayOrigin: string, model: string): Promise<RetryCounters> {
  const text = await gatewayMetricsText(gatewayOrigin);
  const out: RetryCounters = { retriesByCode: {}, retries: 0, budgetExhausted: 0 };
  for (const line of text.split('\n')) {
    const isRetry = line.startsWith('sluice_retries_total{');
    if (!isRetry && !line.startsWith('sluice_retry_budget_exhausted_total{')) continue;
    const l = labels(line);
    if (l.model !== model) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (!isRetry) out.budgetExhausted += value;
    else {
      const code = l.code ?? 'unknown';
      out.retriesByCode[code] = (out.retriesByCode[code] ?? 0) + value;
      out.retries += value;
    }
  }
  return out;
}
