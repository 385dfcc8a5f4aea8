/**
 * Fan-out of the client's events: `on(type, fn)` listeners (called outside actor transitions) and
 * one bounded queue per `events()` iterator.
 */
import {
  type EventOfType,
  EventQueue,
  type EventsOptions,
  type LaggedEvent,
  type ThinClientEvent,
  type ThinClientEventType,
} from './events.js';

type Listener = (event: ThinClientEvent) => void;

export class EventHub {
  private readonly listeners = new Map<ThinClientEventType | '*', Set<Listener>>();
  private readonly queues = new Set<EventQueue>();
  private ended = false;

  /** A fresh iterator with its own queue; ends on `signal`, on `return()`, or when the hub ends. */
  iterator(options: EventsOptions = {}): AsyncIterableIterator<ThinClientEvent | LaggedEvent> {
    const queue = new EventQueue(options.capacity ?? 1024, () => {
      this.queues.delete(queue);
      options.signal?.removeEventListener('abort', onAbort);
    });
    const onAbort = () => queue.end();
    if (this.ended || options.signal?.aborted) {
      queue.end();
      return queue;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    this.queues.add(queue);
    return queue;
  }

  on<T extends ThinClientEventType>(type: T | '*', fn: (event: EventOfType<T>) => void): () => void {
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
    }
    const listener = fn as Listener;
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  publish(event: ThinClientEvent): void {
    for (const queue of this.queues) queue.push(event);
    const targets = [...(this.listeners.get(event.type) ?? []), ...(this.listeners.get('*') ?? [])];
    if (targets.length === 0) return;
    // Never call user code from inside an actor transition.
    queueMicrotask(() => {
      for (const fn of targets) {
        try {
          fn(event);
        } catch {
          // A listener's failure must not disturb the client.
        }
      }
    });
  }

  end(): void {
    this.ended = true;
    for (const queue of this.queues) queue.end();
  }
}
