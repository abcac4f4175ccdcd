// The numbers the benchmark collects: one metric per row of the report, with a value per round
// for each way of reaching the engine (direct, through the baseline proxy, through the gateway).
import { median } from './stats.js';

export type Via = 'direct' | 'proxy' | 'gateway';
export const VIAS: readonly Via[] = ['direct', 'proxy', 'gateway'];

export type Unit = 'req/s' | 'ms' | 'MB';

export interface Metric {
  id: string;
  group: string;
  label: string;
  unit: Unit;
  rounds: Record<Via, number[]>;
}

export interface MetricSummary {
  id: string;
  group: string;
  label: string;
  unit: Unit;
  rounds: Record<Via, number[]>;
  median: Record<Via, number>;
  /** gateway ÷ direct and gateway ÷ proxy, from the medians. */
  ratio: { toDirect: number; toProxy: number };
  /** gateway − direct and gateway − proxy (how much the gateway adds), from the medians. */
  added: { overDirect: number; overProxy: number };
}

export class MetricSet {
  private readonly byId = new Map<string, Metric>();

  define(id: string, group: string, label: string, unit: Unit): void {
    this.byId.set(id, { id, group, label, unit, rounds: { direct: [], proxy: [], gateway: [] } });
  }

  record(id: string, via: Via, value: number): void {
    const m = this.byId.get(id);
    if (!m) throw new Error(`unknown metric ${id}`);
    m.rounds[via].push(value);
  }

  summaries(): MetricSummary[] {
    return [...this.byId.values()].map((m) => {
      const med = { direct: median(m.rounds.direct), proxy: median(m.rounds.proxy), gateway: median(m.rounds.gateway) };
      return {
        ...m,
        median: med,
        ratio: { toDirect: med.gateway / med.direct, toProxy: med.gateway / med.proxy },
        added: { overDirect: med.gateway - med.direct, overProxy: med.gateway - med.proxy },
      };
    });
  }
}
