/**
 * Why a connection stopped counting as held, and everything the rest of the load client needs
 * to know about each reason: the key its count has in the result (and the JSON), its words in
 * the report, whether the report lists it when there is none (`zero`: always, under TLS only,
 * or never), and what to do about it (`remedy`, when that is one thing). A new kind is one
 * more entry here; the tally, the workers' counts, the result and the report all iterate this
 * record, so none of them can leave it out.
 *
 * `portsExhausted`: no local port was free to connect from (EADDRNOTAVAIL from connect() when
 * the kernel picks the source; EADDRINUSE from bind() with `--source`, which Node reports on
 * connect): ports run out, not addresses, and a source that is not local at all is refused
 * before the run (run/local-sources.ts). `error` (EHOSTUNREACH, ENETUNREACH, ...) has no key
 * of its own: it is counted in `errors`, the total, as it always was.
 *
 * @example
 *   for (const kind of FAILURE_KIND_NAMES) console.log(FAILURE_KINDS[kind].label);
 */
export const FAILURE_KINDS = {
  refused: { key: 'refused', label: 'refused', plural: 'refused', zero: 'listed' },
  // TCP was up but TLS was not: a certificate error, a handshake timeout, a protocol mismatch
  // (no common version, or not TLS at all), or a close during the handshake; the note says which.
  handshake: { key: 'handshakeFailures', label: 'handshake failure', plural: 'handshake failures', zero: 'tls' },
  reset: { key: 'resets', label: 'reset', plural: 'resets', zero: 'listed' },
  timeout: { key: 'timeouts', label: 'timeout', plural: 'timeouts', zero: 'listed' },
  mismatch: { key: 'mismatches', label: 'mismatch', plural: 'mismatches', zero: 'listed' },
  portsExhausted: {
    key: 'portsExhausted',
    label: 'port exhaustion',
    plural: 'out of local ports',
    zero: 'hidden',
    remedy: 'each source address has its own ephemeral ports: connect from more (--source 127.0.0.2-127.0.0.9), or widen net.ipv4.ip_local_port_range',
  },
  error: { key: undefined, label: 'other error', plural: 'other', zero: 'hidden' },
} as const satisfies Record<string, { key: string | undefined; label: string; plural: string; zero: 'listed' | 'tls' | 'hidden'; remedy?: string }>;

/** Why a connection stopped counting as held. Each connection fails at most once. */
export type FailureKind = keyof typeof FAILURE_KINDS;

/** The kinds in report order. */
export const FAILURE_KIND_NAMES = Object.keys(FAILURE_KINDS) as FailureKind[];

/** A count per kind: plain numbers, so it crosses threads as it is. */
export type FailureCounts = Record<FailureKind, number>;

/** The result's key for each kind that has one: `refused`, `handshakeFailures`, `resets`, `timeouts`, `mismatches`, `portsExhausted`. */
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
 *   failureCountsOf({ errors: 3, refused: 0, handshakeFailures: 0, resets: 1, timeouts: 0, mismatches: 1, portsExhausted: 0 }).error // 1
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
