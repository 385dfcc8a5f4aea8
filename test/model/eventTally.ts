/** How many events of each type one operation actor has received, as inspection reports them. */
import { until } from '../unit/client/harness.js';

export class EventTally {
  private readonly received = new Map<string, number>();

  record(type: string): void {
    this.received.set(type, this.count(type) + 1);
  }

  count(type: string): number {
    return this.received.get(type) ?? 0;
  }

  /** Runs `cause`, then waits until the operation has received one more event of `type`. */
  async delivered(type: string, cause: () => unknown): Promise<void> {
    const n = this.count(type) + 1;
    await cause();
    await until(() => this.count(type) >= n);
  }
}
