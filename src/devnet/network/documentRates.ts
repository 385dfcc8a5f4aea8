/**
 * The traffic rates a devnet's PKI document advertises (events per ms), derived from the delays its
 * daemon and network actually apply, so that a client pacing itself from the document (writeStream
 * admits a box every Exp(1/LambdaP) ms) runs at the devnet's speed:
 *
 * - Mu = 1 / mean per-hop mixing delay; LambdaP = 1 / mean send-slot gap; LambdaR = 1 / mean
 *   courier↔replica link wait — all with the warped delays (docker at timeWarp 20: twenty times docker's);
 * - a delay the profile does not apply (instant, or a 0 override) is advertised as NO_DELAY_RATE;
 * - LambdaL and LambdaM (loop and mix decoys, which the devnet never sends) keep the docker testnet's
 *   proportion to LambdaP: one half.
 */
import type { TimingProfile } from '../timing.js';

/** The rate advertised for a delay the devnet does not apply: a mean wait of 1 µs, still a finite float. */
export const NO_DELAY_RATE = 1000;
/** Docker testnet: LambdaL = LambdaM = 0.0005 = LambdaP / 2. */
const DECOY_SHARE_OF_LAMBDA_P = 0.5;

export interface DocumentRates {
  mu: number;
  lambdaP: number;
  lambdaL: number;
  lambdaM: number;
  lambdaR: number;
}

/** Events per ms for a mean wait of `meanMs`. */
function rateFor(meanMs: number): number {
  return meanMs > 0 ? 1 / meanMs : NO_DELAY_RATE;
}

/** `timing` is the warped profile: the delays as they are scheduled. */
export function documentRates(timing: TimingProfile): DocumentRates {
  const lambdaP = rateFor(timing.sendSlotMeanMs);
  return {
    mu: rateFor(timing.hopDelayMeanMs),
    lambdaP,
    lambdaL: lambdaP * DECOY_SHARE_OF_LAMBDA_P,
    lambdaM: lambdaP * DECOY_SHARE_OF_LAMBDA_P,
    lambdaR: rateFor(timing.linkMeanMs),
  };
}
