import { readFile } from 'node:fs/promises';
import { MergeInputError, parseResults } from '../merge/merge-input.js';
import { mergeResults } from '../merge/merge.js';
import { formatResult } from '../report/report.js';
import type { LoadResult } from '../result/result.js';
import type { Threshold } from '../verdict/threshold.js';
import { judge } from './exit-policy.js';

/**
 * `echo-load merge`: reads every input (`-` is standard input), says how many lines were not
 * results, merges the results and judges the merge as a run is judged; gives the exit code.
 * Bad input throws a `MergeInputError`.
 *
 * @example
 *   const code = await mergeCommand(['pod-0.json', 'pod-1.json'], false, parseThresholds(['p99<20ms']));
 */
export async function mergeCommand(inputs: readonly string[], json: boolean, thresholds: readonly Threshold[]): Promise<number> {
  if (inputs.filter((input) => input === '-').length > 1) throw new MergeInputError("'-' (standard input) can be given once");
  const results: LoadResult[] = [];
  let skipped = 0;
  let firstSkipped: string | undefined;
  for (const input of inputs) {
    const parsed = parseResults(await readInput(input), input);
    results.push(...parsed.results);
    skipped += parsed.skipped;
    firstSkipped ??= parsed.firstSkipped;
  }
  const lines = `${skipped} line${skipped === 1 ? '' : 's'}`;
  if (results.length === 0) {
    throw new MergeInputError(`no echo-load result in ${inputs.join(', ')}${skipped === 0 ? ' (empty)' : `: ${lines}, none a result (the first: ${firstSkipped})`}`);
  }
  if (skipped > 0) {
    const were = skipped === 1 ? 'was' : 'were';
    process.stderr.write(`echo-load merge: skipped ${lines} that ${were} not results (the first: ${firstSkipped}); merged ${results.length} results\n`);
  }
  const merged = mergeResults(results);
  for (const warning of merged.warnings) process.stderr.write(`echo-load merge: ${warning}\n`);
  const code = judge(merged.result, thresholds);
  process.stdout.write(formatResult(merged.result, json, process.stdout.isTTY));
  return code;
}

async function readInput(input: string): Promise<string> {
  if (input === '-') {
    let text = '';
    for await (const chunk of process.stdin.setEncoding('utf8')) text += chunk as string;
    return text;
  }
  try {
    return await readFile(input, 'utf8');
  } catch (error) {
    throw new MergeInputError(`cannot read '${input}' (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
