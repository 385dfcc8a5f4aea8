/**
 * Machine → Mermaid `stateDiagram-v2`, from xstate's own graph of the statechart
 * (`toDirectedGraph`). Compound states become nested blocks; parallel regions are separated by `--`.
 */
import type { AnyStateMachine } from 'xstate';
import { toDirectedGraph } from 'xstate/graph';

type DirectedNode = ReturnType<typeof toDirectedGraph>;

const safeId = (id: string) => id.replace(/[^A-Za-z0-9_]/g, '_');

/** Event names as a reader wants them: delays shown as `after …`, done/error events shortened. */
function label(text: string): string {
  return text
    .replace(/^xstate\.after\.([^.]+)\..*$/, 'after $1')
    .replace(/^xstate\.done\.actor\.(.+)$/, 'done: $1')
    .replace(/^xstate\.error\.actor\.(.+)$/, 'error: $1')
    .replace(/^xstate\.done\.state\..*$/, 'done')
    .replace(/:/g, ' ');
}

export function machineToMermaid(machine: AnyStateMachine): string {
  const root = toDirectedGraph(machine);
  const lines = ['stateDiagram-v2'];
  const edges: string[] = [];

  const walk = (node: DirectedNode, depth: number) => {
    const pad = '  '.repeat(depth);
    const sn = node.stateNode;
    const children = node.children;
    if (children.length > 0) {
      const initial = sn.initial?.target?.[0];
      const regions = sn.type === 'parallel';
      children.forEach((child, i) => {
        const csn = child.stateNode;
        if (regions && i > 0) lines.push(`${pad}--`);
        if (child.children.length > 0) {
          lines.push(`${pad}state ${safeId(csn.id)} {`);
          walk(child, depth + 1);
          lines.push(`${pad}}`);
        } else {
          lines.push(`${pad}${safeId(csn.id)} : ${csn.key}`);
        }
        if (csn.type === 'final') lines.push(`${pad}${safeId(csn.id)} --> [*]`);
      });
      if (initial && !regions) lines.push(`${pad}[*] --> ${safeId(initial.id)}`);
    }
  };

  const collectEdges = (node: DirectedNode) => {
    for (const edge of node.edges) {
      edges.push(`  ${safeId(edge.source.id)} --> ${safeId(edge.target.id)} : ${label(edge.label.text)}`);
    }
    for (const child of node.children) collectEdges(child);
  };

  walk(root, 1);
  collectEdges(root);
  // Mermaid draws each distinct edge once; xstate lists one per transition, so drop repeats.
  return [...lines, ...new Set(edges)].join('\n');
}
