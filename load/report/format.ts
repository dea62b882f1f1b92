/** Number formats for the report and the progress line: fixed locale, so output is stable. */

const counts = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** `1234567.891` -> `'1,234,567.89'`. */
export function formatCount(value: number): string {
  return counts.format(value);
}

/** Decimal units, three significant digits, as pretty-bytes prints them: `79400000` -> `'79.4 MB'`. */
export function formatBytes(value: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let scaled = value;
  let unit = 0;
  while (Math.abs(scaled) >= 1000 && unit < units.length - 1) {
    scaled /= 1000;
    unit++;
  }
  return `${unit === 0 ? String(Math.round(scaled)) : Number(scaled.toPrecision(3)).toString()} ${units[unit]}`;
}

/** Milliseconds with µs precision below 1 ms: `0.123 ms`, `12.35 ms`, `123.5 ms`. */
export function formatMs(value: number): string {
  const digits = value >= 100 ? 1 : value >= 1 ? 2 : 3;
  return `${value.toFixed(digits)} ms`;
}

/** `10.0042` -> `'10.00 s'`. */
export function formatSeconds(value: number): string {
  return `${value.toFixed(2)} s`;
}
