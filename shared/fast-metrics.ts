import type { Metric, MetricValue, MetricValueWithName, Registry } from 'prom-client';

/** What prom-client's registry reads from a metric to write it (`get()`), and sums across cluster workers. */
interface Exported<V> {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: V[];
}

/**
 * Counters and histograms for the request path, registered in a prom-client registry like its own
 * metrics (same text format, same cluster aggregation by sum). prom-client's `labels(…).observe()`
 * validates and hashes the label set and allocates on every call, some 2 µs measured; here each
 * label set's child is made once, and counting is a few additions on it.
 */

/** One label set's histogram: its buckets' counts (the last is +Inf), sum and count. */
export class HistogramChild {
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(
    private readonly bounds: readonly number[],
    readonly labels: Readonly<Record<string, string>>,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    let index = 0;
    // A bucket counts what is at most its bound (`le`).
    while (index < this.bounds.length && value > this.bounds[index]!) index += 1;
    this.counts[index]! += 1;
    this.sum += value;
    this.count += 1;
  }

  values(name: string): MetricValueWithName<string>[] {
    const values: MetricValueWithName<string>[] = [];
    let cumulative = 0;
    for (let index = 0; index <= this.bounds.length; index += 1) {
      cumulative += this.counts[index]!;
      const le = index < this.bounds.length ? String(this.bounds[index]) : '+Inf';
      values.push({ metricName: `${name}_bucket`, labels: { ...this.labels, le }, value: cumulative });
    }
    values.push({ metricName: `${name}_sum`, labels: { ...this.labels }, value: this.sum });
    values.push({ metricName: `${name}_count`, labels: { ...this.labels }, value: this.count });
    return values;
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

export class CounterChild {
  value = 0;

  constructor(readonly labels: Readonly<Record<string, string>>) {}

  inc(by = 1): void {
    this.value += by;
  }
}

/** What the two share: children by label values, and registration as a prom-client metric. */
abstract class FastMetric<C extends { labels: Readonly<Record<string, string>> }> {
  readonly aggregator = 'sum' as const;
  /** Every child made, in order, for export. */
  protected readonly children: C[] = [];
  /** Children by their label values, one map level a label: looking one up joins no string. */
  private readonly byValues = new Map<string, unknown>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** The child of these label values, in `labelNames` order; made (and exported, at 0) on first use. */
  labels(...values: string[]): C {
    let level = this.byValues;
    const last = values.length - 1;
    for (let index = 0; index < last; index += 1) {
      let next = level.get(values[index]!) as Map<string, unknown> | undefined;
      if (next === undefined) level.set(values[index]!, (next = new Map()));
      level = next;
    }
    const key = last >= 0 ? values[last]! : '';
    let child = level.get(key) as C | undefined;
    if (child === undefined) {
      if (values.length !== this.labelNames.length) throw new Error(`${this.name}: expected labels ${this.labelNames.join(', ')}`);
      child = this.child(Object.fromEntries(this.labelNames.map((label, index) => [label, values[index]!])));
      level.set(key, child);
      this.children.push(child);
    }
    return child;
  }

  protected abstract child(labels: Record<string, string>): C;
}

export class FastHistogram extends FastMetric<HistogramChild> {
  readonly type = 'histogram' as const;

  constructor(name: string, help: string, labelNames: readonly string[], private readonly bounds: readonly number[], registry: Registry) {
    super(name, help, labelNames, registry);
  }

  protected child(labels: Record<string, string>): HistogramChild {
    return new HistogramChild(this.bounds, labels);
  }

  get(): Exported<MetricValueWithName<string>> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.children.flatMap((child) => child.values(this.name)) };
  }

  reset(): void {
    for (const child of this.children) child.reset();
  }
}

export class FastCounter extends FastMetric<CounterChild> {
  readonly type = 'counter' as const;

  protected child(labels: Record<string, string>): CounterChild {
    return new CounterChild(labels);
  }

  get(): Exported<MetricValue<string>> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.children.map(({ labels, value }) => ({ labels: { ...labels }, value })) };
  }

  reset(): void {
    for (const child of this.children) child.value = 0;
  }
}
