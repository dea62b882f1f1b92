import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './tools.js';

/** The provisioned Grafana dashboard and its data source, as files in deploy/grafana/. */
export const DASHBOARD_FILE = join(ROOT, 'deploy', 'grafana', 'dashboards', 'echo.json');
export const DATASOURCE_FILE = join(ROOT, 'deploy', 'grafana', 'provisioning', 'datasources', 'prometheus.yml');

interface Target {
  refId: string;
  expr: string;
  legendFormat?: string;
  datasource: { type: string; uid: string };
}

/** The parts of a Grafana panel these checks read. */
export interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource: { type: string; uid: string };
  targets: Target[];
}

/** The dashboard JSON as Grafana provisions it. */
export function readDashboard(): { uid: string; title: string; panels: Panel[] } {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { uid: string; title: string; panels: Panel[] };
}

/** Every query of every panel, labelled with its panel's title. */
export function dashboardQueries(): Array<{ panel: string; expr: string }> {
  return readDashboard().panels.flatMap((panel) => panel.targets.map((target) => ({ panel: panel.title, expr: target.expr })));
}

/**
 * The expression Prometheus sees once Grafana has filled in its variables. Only
 * `$__rate_interval` is used; any other `$` is left alone so that Prometheus rejects it.
 */
export function toPromQL(expr: string, rateInterval = '30s'): string {
  return expr.replaceAll('$__rate_interval', rateInterval);
}

/** The metric names an expression reads (ours and prom-client's Node.js and process ones). */
export function metricNames(expr: string): string[] {
  return [...new Set(expr.match(/\b(?:echo|nodejs|process)_[a-z0-9_]+\b/g) ?? [])];
}

/** Whether an expression reads HAProxy's exporter (profile "cluster") rather than echo-server. */
export function readsHaproxy(expr: string): boolean {
  return /\bhaproxy_/.test(expr);
}

/** HAProxy's metric names an expression reads. */
export function haproxyMetricNames(expr: string): string[] {
  return [...new Set(expr.match(/\bhaproxy_[a-z0-9_]+\b/g) ?? [])];
}
