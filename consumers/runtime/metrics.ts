// Prometheus metrics through prom-client, one registry per process (the roles of a process share
// it). A metric is declared once with its label names; asking again for the same name and type
// returns it (several consumers in one process count into the same series), while the same name
// as another type, with other labels or other buckets throws a ContractError `metric-conflict` instead of
// quietly handing back the old metric.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import { ContractError } from '../../topology/index.ts';

export { Counter, Gauge, Histogram };

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** A metric name asked for with a type, labels or buckets other than those it was declared with. */
function conflict(metric: string, message: string): ContractError {
  return new ContractError('metric-conflict', `metric ${metric}: ${message}`);
}

interface Declared {
  type: MetricType;
  labelNames: readonly string[];
  buckets?: readonly number[];
  metric: Metric;
}

export class MetricsRegistry {
  readonly registry = new Registry();
  private readonly declared = new Map<string, Declared>();

  /**
   * `defaultMetrics` adds prom-client's process, heap, event-loop-lag and GC metrics (a process's
   * registry wants them; a consumer built in a test with a registry of its own does not).
   */
  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  counter<L extends string = string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return this.declare(
      name,
      'counter',
      labelNames,
      undefined,
      () => new Counter<L>({ name, help, labelNames, registers: [this.registry] }),
    );
  }

  gauge<L extends string = string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    return this.declare(name, 'gauge', labelNames, undefined, () => new Gauge<L>({ name, help, labelNames, registers: [this.registry] }));
  }

  histogram<L extends string = string>(
    name: string,
    help: string,
    buckets: readonly number[],
    labelNames: readonly L[] = [],
  ): Histogram<L> {
    return this.declare(
      name,
      'histogram',
      labelNames,
      buckets,
      () => new Histogram<L>({ name, help, labelNames, buckets: [...buckets], registers: [this.registry] }),
    );
  }

  /** The text exposition format, as /metrics serves it. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * The current value of a counter or gauge series (0 when it has none yet), or a histogram
   * series' observation count; for tests and status output.
   */
  async value(name: string, labels: Record<string, string | number> = {}): Promise<number> {
    const declared = this.declared.get(name);
    if (!declared) throw conflict(name, 'is not registered');
    const { values } = await declared.metric.get();
    const wanted = declared.type === 'histogram' ? `${name}_count` : name;
    const match = values.find(
      (v) =>
        ((v as { metricName?: string }).metricName ?? name) === wanted &&
        Object.keys(labels).length === Object.keys(v.labels).length &&
        Object.entries(labels).every(([k, l]) => String(v.labels[k]) === String(l)),
    );
    return match?.value ?? 0;
  }

  /** Every declared searchbus metric with its type, for checks and docs. */
  declaredMetrics(): Array<{ name: string; type: MetricType; labelNames: readonly string[] }> {
    return [...this.declared.entries()].map(([name, d]) => ({ name, type: d.type, labelNames: d.labelNames }));
  }

  private declare<M extends Metric>(
    name: string,
    type: MetricType,
    labelNames: readonly string[],
    buckets: readonly number[] | undefined,
    make: () => M,
  ): M {
    const existing = this.declared.get(name);
    if (existing) {
      if (existing.type !== type) throw conflict(name, `is already registered as a ${existing.type}, not a ${type}`);
      if (!sameList(existing.labelNames, labelNames)) {
        throw conflict(name, `is already registered with labels [${existing.labelNames.join(', ')}], not [${labelNames.join(', ')}]`);
      }
      if (buckets && existing.buckets && !sameList(existing.buckets, buckets))
        throw conflict(name, 'is already registered with other buckets');
      return existing.metric as M;
    }
    if (this.registry.getSingleMetric(name)) throw conflict(name, 'is already registered (a default metric)');
    const metric = make();
    this.declared.set(name, { type, labelNames: [...labelNames], ...(buckets ? { buckets: [...buckets] } : {}), metric });
    return metric;
  }
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  const x = [...a].sort();
  const y = [...b].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

export const SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
export const SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
/** Publish → written: from milliseconds (idle pipeline) to minutes (a backlog after an outage). */
export const FRESHNESS_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
