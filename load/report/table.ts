/**
 * Renders rows as a box-drawn table, the look of autocannon's tables (cli-table3) without the
 * dependency. The first row is the header.
 *
 * @example
 *   renderTable([['Stat', 'Avg'], ['Latency', '1.2 ms']]);
 */
export function renderTable(rows: readonly (readonly string[])[]): string {
  const columns = Math.max(...rows.map((row) => row.length));
  const widths = Array.from({ length: columns }, (_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length)));
  const line = (left: string, join: string, right: string) => left + widths.map((w) => '─'.repeat(w + 2)).join(join) + right;
  const cells = (row: readonly string[]) => '│' + widths.map((w, c) => ` ${(row[c] ?? '').padEnd(w)} `).join('│') + '│';
  const [header, ...body] = rows;
  const out = [line('┌', '┬', '┐'), cells(header ?? []), line('├', '┼', '┤'), ...body.map(cells), line('└', '┴', '┘')];
  return out.join('\n');
}
