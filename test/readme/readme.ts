import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The README the tests hold to the code. */
export const README = fileURLToPath(new URL('../../README.md', import.meta.url));

/** A code block of the README: its lines without their indentation, and where it starts. */
export interface CodeBlock {
  /** The 1-based line number of the block's first line. */
  line: number;
  lines: string[];
}

/**
 * The README's code blocks: indented ones (four spaces, after a blank line) and fenced ones
 * (```), in order.
 *
 * @example
 *   readmeCodeBlocks()[0] // { line: 19, lines: ['npm ci && npm run demo   # builds; ...', ...] }
 */
export function readmeCodeBlocks(text = readFileSync(README, 'utf8')): CodeBlock[] {
  const lines = text.split('\n');
  const blocks: CodeBlock[] = [];
  let current: CodeBlock | undefined;
  let fenced = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^\s*```/.test(line)) {
      if (fenced) blocks.push(current!);
      current = fenced ? undefined : { line: i + 2, lines: [] };
      fenced = !fenced;
      continue;
    }
    if (fenced) {
      current!.lines.push(line);
      continue;
    }
    const indented = /^ {4}/.test(line);
    if (current === undefined && indented && (i === 0 || lines[i - 1]!.trim() === '')) current = { line: i + 1, lines: [] };
    if (current === undefined) continue;
    if (indented) {
      current.lines.push(line.slice(4));
    } else if (line.trim() === '' && /^ {4}/.test(lines[i + 1] ?? '')) {
      current.lines.push(''); // a blank line inside the block
    } else {
      blocks.push(current);
      current = undefined;
    }
  }
  if (current !== undefined && !fenced) blocks.push(current);
  return blocks;
}

/**
 * The rows of the first table after the heading `heading` (a line `## heading` or deeper),
 * each row a list of cells; the header row and the separator are left out.
 */
export function readmeTable(heading: string, text = readFileSync(README, 'utf8')): string[][] {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => /^#{2,} /.test(line) && line.replace(/^#+ /, '') === heading);
  if (start < 0) throw new Error(`README has no heading '${heading}'`);
  const first = lines.findIndex((line, i) => i > start && line.startsWith('|'));
  if (first < 0) throw new Error(`README has no table under '${heading}'`);
  const rows: string[][] = [];
  for (let i = first + 2; i < lines.length && lines[i]!.startsWith('|'); i++) rows.push(tableCells(lines[i]!));
  return rows;
}

/** The cells of a Markdown table row; `\|` is a bar inside a cell. */
function tableCells(row: string): string[] {
  return row
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim().replaceAll('\\|', '|'));
}
