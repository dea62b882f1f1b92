import { writeFileSync } from 'node:fs';
import { formatAddress } from '../../src/address.js';
import type { Logger } from '../../src/log.js';
import type { LoadOptions } from '../options/options.js';
import { formatResult } from '../report/report.js';
import type { LoadResult } from '../result/result.js';
import { TimeseriesOutput } from './timeseries-output.js';
import { ProgressLine } from '../run/progress.js';
import { LoadError } from '../run/load-error.js';
import { runLoad } from '../run/runner.js';
import { OptionError } from '../../src/parse-option.js';
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE } from '../exit-codes.js';
import { fail, judge } from './exit-policy.js';

/**
 * `echo-load` (a run): runs the load test, judges it, writes `--json-file`, prints the report
 * or the JSON, and gives the exit code. Aborting `signal` (SIGINT) stops the run early; what
 * was measured is still printed, and the code is then EXIT_INTERRUPTED.
 *
 * @example
 *   process.exit(await runCommand(parseOptions({ clients: '100' }, 2), log, controller.signal));
 */
export async function runCommand(options: LoadOptions, log: Logger, signal: AbortSignal): Promise<number> {
  const progress = options.progress && process.stderr.isTTY ? new ProgressLine(process.stderr) : undefined;
  let timeseries: TimeseriesOutput | undefined;
  try {
    timeseries = options.timeseries === undefined ? undefined : TimeseriesOutput.open(options.timeseries);
  } catch (error) {
    return fail(`cannot write --timeseries ${options.timeseries}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, EXIT_FAILED);
  }
  let result: LoadResult;
  try {
    // The progress line is erased before anything else is printed, the report or an error line.
    const run = runLoad(options, { log, signal, onTick: progress && ((tick) => progress.show(tick)), onInterval: timeseries && ((interval) => timeseries.write(interval)) });
    result = await run.finally(() => progress?.clear());
  } catch (error) {
    if (error instanceof LoadError) return fail(error.message, EXIT_FAILED);
    // Options that only the resolved targets show unusable (--source of another family).
    if (error instanceof OptionError) return fail(error.message, EXIT_USAGE);
    throw error;
  } finally {
    timeseries?.close();
  }
  if (timeseries?.error !== undefined) return fail(`cannot write --timeseries ${options.timeseries}: ${timeseries.error}`, EXIT_FAILED);
  // Nothing connected: one line, no thresholds judged.
  const unreachable = result.connected === 0 && result.errors > 0 && !result.interrupted;
  const code = unreachable ? EXIT_FAILED : judge(result, options.thresholds);
  if (options.jsonFile !== undefined) {
    // The same result as stdout's (thresholds judged), so a person and a tool read the figures of one run.
    try {
      writeFileSync(options.jsonFile, formatResult(result, true));
    } catch (error) {
      return fail(`cannot write --json-file ${options.jsonFile}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, EXIT_FAILED);
    }
  }
  if (unreachable) return fail(connectFailure(options, result), EXIT_FAILED);
  process.stdout.write(formatResult(result, options.json, options.overTime || process.stdout.isTTY));
  return result.interrupted ? EXIT_INTERRUPTED : code;
}

/** The one line printed instead of a report when not a single connection could be made. */
function connectFailure(options: LoadOptions, result: LoadResult): string {
  const one = options.targets.length === 1;
  const where = one ? `cannot connect to ${formatAddress(options.host, options.port)}` : `cannot connect to any of the ${options.targets.length} targets`;
  if (result.refused === result.connections) return `${where}: connection refused (is the server running?)`;
  if (result.timeouts === result.connections) return `${where}: connect timeout after ${options.connectTimeoutMs} ms`;
  if (result.handshakeFailures === result.connections) {
    return `TLS handshake with ${one ? formatAddress(options.host, options.port) : `any of the ${options.targets.length} targets`} failed: ${result.failures.handshake}`;
  }
  const first = Object.values(result.failures)[0] ?? 'unknown error';
  return `${where}: ${first}`;
}
