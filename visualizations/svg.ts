/**
 * DOT → SVG with Graphviz compiled to WebAssembly (@viz-js/viz, pinned), so rendering needs no
 * network and no system Graphviz, and the same DOT gives the same SVG on every machine.
 */
import { instance, type Viz } from '@viz-js/viz';

let viz: Promise<Viz> | undefined;

export class DiagramRenderError extends Error {
  constructor(
    readonly graph: string,
    readonly messages: string[],
  ) {
    super(`graphviz could not render ${graph}: ${messages.join('; ')}`);
    this.name = 'DiagramRenderError';
  }
}

/** Renders `dot` to SVG; a Graphviz error or warning is a DiagramRenderError, never a silently odd picture. */
export async function renderSvg(graph: string, dot: string): Promise<string> {
  viz ??= instance();
  const result = (await viz).render(dot, { format: 'svg' });
  const messages = result.errors.map((e) => `${e.level ?? 'error'}: ${e.message.trim()}`);
  if (result.status !== 'success' || messages.length > 0) throw new DiagramRenderError(graph, messages);
  return result.output;
}
