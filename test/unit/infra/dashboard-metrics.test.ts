import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import {
  DASHBOARD_PATH,
  dashboardExpressions,
  dashboardMetricNames,
  exportedMetricNames,
  promqlMetricNames,
} from '../../support/dashboard-metrics.ts';

describe('dashboard metric names', () => {
  it('finds the metric names of PromQL expressions, not functions, labels or variables', () => {
    assert.deepEqual(
      promqlMetricNames(
        'histogram_quantile(0.95, sum by (le, role) (rate(searchbus_handle_seconds_bucket{role="encoder"}[$__rate_interval])))',
      ),
      ['searchbus_handle_seconds_bucket'],
    );
    assert.deepEqual(
      promqlMetricNames('sum by (role) (rate(a_sum[5m])) / sum by (role) (rate(b_count{x=~"$instance"}[5m])) unless on (job) c'),
      ['a_sum', 'b_count', 'c'],
    );
    assert.deepEqual(promqlMetricNames('nodejs_eventloop_lag_p99_seconds{instance=~"$instance"}'), ['nodejs_eventloop_lag_p99_seconds']);
  });

  it('reads every panel expression and query variable of the dashboard', async () => {
    const dashboard: unknown = JSON.parse(await readFile(DASHBOARD_PATH, 'utf8'));
    const expressions = dashboardExpressions(dashboard);
    assert.ok(expressions.length >= 20, `${expressions.length} expressions`);
    assert.ok(expressions.includes('process_cpu_seconds_total'), 'the instance variable names its metric');
    const names = await dashboardMetricNames();
    for (const name of [
      'searchbus_freshness_seconds_bucket',
      'searchbus_search_latency_seconds_bucket',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_p99_seconds',
    ])
      assert.ok(names.includes(name), name);
  });

  it('reads exported names from a Prometheus page, families without samples included', () => {
    const names = exportedMetricNames('# HELP h x\n# TYPE h histogram\n# TYPE c counter\nc{a="1"} 2\ng 3\n');
    assert.deepEqual([...names].sort(), ['c', 'g', 'h', 'h_bucket', 'h_count', 'h_sum']);
  });
});
