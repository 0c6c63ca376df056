import type { HiveConfig } from './processes';

/** One gateway (or the bare server) of the foreign scenario. */
export interface ForeignTargetSpec {
  /** Stable key, as in bench/results.json. */
  key: string;
  /** As printed in the tables. */
  name: string;
  kind: 'ours' | 'stock' | 'hive' | 'bare';
  /** Our gateway's settings beyond tests/fixtures/foreign/settings.ts. */
  env?: Record<string, string>;
  hive?: HiveConfig;
}

/**
 * Every target of the foreign scenario, in the order each round measures them. Our gateway runs
 * with its defaults (response cache off, as for the others), then without client deduplication
 * (identical subgraph calls still merged), then without either deduplication.
 */
export const FOREIGN_TARGETS: readonly ForeignTargetSpec[] = [
  { key: 'ours', name: 'ours, defaults (client dedup on)', kind: 'ours' },
  { key: 'hive-rr-dedup', name: 'Hive + router runtime, inbound dedup', kind: 'hive', hive: 'router-runtime-inbound-dedup' },
  { key: 'hive-jit-dedup', name: 'Hive Gateway --jit, inbound dedup', kind: 'hive', hive: 'jit-inbound-dedup' },
  { key: 'ours-no-client-dedup', name: 'ours, client dedup off', kind: 'ours', env: { CLIENT_DEDUPLICATION: 'off' } },
  { key: 'hive-rr', name: 'Hive + router runtime, no inbound dedup', kind: 'hive', hive: 'router-runtime' },
  { key: 'hive-jit', name: 'Hive Gateway --jit, no inbound dedup', kind: 'hive', hive: 'jit' },
  { key: 'ours-no-dedup', name: 'ours, no dedup (client nor subgraph)', kind: 'ours', env: { CLIENT_DEDUPLICATION: 'off', SUBGRAPH_DEDUPLICATION: 'off' } },
  { key: 'stock', name: 'stock Apollo Gateway', kind: 'stock' },
  // The same answer's bytes (ours, read from a file once) from a server that does nothing else: what writing them costs.
  { key: 'bare', name: "bare Node http, our answer's bytes (one Buffer)", kind: 'bare', env: { BODY_AS: 'buffer' } },
];

/** Two targets compared, ours first; `ours / peer` is the ratio printed. */
export interface Comparison {
  ours: string;
  peer: string;
  /** What makes the two comparable, or why the comparison is only an extra. */
  why: string;
}

/**
 * The like-for-like pairs: the same deduplication on both sides. The headline ratios (and the
 * chart) come from these only.
 */
export const PAIRS: readonly Comparison[] = [
  { ours: 'ours', peer: 'hive-rr-dedup', why: 'client (inbound) deduplication on in both' },
  { ours: 'ours', peer: 'hive-jit-dedup', why: 'client (inbound) deduplication on in both' },
  { ours: 'ours-no-client-dedup', peer: 'hive-rr', why: 'client (inbound) deduplication off in both' },
  { ours: 'ours-no-client-dedup', peer: 'hive-jit', why: 'client (inbound) deduplication off in both' },
];

/** Comparisons beside the headline: stock Apollo Gateway, and the bare server's write cost. */
export const EXTRAS: readonly Comparison[] = [
  { ours: 'ours-no-client-dedup', peer: 'stock', why: 'stock has no deduplication of either kind' },
  { ours: 'ours-no-dedup', peer: 'stock', why: 'no deduplication in either' },
  { ours: 'ours', peer: 'bare', why: 'the same bytes written; CPU per request is what ours adds to the write' },
];

export const targetSpec = (key: string) => {
  const spec = FOREIGN_TARGETS.find((candidate) => candidate.key === key);
  if (!spec) throw new Error(`unknown foreign target ${key}`);
  return spec;
};
