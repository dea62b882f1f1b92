/**
 * Why a connection stopped counting as held, and everything the rest of the load client needs
 * to know about each reason: the key its count has in the result (and the JSON), and its
 * words in the report. A new kind is one more entry here; the tally, the workers' counts, the
 * result and the report all iterate this record, so none of them can leave it out.
 *
 * `error` (EADDRNOTAVAIL, EHOSTUNREACH, ...) has no key of its own: it is counted in `errors`,
 * the total, as it always was, so the JSON keys stay those tools already read.
 *
 * @example
 *   for (const kind of FAILURE_KIND_NAMES) console.log(FAILURE_KINDS[kind].label);
 */
export const FAILURE_KINDS = {
  refused: { key: 'refused', label: 'refused', plural: 'refused' },
  // TCP was up but TLS was not: a certificate error, a handshake timeout, a protocol mismatch
  // (no common version, or not TLS at all), or a close during the handshake; the note says which.
  handshake: { key: 'handshakeFailures', label: 'handshake failure', plural: 'handshake failures' },
  reset: { key: 'resets', label: 'reset', plural: 'resets' },
  timeout: { key: 'timeouts', label: 'timeout', plural: 'timeouts' },
  mismatch: { key: 'mismatches', label: 'mismatch', plural: 'mismatches' },
  error: { key: undefined, label: 'other error', plural: 'other' },
} as const satisfies Record<string, { key: string | undefined; label: string; plural: string }>;

/** Why a connection stopped counting as held. Each connection fails at most once. */
export type FailureKind = keyof typeof FAILURE_KINDS;

/** The kinds in report order. */
export const FAILURE_KIND_NAMES = Object.keys(FAILURE_KINDS) as FailureKind[];

/** A count per kind: plain numbers, so it crosses threads as it is. */
export type FailureCounts = Record<FailureKind, number>;

/** The result's key for each kind that has one: `refused`, `handshakeFailures`, `resets`, `timeouts`, `mismatches`. */
export type FailureCountKey = NonNullable<(typeof FAILURE_KINDS)[FailureKind]['key']>;

/** The result's failure counts under their keys (the total, `errors`, beside them). */
export type FailureCountFields = Record<FailureCountKey, number>;

/**
 * The kind without a key of its own. The report shows its count as what `errors` leaves over
 * after the keyed kinds, which is only right while there is exactly one such kind: the check
 * below stops the build if a second one is added without a key.
 */
export type UnkeyedKind = { [K in FailureKind]: (typeof FAILURE_KINDS)[K]['key'] extends undefined ? K : never }[FailureKind];
const ONE_UNKEYED_KIND: [UnkeyedKind] extends ['error'] ? true : never = true;
void ONE_UNKEYED_KIND;

/** The first failure of each kind, in words. */
export type FailureNotes = Partial<Record<FailureKind, string>>;

/** Zero of every kind. */
export function noFailures(): FailureCounts {
  const counts = {} as FailureCounts;
  for (const kind of FAILURE_KIND_NAMES) counts[kind] = 0;
  return counts;
}

/** All failures, whatever their kind. */
export function totalFailures(counts: FailureCounts): number {
  let total = 0;
  for (const kind of FAILURE_KIND_NAMES) total += counts[kind];
  return total;
}

/** The counts under the result's keys; the kind without a key is only in the total. */
export function failureCountFields(counts: FailureCounts): FailureCountFields {
  const fields = {} as FailureCountFields;
  for (const kind of FAILURE_KIND_NAMES) {
    const key = FAILURE_KINDS[kind].key;
    if (key !== undefined) fields[key] = counts[kind];
  }
  return fields;
}

/**
 * The count of every kind, back from a result's keyed counts and its total.
 *
 * @example
 *   failureCountsOf({ errors: 3, refused: 0, handshakeFailures: 0, resets: 1, timeouts: 0, mismatches: 1 }).error // 1
 */
export function failureCountsOf(result: FailureCountFields & { errors: number }): FailureCounts {
  const counts = noFailures();
  let keyed = 0;
  for (const kind of FAILURE_KIND_NAMES) {
    const key = FAILURE_KINDS[kind].key;
    if (key === undefined) continue;
    counts[kind] = result[key];
    keyed += result[key];
  }
  counts.error = result.errors - keyed;
  return counts;
}
