/**
 * State and transition coverage of a machine, measured on the real actors a model test runs.
 *
 * The machine's StateNode tree gives the universe: every state node id, and every transition as
 * `<source id> <event type> #<index>` (the index tells the guarded alternatives of one event apart;
 * eventless transitions have the event type `always`, delayed ones `xstate.after.*`, invoke outcomes
 * `xstate.done.actor.*` / `xstate.error.actor.*`). A Coverage object is fed the inspection events of the
 * actors under test (`@xstate.microstep` carries the transitions taken, `@xstate.snapshot` the states
 * entered) and prints the one line a run reports per machine.
 */
import { expect } from 'vitest';
import type { AnyActorRef, AnyStateMachine, InspectionEvent } from 'xstate';

type Node = {
  id: string;
  states: Record<string, Node>;
  transitions: Map<string, TransitionDef[]>;
  always?: TransitionDef[];
};
type TransitionDef = { source: Node; eventType: string };

/** A transition no path can take, and why; the test file lists these for review. */
export interface Unreachable {
  transition: string;
  reason: string;
}

function nodes(root: Node): Node[] {
  return [root, ...Object.values(root.states).flatMap(nodes)];
}

function keyOf(def: TransitionDef): string {
  const list = def.eventType === '' ? def.source.always : def.source.transitions.get(def.eventType);
  return `${def.source.id} ${def.eventType || 'always'} #${list?.indexOf(def) ?? -1}`;
}

/** Every transition of the machine, by key. */
export function transitionsOf(machine: AnyStateMachine): string[] {
  const out: string[] = [];
  for (const node of nodes(machine.root as unknown as Node)) {
    for (const defs of node.transitions.values()) for (const def of defs) out.push(keyOf(def));
    for (const def of node.always ?? []) out.push(keyOf(def));
  }
  return out;
}

/** Every state node id of the machine (the root included). */
export function statesOf(machine: AnyStateMachine): string[] {
  return nodes(machine.root as unknown as Node).map((n) => n.id);
}

/** The ids of the state nodes a state value makes active. */
function activeIds(node: Node, value: unknown, out: Set<string>): void {
  out.add(node.id);
  if (typeof value === 'string') {
    const child = node.states[value];
    if (child) out.add(child.id);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const child = node.states[k];
      if (child) activeIds(child, v, out);
    }
  }
}

export class Coverage {
  readonly states = new Set<string>();
  readonly transitions = new Set<string>();
  private readonly allStates: string[];
  private readonly allTransitions: string[];
  private readonly pathKeys = new Set<string>();

  constructor(
    readonly name: string,
    readonly machine: AnyStateMachine,
  ) {
    this.allStates = statesOf(machine);
    this.allTransitions = transitionsOf(machine);
  }

  /** Counts a generated path as run (once, however often it is replayed). */
  ranPath(events: readonly unknown[]): void {
    this.pathKeys.add(JSON.stringify(events, (_, v) => (typeof v === 'bigint' ? `${v}n` : v)));
  }

  get paths(): number {
    return this.pathKeys.size;
  }

  /** Records a state value the actor was seen in. */
  sawValue(value: unknown): void {
    activeIds(this.machine.root as unknown as Node, value, this.states);
  }

  /**
   * Feeds one inspection event; `mine` picks the actors of this machine.
   * Unsanitized events only: the client's redacting inspector empties `_transitions`.
   */
  inspect(ev: InspectionEvent, mine: (actor: AnyActorRef) => boolean): void {
    if (!mine(ev.actorRef as AnyActorRef)) return;
    if (ev.type === '@xstate.microstep') {
      for (const def of ev._transitions as unknown as TransitionDef[]) {
        this.transitions.add(keyOf(def));
        // A transient state (left by an eventless transition) shows only as a source.
        this.states.add(def.source.id);
      }
      this.sawValue((ev.snapshot as { value?: unknown }).value);
    } else if (ev.type === '@xstate.snapshot') {
      this.sawValue((ev.snapshot as { value?: unknown }).value);
    }
  }

  /** An inspection observer for the actors `mine` picks. */
  observer(mine: (actor: AnyActorRef) => boolean = () => true): (ev: InspectionEvent) => void {
    return (ev) => this.inspect(ev, mine);
  }

  /** Adds what another run measured (the same machine). */
  merge(other: Coverage): void {
    for (const s of other.states) this.states.add(s);
    for (const t of other.transitions) this.transitions.add(t);
    for (const p of other.pathKeys) this.pathKeys.add(p);
  }

  missingStates(): string[] {
    return this.allStates.filter((s) => !this.states.has(s));
  }

  missingTransitions(): string[] {
    return this.allTransitions.filter((t) => !this.transitions.has(t));
  }

  /** `model coverage <machine>: <n> paths, states <s>%, transitions <t>%`, and the unreachable ones. */
  report(unreachable: readonly Unreachable[] = []): string {
    const pct = (have: number, all: number) => (all === 0 ? 100 : Math.floor((1000 * have) / all) / 10);
    const s = pct(this.allStates.length - this.missingStates().length, this.allStates.length);
    const t = pct(this.allTransitions.length - this.missingTransitions().length, this.allTransitions.length);
    const lines = [`model coverage ${this.name}: ${this.paths} paths, states ${s}%, transitions ${t}%`];
    const named = new Map(unreachable.map((u) => [u.transition, u.reason]));
    if (named.size > 0) {
      const counted = this.allTransitions.filter((x) => !named.has(x));
      const r = pct(counted.filter((x) => this.transitions.has(x)).length, counted.length);
      lines.push(`  ${r}% of the ${counted.length} reachable transitions (${named.size} named unreachable)`);
    }
    for (const missing of this.missingTransitions()) {
      lines.push(`  unreachable ${missing}: ${named.get(missing) ?? 'NOT EXPLAINED'}`);
    }
    for (const missing of this.missingStates()) lines.push(`  state not reached ${missing}`);
    return lines.join('\n');
  }

  /**
   * Prints the report and holds the target: every state, and at least 90% of the transitions that
   * are not named unreachable (`ofAll`: at least 90% of all the machine's transitions, which is the
   * target; the named ones still need their reasons). A named transition that a path did take is a
   * stale entry, and fails.
   */
  printAndAssert(
    unreachable: readonly Unreachable[] = [],
    { ofAll = false }: { ofAll?: boolean } = {},
  ): void {
    console.log(this.report(unreachable));
    expect(this.missingStates()).toEqual([]);
    const named = new Set(unreachable.map((u) => u.transition));
    for (const u of unreachable) {
      expect(this.allTransitions, `${u.transition} is not a transition of ${this.name}`).toContain(
        u.transition,
      );
      expect(this.transitions.has(u.transition), `${u.transition} was reached: drop it from the list`).toBe(
        false,
      );
    }
    const counted = ofAll ? this.allTransitions : this.allTransitions.filter((t) => !named.has(t));
    const covered = counted.filter((t) => this.transitions.has(t)).length;
    expect(covered / counted.length, this.missingTransitions().join('\n')).toBeGreaterThanOrEqual(0.9);
  }
}
