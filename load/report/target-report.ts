import { formatCount, formatMs } from './format.js';
import type { LoadResult } from '../result/result.js';
import { renderTable } from './table.js';

/**
 * The report's per-target table, when the run (or the merge) drove more than one target:
 * connections, connections held, messages and their share, errors, and echo latency p50/p99
 * of each, so that an uneven spread shows at a glance. Nothing for one target (its figures
 * are the totals).
 *
 * @example
 *   formatTargets(result) // ['┌────────┬───…', '│ Target │ Conns │ …', …, '']
 */
export function formatTargets(result: LoadResult): string[] {
  const targets = result.targets ?? [];
  if (targets.length < 2) return [];
  const total = targets.reduce((sum, target) => sum + target.messages, 0);
  const share = (messages: number) => (total === 0 ? '-' : `${((messages / total) * 100).toFixed(1)}%`);
  const rows = targets.map((target) => [
    target.address === target.host ? target.target : `${target.target} (${target.address})`,
    formatCount(target.connections),
    formatCount(target.held),
    formatCount(target.messages),
    share(target.messages),
    formatCount(target.errors),
    formatMs(target.latency.p50 ?? 0),
    formatMs(target.latency.p99 ?? 0),
  ]);
  return [renderTable([['Target', 'Conns', 'Held', 'Messages', 'Share', 'Errors', 'p50', 'p99'], ...rows]), ''];
}
