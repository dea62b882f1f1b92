import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root, which the documentation's paths are relative to. */
export const REPOSITORY = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The documentation the tests hold to the code: the README and every page in docs/, as paths
 * relative to the repository, the README first.
 */
export function documentationFiles(): string[] {
  const pages = readdirSync(join(REPOSITORY, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort();
  return ['README.md', ...pages.map((name) => `docs/${name}`)];
}

/** The text of a documentation file, by its path relative to the repository. */
export function documentationText(file: string): string {
  return readFileSync(join(REPOSITORY, file), 'utf8');
}

/** A code block of the documentation: its lines without their indentation, and where it starts. */
export interface CodeBlock {
  /** The file it is in, relative to the repository (`README.md`, `docs/load.md`). */
  file: string;
  /** The 1-based line number of the block's first line. */
  line: number;
  lines: string[];
}

/**
 * The code blocks of one Markdown text: indented ones (four spaces, after a blank line) and
 * fenced ones (```), in order.
 *
 * @example
 *   codeBlocks(documentationText('README.md'), 'README.md')[0] // { file: 'README.md', line: 19, lines: ['npm ci && npm run demo   # builds; ...', ...] }
 */
export function codeBlocks(text: string, file: string): CodeBlock[] {
  const lines = text.split('\n');
  const blocks: CodeBlock[] = [];
  let current: CodeBlock | undefined;
  let fenced = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^\s*```/.test(line)) {
      if (fenced) blocks.push(current!);
      current = fenced ? undefined : { file, line: i + 2, lines: [] };
      fenced = !fenced;
      continue;
    }
    if (fenced) {
      current!.lines.push(line);
      continue;
    }
    const indented = /^ {4}/.test(line);
    if (current === undefined && indented && (i === 0 || lines[i - 1]!.trim() === '')) current = { file, line: i + 1, lines: [] };
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

/** The code blocks of the README and of every docs/ page, file by file. */
export function documentationCodeBlocks(): CodeBlock[] {
  return documentationFiles().flatMap((file) => codeBlocks(documentationText(file), file));
}

/**
 * The rows of the first table after the heading `heading` (a line `## heading` or deeper),
 * each row a list of cells; the header row and the separator are left out. The heading is
 * looked for in the README and every docs/ page, and must be in exactly one of them.
 */
export function documentationTable(heading: string): string[][] {
  const found = documentationFiles().flatMap((file) => {
    const lines = documentationText(file).split('\n');
    const start = lines.findIndex((line) => /^#{2,} /.test(line) && line.replace(/^#+ /, '') === heading);
    return start < 0 ? [] : [{ file, lines, start }];
  });
  if (found.length !== 1) throw new Error(`'${heading}' is a heading in ${found.length} of ${documentationFiles().join(', ')}: it must be in exactly one`);
  const { file, lines, start } = found[0]!;
  const first = lines.findIndex((line, i) => i > start && line.startsWith('|'));
  if (first < 0) throw new Error(`${file} has no table under '${heading}'`);
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
