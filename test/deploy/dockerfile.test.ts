import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, run } from './tools.js';

const LINTER = join(ROOT, 'node_modules', '.bin', 'dockerfile-utils');
const DOCKERFILE = join(ROOT, 'Dockerfile');
const text = readFileSync(DOCKERFILE, 'utf8');
/** Instructions with continuation lines joined, comments dropped. */
const instructions = text
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));
const stages = instructions.map((line, index) => (line.startsWith('FROM ') ? index : -1)).filter((index) => index >= 0);
const finalStage = instructions.slice(stages.at(-1));

interface Diagnostic {
  message: string;
  severity: string;
  range: { start: { line: number } };
}

async function lint(path: string): Promise<Diagnostic[]> {
  const result = await run(LINTER, ['lint', '--json', path]);
  return JSON.parse(result.stdout) as Diagnostic[];
}

describe('Dockerfile', () => {
  it('passes the Dockerfile linter without errors or warnings', async () => {
    const diagnostics = await lint(DOCKERFILE);
    expect(diagnostics.map((d) => `line ${d.range.start.line + 1}: ${d.severity}: ${d.message}`)).toEqual([]);
  });

  it('is linted by a linter that does report a broken Dockerfile', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'echo-dockerfile-'));
    try {
      const broken = join(dir, 'Dockerfile');
      writeFileSync(broken, text.replace('WORKDIR /app', 'WORKDIR app').replace('USER node', 'USER'));
      const severities = (await lint(broken)).map((d) => d.severity).sort();
      expect(severities).toEqual(['error', 'warning']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('builds on one exact Node.js image in every stage, from an even (LTS) line', () => {
    const bases = instructions.filter((line) => line.startsWith('FROM ')).map((line) => line.split(/\s+/)[1]);
    expect(bases.length).toBe(3);
    expect(new Set(bases).size).toBe(1);
    const match = /^node:(\d+)\.\d+\.\d+-[a-z]+-slim$/.exec(bases[0]!);
    expect(match, bases[0]).not.toBeNull();
    expect(Number(match![1]) % 2).toBe(0);
  });

  it('builds with npm ci and tsc, and ships only production dependencies and dist/', () => {
    expect(instructions).toContain('RUN npm ci --ignore-scripts --no-audit --no-fund');
    expect(instructions.some((line) => line.startsWith('RUN npm run build'))).toBe(true);
    expect(instructions.some((line) => line.startsWith('RUN npm ci --omit=dev --ignore-scripts'))).toBe(true);
    const copies = finalStage.filter((line) => line.startsWith('COPY '));
    expect(copies).toEqual([
      'COPY package.json ./',
      'COPY --from=deps /app/node_modules ./node_modules',
      'COPY --from=build /app/dist ./dist',
      'COPY --from=build /app/build/Release/sockets.node ./build/Release/sockets.node',
      'COPY deploy/healthcheck.js ./deploy/healthcheck.js',
    ]);
  });

  it('compiles the accept-queue helper in the build stage only: no compiler reaches the image', () => {
    const buildStage = instructions.slice(stages[0], stages[1]);
    // node-gyp's toolchain: Python, make, gcc, and g++, which links.
    const install = buildStage.find((line) => /^RUN apt-get update .*apt-get install /.test(line)) ?? '';
    for (const tool of ['gcc', 'g\\+\\+', 'make', 'python3']) expect(install).toMatch(new RegExp(`\\s${tool}(\\s|$)`));
    expect(buildStage).toContain('COPY native ./native');
    expect(finalStage.some((line) => line.includes('apt-get'))).toBe(false);
    // npm run build runs node-gyp into build/Release/, whose addon the final stage copies; an
    // image built without it fails to build rather than run on Node's streams.
    expect(readFileSync(join(ROOT, 'package.json'), 'utf8')).toMatch(/"build": "tsc -p tsconfig\.build\.json && node scripts\/build-native\.js"/);
    expect(buildStage.find((line) => line.startsWith('RUN npm run build'))).toMatch(/&& test -f build\/Release\/sockets\.node /);
  });

  it('runs echo-server as node, bound to all interfaces, with an exec-form CMD and a node health check', () => {
    expect(finalStage).toContain('USER node');
    expect(finalStage.find((line) => line.startsWith('ENV '))).toMatch(/ECHO_HOST=0\.0\.0\.0 .*ECHO_METRICS_HOST=0\.0\.0\.0/);
    expect(finalStage).toContain('EXPOSE 8090 9464');
    expect(finalStage.find((line) => line.startsWith('HEALTHCHECK '))).toMatch(/ CMD \["node", "\/app\/deploy\/healthcheck\.js"\]$/);
    expect(finalStage.at(-1)).toBe('CMD ["echo-server"]');
  });

  it('links both package bins, whose compiled files start with a node shebang', () => {
    const bins = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin;
    const link = finalStage.find((line) => line.startsWith('RUN ln -s'))!;
    for (const [name, path] of Object.entries(bins)) {
      expect(link).toContain(`ln -s /app/${path} /usr/local/bin/${name}`);
      expect(readFileSync(join(ROOT, path), 'utf8').startsWith('#!/usr/bin/env node\n'), path).toBe(true);
    }
  });

  it('sends to the build only what the Dockerfile copies', () => {
    const allowed = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('!'))
      .map((line) => line.slice(1));
    const copied = instructions
      .filter((line) => line.startsWith('COPY ') && !line.includes('--from='))
      .flatMap((line) => line.split(/\s+/).slice(1, -1));
    expect([...new Set(copied)].sort()).toEqual(allowed.sort());
    expect(readFileSync(join(ROOT, '.dockerignore'), 'utf8')).toMatch(/^\*$/m);
  });
});
