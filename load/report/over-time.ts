import { joinIntervals, type IntervalResult } from '../result/intervals.js';
import type { LoadResult } from '../result/result.js';
import { formatCount, formatMs } from './format.js';
import { renderTable } from './table.js';

/** At most this many rows: a longer run's intervals are joined, several to a row, so the view stays a screenful. */
const MAX_ROWS = 20;
/** Width of the msg/s bar, in characters. */
const BAR_WIDTH = 20;
/** A bar's last character, by eighths of a character. */
const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/**
 * The report's over-time view: per interval (or group of consecutive intervals), from the
 * run's first interval, how it related to the measured window, connections open at its end,
 * msg/s with a bar, echo p99 and errors (and, under `--reconnect`, disruptions and reconnects),
 * so that a ramp or a disruption shows without another tool, and when it happened. Nothing when
 * the result has fewer than two intervals.
 *
 * @example
 *   formatOverTime(result) // ['Over time: 1 s intervals, ...', '┌──────┬─…', …, '']
 */
export function formatOverTime(result: LoadResult): string[] {
  const intervals = result.intervals ?? [];
  if (intervals.length < 2 || result.intervalMs === undefined) return [];
  const perRow = Math.ceil(intervals.length / MAX_ROWS);
  const rows: IntervalResult[] = [];
  for (let i = 0; i < intervals.length; i += perRow) rows.push(perRow === 1 ? intervals[i]! : joinIntervals(intervals.slice(i, i + perRow)));
  const rates = rows.map((row) => (row.duration > 0 ? row.messages / row.duration : 0));
  const top = Math.max(...rates);
  const origin = intervals[0]!.start;
  const length = result.intervalMs;
  const seconds = (ms: number) => `${Number((ms / 1000).toFixed(length % 1000 === 0 ? 0 : 1))}`;
  const table = rows.map((row, i) => [
    `${seconds(row.start - origin)}${perRow > 1 ? `-${seconds(Math.min(row.start + perRow * length, intervals.at(-1)!.start + length) - origin)}` : ''} s`,
    row.window,
    formatCount(row.open),
    formatCount(Math.round(rates[i]!)),
    row.latency.totalCount === 0 ? '-' : formatMs(row.latency.p99),
    formatCount(row.errors),
    ...(result.reconnecting ? [formatCount(row.disrupted), formatCount(row.reconnects)] : []),
    bar(rates[i]!, top),
  ]);
  const head = ['Time', 'Window', 'Open', 'Msg/s', 'p99', 'Errors', ...(result.reconnecting ? ['Disrupted', 'Reconnects'] : []), ''];
  const each = perRow === 1 ? `${seconds(length)} s intervals` : `${seconds(length)} s intervals, ${perRow} to a row`;
  return [
    `Over time (${each}; window: before, partial or inside the measured window; open at each row's end):`,
    renderTable([head, ...table]),
    '',
  ];
}

/** `value` as a bar of at most BAR_WIDTH characters, `top` filling it. */
function bar(value: number, top: number): string {
  if (top <= 0) return '';
  const eighths = Math.round((value / top) * BAR_WIDTH * 8);
  return '█'.repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8]!;
}
