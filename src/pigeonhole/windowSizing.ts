/**
 * How many single-box operations a stream keeps in flight (the automatic window) and how far apart it
 * admits them (the pacing gap), as pure functions of the PKI document's rates and the Sphinx geometry.
 * Rates are per millisecond, as in the PKI document (docker: LambdaP 0.001 = one send slot per second,
 * Mu 0.005 = a mean per-hop delay of 200 ms).
 *
 * Model. The daemon sends one mixnet packet per send slot, and slots come as a Poisson process of rate
 * LambdaP: to the packets of a stream that is one exponential server with mean service S = 1/LambdaP.
 * After its slot a packet spends a round trip Z = (2·NrHops − 1)/Mu in the mixes (forward path, SURB
 * reply, the two hops shared), which does not depend on how many are travelling: an infinite-server
 * delay. A window of W operations is then a closed queueing network with W customers, whose
 * throughput X(W) exact mean-value analysis gives (Reiser & Lavenberg 1980).
 *
 * Why not the bandwidth-delay product. ceil(LambdaP·Z) + 1 (the removed daemon-side stream's window,
 * 3 on docker) is where the asymptotic bounds X ≤ min(W/(S + Z), 1/S) meet, but with exponential
 * service the real curve lies well under that knee: MVA gives 82% of the slot rate at W = 3 on docker,
 * which is the 2.1–2.4× over the per-box loop that was measured, against a ceiling of 1 + Z/S ≈ 2.8×.
 * So the window is the smallest W whose MVA throughput reaches SLOT_UTILISATION of the slot rate
 * (unpaced, 6 on docker: 99.2%), capped at MAX_AUTO_WINDOW. Pacing (an Exp(1/LambdaP) gap between
 * admissions) runs at the slot rate too, so a window that only just fills the slots without it leaves
 * them idle with it: paced, the gap is a second server in the model (11 on docker).
 */

/** The largest automatic window: one below the daemon's per-app request queue (16), so a cancel is never stuck behind a full queue. */
export const MAX_AUTO_WINDOW = 15;

/** Share of the send-slot rate the automatic window aims for, unpaced (model: one server). */
export const SLOT_UTILISATION = 0.99;

/**
 * The same aim when paced. The admission gap is modelled as a second exponential server of mean
 * 1/LambdaP in series; that is a lower bound on throughput (the gap's clock keeps running while no box
 * waits, so it serves ahead), hence a lower share in the model. Measured on docker: unpaced W = 6 gave
 * 2.54x, paced W = 6 only 2.37x; this aim gives W = 11 paced.
 */
export const SLOT_UTILISATION_PACED = 0.9;

/** The PKI document fields the policy reads. */
export interface WindowRates {
  /** Poisson rate of the client's send slots, per ms. */
  lambdaP: number;
  /** Per-hop mixing rate (1 / mean delay), per ms. */
  mu: number;
}

/** Mean round trip of one packet after its send slot, ms: (2·NrHops − 1) hop delays. */
export function roundTripMs(mu: number, nrHops: number): number {
  return (2 * nrHops - 1) / mu;
}

/**
 * Throughput (operations per ms) of `window` operations sharing one exponential server of mean
 * `serviceMs` with an independent delay of `delayMs` each: exact MVA for a closed network.
 */
export function closedThroughput(
  window: number,
  serviceMs: number | readonly number[],
  delayMs: number,
): number {
  const services = typeof serviceMs === 'number' ? [serviceMs] : serviceMs;
  const queues = services.map(() => 0);
  let x = 0;
  for (let n = 1; n <= window; n++) {
    const residences = services.map((s, i) => s * (1 + queues[i]!));
    let total = delayMs;
    for (const r of residences) total += r;
    x = n / total;
    for (let i = 0; i < queues.length; i++) queues[i] = x * residences[i]!;
  }
  return x;
}

function usable(rates: WindowRates, nrHops: number): boolean {
  return (
    rates.lambdaP > 0 &&
    rates.mu > 0 &&
    nrHops > 0 &&
    Number.isFinite(1 / rates.lambdaP) &&
    Number.isFinite(roundTripMs(rates.mu, nrHops))
  );
}

/**
 * The automatic window: the smallest W ≥ 1 whose modelled throughput reaches SLOT_UTILISATION
 * (SLOT_UTILISATION_PACED when `paced`, the streams' default) × LambdaP,
 * capped at MAX_AUTO_WINDOW; 1 when the rates are unusable (zero, negative, not finite).
 */
export function autoWindow(rates: WindowRates, nrHops: number, paced = true): number {
  if (!usable(rates, nrHops)) return 1;
  const serviceMs = 1 / rates.lambdaP;
  const delayMs = roundTripMs(rates.mu, nrHops);
  const servers = paced ? [serviceMs, serviceMs] : [serviceMs];
  const aim = paced ? SLOT_UTILISATION_PACED : SLOT_UTILISATION;
  for (let w = 1; w < MAX_AUTO_WINDOW; w++) {
    if (closedThroughput(w, servers, delayMs) * serviceMs >= aim) return w;
  }
  return MAX_AUTO_WINDOW;
}

/**
 * Hops of a Sphinx path: the geometry's NrHops when known, else the topology's layers plus the
 * gateway and the service node.
 */
export function hopCount(geometry: { nrHops?: number } | undefined, topologyLayers: number): number {
  return geometry?.nrHops ?? topologyLayers + 2;
}

/** The window a stream runs with: `window` as given, or the automatic one for 0 (1 without a document). */
export function resolveAutoWindow(
  window: number,
  doc: (WindowRates & { topology: readonly unknown[] }) | null,
  geometry: { nrHops?: number } | undefined,
  paced = true,
): number {
  if (window > 0) return window;
  if (doc === null) return 1;
  return autoWindow(doc, hopCount(geometry, doc.topology.length), paced);
}

/**
 * Mean admission gap, ms: 1/LambdaP, so that couriers see boxes arrive like the send slots of ordinary
 * single-box use. Without a usable LambdaP the daemon cannot send anyway; keep docker's 1 s.
 */
export function meanAdmissionGapMs(lambdaP: number | undefined): number {
  return lambdaP !== undefined && lambdaP > 0 && Number.isFinite(1 / lambdaP) ? 1 / lambdaP : 1000;
}
