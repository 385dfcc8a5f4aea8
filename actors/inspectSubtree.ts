/**
 * An inspection observer for one actor and its descendants only, on the system it runs in: how a
 * copy stream or window run under the client still honours its own `inspect` option. Sanitized like
 * every inspection output of this library.
 */
import type { AnyActorRef, InspectionEvent, Observer } from 'xstate';
import { redactInspection } from '../src/inspector/redact.js';

const descendsFrom = (ref: AnyActorRef | undefined, root: AnyActorRef): boolean => {
  for (let r = ref; r; r = (r as AnyActorRef & { _parent?: AnyActorRef })._parent)
    if (r === root) return true;
  return false;
};

/** Starts inspecting `root`'s subtree; stops by itself when `root` finishes. */
export function inspectSubtree(
  root: AnyActorRef,
  inspect: Observer<InspectionEvent> | ((event: InspectionEvent) => void),
): void {
  const deliver = redactInspection(inspect);
  const subscription = root.system.inspect((event: InspectionEvent) => {
    if (descendsFrom(event.actorRef as AnyActorRef, root)) deliver(event);
  });
  const stop = () => subscription.unsubscribe();
  root.subscribe({ complete: stop, error: stop });
}
