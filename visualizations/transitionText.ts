/**
 * How a transition reads in a diagram: its event as a person names it, then its guard by name.
 *   `op.reply [isSuccess]`, `after reconnectDelay`, `always [canAdmit && pacingOff]`, `done: saveJob`
 */
import type { AnyStateNode } from 'xstate';

type Transition = AnyStateNode['transitions'] extends Map<string, (infer T)[]> ? T : never;
type Guard = Transition['guard'];

/** A guard by name; combinators (`and`, `or`, `not`, `stateIn`) spelled out; an inline function is `inline`. */
export function guardText(guard: Guard): string {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const parts = (guard as { guards?: Guard[] }).guards;
    if (guard.name === 'and' && parts) return parts.map(nested).join(' && ');
    if (guard.name === 'or' && parts) return parts.map(nested).join(' || ');
    if (guard.name === 'not' && parts?.[0] !== undefined) return `!${nested(parts[0])}`;
    const stateValue = (guard as { stateValue?: unknown }).stateValue;
    if (guard.name === 'stateIn' && stateValue !== undefined) return `in ${JSON.stringify(stateValue)}`;
    return 'inline';
  }
  if (guard && typeof guard === 'object' && 'type' in guard) return String(guard.type);
  return 'inline';
}

/** Combinators inside combinators get parentheses. */
const nested = (guard: Guard): string => {
  const text = guardText(guard);
  return / (&&|\|\|) /.test(text) ? `(${text})` : text;
};

/** The event part: delays by their name or length, done/error events by their actor. */
export function eventText(node: AnyStateNode, eventType: string): string {
  if (eventType === '') return 'always';
  const delayed = node.after.find((d) => d.eventType === eventType);
  if (delayed) {
    if (typeof delayed.delay === 'number') return `after ${delayed.delay} ms`;
    return typeof delayed.delay === 'string' ? `after ${delayed.delay}` : 'after (inline delay)';
  }
  const actor = /^xstate\.(done|error)\.actor\.(.+)$/.exec(eventType);
  if (actor) return `${actor[1]}: ${actor[2]}`;
  if (eventType.startsWith('xstate.done.state.')) return 'done';
  return eventType;
}

/**
 * Every transition a state defines, eventless ones included, in definition order, with its label.
 * An unguarded branch after guarded ones for the same event is their `else`.
 */
export function labelledTransitions(node: AnyStateNode): { transition: Transition; label: string }[] {
  const lists = [...node.transitions.values(), (node.always ?? []) as Transition[]];
  return lists.flatMap((list) =>
    list.map((transition, i) => {
      const event = eventText(node, transition.eventType);
      if (transition.guard !== undefined)
        return { transition, label: `${event} [${guardText(transition.guard)}]` };
      return { transition, label: i > 0 ? `${event} [else]` : event };
    }),
  );
}
