import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../deploy/tools.js';

/**
 * The shape the code keeps: no source file over 400 lines (eslint keeps functions within 80), no
 * import cycle (type-only imports count: they tie the files together for a reader as much as
 * for the compiler), and the task runtime imports nothing from the rest of the project.
 */

const SOURCE_FOLDERS = ['src', 'load', 'bench', 'scripts'];
const MAX_LINES = 400;

/** Every TypeScript or JavaScript source file under the folders, relative to the root. */
function sourceFiles(): string[] {
  const found: string[] = [];
  const walk = (folder: string): void => {
    for (const entry of readdirSync(join(ROOT, folder), { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|js|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) found.push(path);
    }
  };
  for (const folder of SOURCE_FOLDERS) if (existsSync(join(ROOT, folder))) walk(folder);
  return found.sort();
}

/** The project files a source file imports (static `import`/`export ... from`, and `import type`). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const targets: string[] = [];
  for (const match of text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s+['"](\.[^'"]+)['"]/gm)) {
    const spec = match[1]!;
    const base = join(dirname(file), spec);
    const candidates = [base, base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts')];
    const target = candidates.find((candidate) => existsSync(join(ROOT, candidate)));
    if (target !== undefined) targets.push(relative('.', target));
  }
  return targets;
}

/** Every cycle in an import graph (file -> files it imports), each as the files around it. */
function importCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next]);
      else if (state.get(next) === undefined) visit(next);
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (state.get(file) === undefined) visit(file);
  return cycles;
}

describe('the shape of the source', () => {
  const files = sourceFiles();

  it('finds the source files it holds to this shape', () => {
    expect(files).toContain('src/server/echo.ts');
    expect(files.length).toBeGreaterThan(100);
  });

  it('has no source file over 400 lines', () => {
    const long = files
      .map((file) => ({ file, lines: readFileSync(join(ROOT, file), 'utf8').split('\n').length - 1 }))
      .filter(({ lines }) => lines > MAX_LINES);
    expect(long).toEqual([]);
  });

  it('has no import cycle, type imports included', () => {
    expect(importCycles(new Map(files.map((file) => [file, importsOf(file)])))).toEqual([]);
  });

  it('reads type-only imports as imports, and finds a cycle through them', () => {
    expect(importsOf('src/server/client.ts')).toContain('src/server/stats.ts'); // `import type` there
    const graph = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]);
    expect(importCycles(graph)).toEqual([['a', 'b', 'c', 'a']]);
  });

  it('keeps the task runtime free of the rest of the project', () => {
    const outside = files
      .filter((file) => file.startsWith('src/tasks/'))
      .flatMap((file) => importsOf(file).filter((target) => !target.startsWith('src/tasks/')).map((target) => `${file} -> ${target}`));
    expect(outside).toEqual([]);
  });
});
