import { formatAddress } from '../../src/address.js';
import { formatBytes, formatCount, formatMs, formatSeconds } from './format.js';
import type { Distribution, LoadResult } from '../result/result.js';
import { renderTable } from './table.js';
import { formatTargets } from './target-report.js';
import { describeShape, formatShapeOutcome } from './shape-report.js';
import { formatOverTime } from './over-time.js';
import { formatThresholds } from '../verdict/threshold-check.js';
import { failureCountsOf, FAILURE_KIND_NAMES, FAILURE_KINDS, type FailureKind } from '../result/failure-kind.js';
import type { Timing } from '../worker/tally.js';

/** The rows of the latency table, top to bottom: set-up first, then steady state. */
const TIMING_ROWS: ReadonlyArray<readonly [Timing, string]> = [
  ['connect', 'Connect'],
  ['handshake', 'TLS handshake'],
  ['firstEcho', 'First echo'],
  ['latency', 'Echo latency'],
  ['reconnect', 'Reconnect'],
];

/**
 * What echo-load prints for a result, a run's or a merge's: the human report (with the
 * over-time view if `overTime`), or with `--json` the result itself, one line of JSON (as
 * `--json-file` writes it too).
 *
 * @example
 *   process.stdout.write(formatResult(result, options.json, process.stdout.isTTY));
 */
export function formatResult(result: LoadResult, json: boolean, overTime = false): string {
  return json ? `${JSON.stringify(result)}\n` : formatReport(result, overTime);
}

/**
 * The human report: a pure function from a result to text (stdout). Every figure in it is
 * also in the `--json` result, under the key named in the comments. `overTime` adds the
 * over-time view (over-time.ts), made from `intervals`.
 *
 * @example
 *   process.stdout.write(formatReport(result));
 */
export function formatReport(result: LoadResult, overTime = false): string {
  const lines: string[] = [];
  const rate = result.rate > 0 ? `, ${formatCount(result.rate)} msg/s per connection` : '';
  const address = result.address === result.host ? '' : ` (${result.address})`;
  const tls = result.tls ? ', TLS' : '';
  const proxy = result.proxyProtocol === 'off' ? '' : `, PROXY ${result.proxyProtocol} header`;
  const targets = result.targets ?? [];
  const where = targets.length > 1 ? `${targets.length} targets` : `${formatAddress(result.host, result.port)}${address}`;
  const merged = result.merged === undefined ? '' : `${result.merged} results merged: `;
  lines.push(
    `echo-load: ${merged}${formatCount(result.connections)} connections to ${where} ` +
      `over ${result.workers} worker${result.workers === 1 ? '' : 's'}, ${formatBytes(result.size)} messages, ` +
      `pipeline ${result.pipelining}${rate}${tls}${proxy}${describeShape(result)}`,
    '',
  );
  const timingRow = (stats: Distribution, label: string) => [
    label,
    ...(['p50', 'p90', 'p99', 'p99_9', 'average', 'stddev', 'max'] as const).map((key) => formatMs(stats[key] ?? 0)),
    formatCount(stats.totalCount ?? 0),
  ];
  // The handshake row is there when the run spoke TLS (its JSON has `handshake` then).
  const rows = TIMING_ROWS.flatMap(([timing, label]) => {
    const stats = result[timing];
    return stats === undefined ? [] : [timingRow(stats, label)];
  });
  lines.push(
    renderTable([['Stat', '50%', '90%', '99%', '99.9%', 'Avg', 'Stdev', 'Max', 'Count'], ...rows]),
    ...(result.handshake === undefined
      ? [
          'Connect: from starting the connect until it is up (SYN retransmits show here). First echo: from then until',
          "its first echo (time unaccepted in the server's accept queue shows here). Both cover the whole run; echo",
          'latency covers every later message, in the measured window.',
        ]
      : [
          'Connect: from starting the connect until it is up (SYN retransmits show here). TLS handshake: from then',
          "until the handshake is done (time unaccepted in the server's accept queue shows here). First echo: from",
          'then until its first echo. All three cover the whole run; echo latency covers every later message, in the',
          'measured window.',
        ]),
    '',
  );
  const rateRow = (label: string, stats: Distribution, format: (value: number) => string) => [
    label,
    ...(['p2_5', 'p50', 'p97_5', 'average', 'stddev', 'min', 'max'] as const).map((key) => format(stats[key] ?? 0)),
  ];
  lines.push(
    renderTable([
      ['Stat', '2.5%', '50%', '97.5%', 'Avg', 'Stdev', 'Min', 'Max'],
      rateRow('Msg/Sec', result.requests, formatCount),
      rateRow('Bytes/Sec', result.throughput, formatBytes),
    ]),
    '',
    `Msg/Bytes counts sampled once per second; # of samples: ${result.samples}. Latency from ` +
      (result.rate > 0 ? 'the intended send time (corrected for coordinated omission).' : 'the send time.'),
    '',
    ...(overTime ? formatOverTime(result) : []),
    ...formatTargets(result),
    `${formatCount(result.requests.total ?? 0)} messages echoed in ${formatSeconds(result.duration)}, ` +
      `${formatBytes(result.throughput.total ?? 0)} read: ${checked(result)}`,
    `${formatCount(result.held)} of ${formatCount(result.connections)} connections held`,
    ...formatShapeOutcome(result),
  );
  lines.push(...formatErrors(result), ...formatThresholds(result.thresholds));
  if (result.interrupted) {
    lines.push(`interrupted: the figures cover the ${formatSeconds(result.duration)} measured before the stop`);
  }
  return lines.join('\n') + '\n';
}

/**
 * The errors line: the total and the count of each kind (by the kind's `zero`: some always,
 * handshake failures when the run spoke TLS, the others when there is any), then the first
 * failure of each kind that happened, with its remedy when it has one.
 */
function formatErrors(result: LoadResult): string[] {
  if (result.errors === 0) return ['0 errors'];
  const counts = failureCountsOf(result);
  const listed = FAILURE_KIND_NAMES.filter((kind) => {
    const zero = FAILURE_KINDS[kind].zero;
    return counts[kind] > 0 || zero === 'listed' || (zero === 'tls' && result.tls);
  });
  const lines = [`${formatCount(result.errors)} errors: ${listed.map((kind) => `${formatCount(counts[kind])} ${FAILURE_KINDS[kind].plural}`).join(', ')}`];
  for (const [kind, note] of Object.entries(result.failures)) {
    const info: { label: string; remedy?: string } = FAILURE_KINDS[kind as FailureKind];
    lines.push(`  first ${info.label}: ${note}`);
    if (info.remedy !== undefined) lines.push(`  remedy: ${info.remedy}`);
  }
  return lines;
}

/**
 * What the byte check found, in words: every byte read was compared with the byte sent,
 * upper-cased; a connection's first wrong byte (or a byte it never sent) ends it, and the read
 * holding it is not in the bytes counted, so "every byte" stays true of those.
 */
function checked(result: LoadResult): string {
  const mismatches = `${formatCount(result.mismatches)} ${result.mismatches === 1 ? 'mismatch' : 'mismatches'} below`;
  if ((result.throughput.total ?? 0) === 0) return result.mismatches === 0 ? 'nothing came back to check' : `nothing came back as sent, upper-cased (${mismatches})`;
  return result.mismatches === 0 ? 'every byte as sent, upper-cased' : `every byte as sent, upper-cased, but for the ${mismatches}`;
}
