/**
 * Machine → Graphviz DOT, walked from the machine's own StateNode tree (no hand-drawn parts).
 *
 *   compound and parallel states   clusters (parallel: dashed), each with a filled dot marking its initial state
 *   final states                   double border
 *   transitions                    edges labelled `event [guard]`; `after <delay>`, `always`, `done: <actor>`
 *   targetless transitions         rows inside their state (they change no state), as do invoked actors
 *
 * Graphviz draws an edge between nodes only, so an edge to or from a cluster ends at one of its marker
 * nodes and is clipped at the border (`compound=true`, `lhead`/`ltail`). A transition from a cluster
 * to a state inside it ("from any substate") starts at a small "any state" node in that cluster.
 * Everything is emitted in definition order, so the same machine gives the same text.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { labelledTransitions } from './transitionText.js';

const quote = (text: string) => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
const html = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const isCluster = (node: AnyStateNode) => node.type === 'compound' || node.type === 'parallel';
const clusterName = (node: AnyStateNode) => quote(`cluster_${node.id}`);
/** The node edges to and from a cluster attach to: its initial dot, or an invisible point. */
const anchorOf = (node: AnyStateNode) => quote(`${node.id}#anchor`);
const anyStateOf = (node: AnyStateNode) => quote(`${node.id}#any`);
const nodeOf = (node: AnyStateNode) => (isCluster(node) ? anchorOf(node) : quote(node.id));

const contains = (outer: AnyStateNode, inner: AnyStateNode): boolean => {
  for (let n: AnyStateNode | undefined = inner; n; n = n.parent) if (n === outer) return true;
  return false;
};

/** What happens in a state without leaving it: invoked actors, then targetless transitions. */
function innerRows(node: AnyStateNode): string[] {
  const rows = node.invoke.map((inv) => {
    const src = typeof inv.src === 'string' ? inv.src : inv.id;
    return src === inv.id ? `invoke ${inv.id}` : `invoke ${inv.id} (${src})`;
  });
  for (const { transition, label } of labelledTransitions(node)) {
    if (transition.target !== undefined && transition.target.length > 0) continue;
    // An empty handler still matters: it keeps the event from reaching the parent state.
    const ignored = transition.actions.length === 0 && transition.guard === undefined ? ' (ignored)' : '';
    rows.push(`${label}${ignored}`);
  }
  return [...new Set(rows)];
}

/** An HTML-like label: the state's name in bold, then its inner rows, left-aligned and smaller. */
function stateLabel(title: string, rows: string[], align: 'center' | 'left'): string {
  const body = rows.map((row) => `${html(row)}<br align="left"/>`).join('');
  const titleEnd = align === 'left' ? '<br align="left"/>' : '<br/>';
  return `<<b>${html(title)}</b>${body ? `${titleEnd}<font point-size="10">${body}</font>` : ''}>`;
}

export function machineToDot(machine: AnyStateMachine): string {
  const out = [
    `digraph ${quote(machine.id)} {`,
    '  compound=true; rankdir=TB; newrank=true; nodesep=0.4; ranksep=0.45;',
    '  fontname="Helvetica"; fontsize=12;',
    '  node [fontname="Helvetica", fontsize=12, shape=box, style="rounded,filled", fillcolor="#f4f6fb", color="#44546a"];',
    '  edge [fontname="Helvetica", fontsize=10, color="#44546a", arrowsize=0.7];',
  ];
  /** Edges by their ends, so that all transitions between the same two states share one arrow. */
  const edges = new Map<string, { ends: string; attrs: string[]; labels: string[] }>();
  const needsAnyState = new Set<AnyStateNode>();

  const addEdge = (source: AnyStateNode, target: AnyStateNode, label: string) => {
    const attrs: string[] = [];
    let tail = nodeOf(source);
    if (isCluster(source)) {
      if (contains(source, target)) {
        needsAnyState.add(source);
        tail = anyStateOf(source);
      } else attrs.push(`ltail=${clusterName(source)}`);
    }
    if (isCluster(target) && !contains(target, source)) attrs.push(`lhead=${clusterName(target)}`);
    const ends = `${tail} -> ${nodeOf(target)}`;
    const key = [ends, ...attrs].join(' ');
    const edge = edges.get(key) ?? { ends, attrs, labels: [] };
    if (!edge.labels.includes(label)) edge.labels.push(label);
    edges.set(key, edge);
  };

  const collectEdges = (node: AnyStateNode) => {
    for (const { transition, label } of labelledTransitions(node)) {
      for (const target of transition.target ?? []) addEdge(node, target, label);
    }
    for (const child of Object.values(node.states)) collectEdges(child);
  };

  const edgeLines = () =>
    [...edges.values()].map(({ ends, attrs, labels }) => {
      const label = `label=${quote(labels.map((l) => ` ${l} `).join('\n'))}`;
      return `  ${ends} [${[label, ...attrs].join(', ')}];`;
    });

  const walk = (node: AnyStateNode, pad: string) => {
    if (!isCluster(node)) {
      const attrs = [`label=${stateLabel(node.key, innerRows(node), 'center')}`];
      if (node.type === 'final') attrs.push('peripheries=2', 'fillcolor="#e8eef7"');
      if (node.type === 'history') {
        const deep = (node as { history?: string }).history === 'deep';
        attrs.splice(0, 1, `label=${quote(deep ? 'H*' : 'H')}`, 'shape=circle');
      }
      out.push(`${pad}${quote(node.id)} [${attrs.join(', ')}];`);
      return;
    }
    const parallel = node.type === 'parallel';
    const title = parallel ? `${node.key} (parallel)` : node.key;
    out.push(`${pad}subgraph ${clusterName(node)} {`);
    out.push(`${pad}  label=${stateLabel(title, innerRows(node), 'left')}; labeljust=l;`);
    out.push(`${pad}  style="rounded${parallel ? ',dashed' : ''}"; color="#44546a"; bgcolor="#ffffff";`);
    const initial = node.initial?.target?.[0] as AnyStateNode | undefined;
    if (initial && !parallel) {
      out.push(
        `${pad}  ${anchorOf(node)} [shape=point, width=0.12, label="", style=filled, fillcolor="#44546a"];`,
      );
      out.push(
        `${pad}  ${anchorOf(node)} -> ${nodeOf(initial)}${isCluster(initial) ? ` [lhead=${clusterName(initial)}]` : ''};`,
      );
    } else {
      out.push(`${pad}  ${anchorOf(node)} [shape=point, width=0.01, label="", style=invis];`);
    }
    if (needsAnyState.has(node)) {
      out.push(
        `${pad}  ${anyStateOf(node)} [shape=plaintext, style="", label=<<i>any state</i>>, fontsize=10];`,
      );
    }
    for (const child of Object.values(node.states)) walk(child, `${pad}  `);
    out.push(`${pad}}`);
  };

  collectEdges(machine.root);
  walk(machine.root, '  ');
  return [...out, ...edgeLines(), '}', ''].join('\n');
}
