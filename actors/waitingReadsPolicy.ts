/** The knobs of the waiting-read scheduler (actors/waitingReads.ts) and their defaults. */

/** How the client paces reads that wait for a box to be written (`ConnectOptions.waitingReads`). */
export interface WaitingReadsPolicy {
  /** Waiting reads polled back to back, at most. @default 1 */
  inDaemon: number;
  /** Backoff of the others in send slots: `backoffBaseSlots` doubling to `backoffMaxSlots`. @default 4, 64 */
  backoffBaseSlots: number;
  backoffMaxSlots: number;
  /** Polls of one envelope before a fresh one (the courier re-dispatches a cached envelope 5 times). @default 5 */
  pollsPerEnvelope: number;
  /**
   * No poll comes sooner than this after the previous answer, and no held request sooner than this
   * after a reply to the application (its next request goes first), in ms. @default 50
   */
  minDelayMs: number;
  /**
   * First polls (reads not answered yet) at the daemon at once, at most; the rest wait their turn here,
   * so that reads never fill the daemon's per-app request queue (16), behind which every local request
   * of the connection would wait. @default 12
   */
  firstPolls: number;
  /**
   * The scheduler's own requests (later polls, fresh envelopes) at the daemon at once, at most, while any
   * request of the application is in flight. kpclientd does the CTIDH work of a connection's local
   * requests one after another on that connection's reader, and decrypts every Pigeonhole reply (a
   * BoxIDNotFound too) one after another for the whole daemon, seconds each: every poll in flight delays
   * the application's own replies. While the application waits, no fresh envelope is made (it would hold
   * the reader ahead of the application's next local request) unless a read has waited
   * `backoffMaxSlots` send slots for one. `Infinity`: the scheduler never yields. @default 0
   */
  whileAppBusy: number;
  /**
   * Re-polls at once of a read just found waiting, before it joins the others: a read made right after
   * its box's write may arrive a moment before the box reaches its replicas. @default 0
   */
  youngPolls: number;
  /** Fraction of each backoff added or removed at random, so readers do not poll in step. @default 0.5 */
  jitter: number;
}

export const DEFAULT_WAITING_READS: WaitingReadsPolicy = {
  inDaemon: 1,
  backoffBaseSlots: 4,
  backoffMaxSlots: 64,
  pollsPerEnvelope: 5,
  minDelayMs: 50,
  firstPolls: 12,
  whileAppBusy: 0,
  youngPolls: 0,
  jitter: 0.5,
};
