/**
 * Just enough of the shell's grammar to read the README's command lines and write them back:
 * words (with '...' and "..." quoting), control and redirection operators, and comments.
 */

/** A word (its value, quotes removed) or an operator (`|`, `&&`, `;`, `&`, `>`, ...). */
export type Token = { word: string } | { op: string };

const OPERATORS = ['&&', '||', '>>', '|', '&', ';', '>', '<'];

/**
 * Splits one command line into tokens; an unquoted `#` at the start of a word begins a
 * comment, which is dropped.
 *
 * @example
 *   tokenize("echo-load --threshold 'p99<20ms' > out.json  # CI") // [{word:'echo-load'}, {word:'--threshold'}, {word:'p99<20ms'}, {op:'>'}, {word:'out.json'}]
 */
export function tokenize(line: string): Token[] {
  const tokens: Token[] = [];
  let word: string | undefined;
  const end = () => {
    if (word !== undefined) tokens.push({ word });
    word = undefined;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'" || c === '"') {
      const close = line.indexOf(c, i + 1);
      if (close < 0) throw new Error(`unclosed ${c} in: ${line}`);
      word = (word ?? '') + line.slice(i + 1, close);
      i = close;
    } else if (c === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[++i];
    } else if (/\s/.test(c)) {
      end();
    } else if (c === '#' && word === undefined) {
      break;
    } else {
      const op = OPERATORS.find((candidate) => line.startsWith(candidate, i));
      if (op === undefined) {
        word = (word ?? '') + c;
      } else {
        end();
        tokens.push({ op });
        i += op.length - 1;
      }
    }
  }
  end();
  return tokens;
}

/** Writes tokens back as a command line for `bash -c`, quoting words that need it. */
export function untokenize(tokens: readonly Token[]): string {
  return tokens.map((token) => ('op' in token ? token.op : quote(token.word))).join(' ');
}

function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The words of a token list up to its first operator: one simple command. */
export function wordsUntilOperator(tokens: readonly Token[]): string[] {
  const words: string[] = [];
  for (const token of tokens) {
    if ('op' in token) break;
    words.push(token.word);
  }
  return words;
}
