import { existsSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { documentationFiles, documentationText, REPOSITORY } from './readme.js';

/**
 * The README and docs/ point at each other and at the code: every relative link must lead to
 * a file that exists (and to a heading it has, when it names one), and every backticked path
 * of the repository's own folders must name a file or folder that exists, so that a page that
 * outlives a move or a rename fails here.
 */

/** Folders of the repository whose paths the documentation names in backticks. */
const SOURCE_PATH = /^(?:src|load|bench|scripts|test|deploy|docs|native)\/[\w./-]*$/;

/** The text of a Markdown file outside its code blocks (indented or fenced), lines kept in place. */
function prose(text: string): string[] {
  let fenced = false;
  let previousBlank = true;
  let inBlock = false;
  return text.split('\n').map((line) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return '';
    }
    if (fenced) return '';
    if (/^ {4}/.test(line) && (previousBlank || inBlock)) {
      inBlock = true;
      return '';
    }
    if (line.trim() !== '') inBlock = false;
    previousBlank = line.trim() === '';
    return line;
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces made dashes. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown file's headings. */
function anchors(file: string): Set<string> {
  const headings = prose(documentationText(file)).filter((line) => /^#{1,6} /.test(line));
  return new Set(headings.map((line) => anchorOf(line.replace(/^#+ /, ''))));
}

interface Reference {
  file: string;
  line: number;
  target: string;
}

/** Every `[text](target)` of the file whose target is in this repository (not a URL). */
function relativeLinks(file: string): Reference[] {
  return prose(documentationText(file)).flatMap((text, i) =>
    [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => ({ file, line: i + 1, target: match[1]! })).filter((link) => !/^[a-z][a-z+.-]*:/i.test(link.target)),
  );
}

/** Every backticked span of the file's prose that is a path under one of the repository's folders. */
function sourcePaths(file: string): Reference[] {
  return prose(documentationText(file)).flatMap((text, i) =>
    [...text.matchAll(/`([^`\n]+)`/g)].map((match) => ({ file, line: i + 1, target: match[1]! })).filter((span) => SOURCE_PATH.test(span.target)),
  );
}

describe('the README and docs/', () => {
  const files = documentationFiles();

  it('has pages in docs/ besides the README', () => {
    expect(files.length).toBeGreaterThan(5);
  });

  it('links only to files that exist, and to headings they have', () => {
    const broken: string[] = [];
    for (const link of files.flatMap(relativeLinks)) {
      const [path, anchor] = link.target.split('#') as [string, string | undefined];
      const target = path === '' ? link.file : normalize(join(dirname(link.file), path));
      if (!existsSync(join(REPOSITORY, target))) {
        broken.push(`${link.file}:${link.line}: ${link.target} (no file ${target})`);
      } else if (anchor !== undefined && target.endsWith('.md') && statSync(join(REPOSITORY, target)).isFile() && !anchors(target).has(anchor)) {
        broken.push(`${link.file}:${link.line}: ${link.target} (${target} has no heading #${anchor})`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('names in backticks only repository paths that exist', () => {
    const references = files.flatMap(sourcePaths);
    expect(references.length).toBeGreaterThan(20);
    const missing = references.filter((path) => !existsSync(join(REPOSITORY, path.target))).map((path) => `${path.file}:${path.line}: ${path.target}`);
    expect(missing).toEqual([]);
  });
});
