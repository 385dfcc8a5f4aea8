import { readdir, readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { and, fromPromise, StateMachine, setup } from 'xstate';
import { machineToDot } from '../../visualizations/dot.js';
import {
  diagramPath,
  expectedDiagrams,
  leftoverDiagrams,
  renderMachineDoc,
} from '../../visualizations/generate.js';
import { MACHINES } from '../../visualizations/machines.js';
import { DiagramRenderError, renderSvg } from '../../visualizations/svg.js';

const machinesDir = new URL('../../machines/', import.meta.url);

describe('committed machine diagrams', () => {
  let expected: Map<string, string>;
  beforeAll(async () => {
    expected = await expectedDiagrams();
  });

  const files = Object.keys(MACHINES).flatMap((name) => [`${name}.md`, `${name}.svg`]);
  it.each(files)('visualizations/%s matches its machine (run `npm run diagrams`)', async (file) => {
    const committed = await readFile(diagramPath(file), 'utf8').catch(() => 'missing');
    expect(committed).toBe(expected.get(file));
  });

  it('holds no diagram of a machine that is gone', async () => {
    expect(await leftoverDiagrams(expected)).toEqual([]);
  });

  it('lists every machine that a file in machines/ exports', async () => {
    const found: string[] = [];
    for (const file of (await readdir(machinesDir)).filter((f) => f.endsWith('.ts')).sort()) {
      const module: Record<string, unknown> = await import(new URL(file, machinesDir).href);
      const name = file.replace(/\.ts$/, '');
      for (const [exportName, value] of Object.entries(module)) {
        if (!(value instanceof StateMachine)) continue;
        found.push(`${name}.${exportName}`);
        expect(MACHINES[name]?.machine, `machines/${file} exports ${exportName}`).toBe(value);
      }
    }
    expect(found.length).toBeGreaterThanOrEqual(Object.keys(MACHINES).length);
  });

  it('draws every state of the connection machine in its Mermaid file', () => {
    const doc = renderMachineDoc('connection');
    for (const state of ['dialing', 'awaitingSessionReply', 'ready', 'backoff', 'closed'])
      expect(doc).toContain(state);
  });

  it('links the SVG from the Markdown file', () => {
    expect(renderMachineDoc('arq')).toContain('![arq statechart](arq.svg)');
  });
});

/** Small, but with every construct the DOT export draws. */
const fixture = setup({
  actors: { worker: fromPromise(async () => 'ok') },
  guards: { ready: () => true, allowed: () => true },
  delays: { patience: 500 },
}).createMachine({
  id: 'fixture',
  initial: 'idle',
  states: {
    idle: { on: { GO: { guard: 'ready', target: 'busy' }, PING: { actions: () => {} } } },
    busy: {
      type: 'parallel',
      invoke: { id: 'job', src: 'worker', onDone: '#fixture.finished' },
      on: { STOP: 'idle' },
      states: {
        left: {
          initial: 'a',
          on: { RESET: '.a' },
          states: {
            a: { on: { NEXT: { guard: and(['ready', 'allowed']), target: 'b' } } },
            b: { after: { patience: 'a', 1000: '#fixture.finished' } },
          },
        },
        right: { initial: 'x', states: { x: { on: { SKIP: {} } } } },
      },
    },
    finished: { type: 'final' },
  },
});

describe('machineToDot', () => {
  const dot = machineToDot(fixture);

  it('draws compound states as clusters and parallel ones as dashed clusters', () => {
    expect(dot).toContain('subgraph "cluster_fixture" {');
    expect(dot).toContain('subgraph "cluster_fixture.busy.left" {');
    expect(dot).toContain('subgraph "cluster_fixture.busy.right" {');
    const busy = dot.slice(dot.indexOf('subgraph "cluster_fixture.busy" {'));
    expect(busy).toMatch(/^subgraph "cluster_fixture.busy" \{\n\s+label=<<b>busy \(parallel\)<\/b>/);
    expect(busy.split('\n')[2]).toContain('style="rounded,dashed"');
  });

  it('marks each initial state with a dot inside its cluster, but none for parallel regions', () => {
    expect(dot).toContain('"fixture#anchor" -> "fixture.idle";');
    expect(dot).toContain('"fixture.busy.left#anchor" -> "fixture.busy.left.a";');
    expect(dot).toMatch(/"fixture\.busy#anchor" \[[^\]]*style=invis/);
  });

  it('draws final states with a double border', () => {
    expect(dot).toMatch(/"fixture\.finished" \[label=<<b>finished<\/b>>, peripheries=2/);
  });

  it('labels edges with the event and the guard by name, combinators spelled out', () => {
    expect(dot).toContain(
      '"fixture.idle" -> "fixture.busy#anchor" [label=" GO [ready] ", lhead="cluster_fixture.busy"];',
    );
    expect(dot).toContain(
      '"fixture.busy.left.a" -> "fixture.busy.left.b" [label=" NEXT [ready && allowed] "];',
    );
  });

  it('names delays, and done events by their actor', () => {
    expect(dot).toContain('"fixture.busy.left.b" -> "fixture.busy.left.a" [label=" after patience "];');
    expect(dot).toContain('"fixture.busy.left.b" -> "fixture.finished" [label=" after 1000 ms "];');
    expect(dot).toContain(
      '"fixture.busy#anchor" -> "fixture.finished" [label=" done: job ", ltail="cluster_fixture.busy"];',
    );
  });

  it('clips edges between clusters at both borders', () => {
    expect(dot).toContain(
      '"fixture.busy#anchor" -> "fixture.idle" [label=" STOP ", ltail="cluster_fixture.busy"];',
    );
  });

  it('starts a transition from a cluster to its own substate at an "any state" node', () => {
    expect(dot).toContain('"fixture.busy.left#any" [shape=plaintext');
    expect(dot).toContain('"fixture.busy.left#any" -> "fixture.busy.left.a" [label=" RESET "];');
  });

  it('lists invoked actors and targetless transitions inside their state', () => {
    expect(dot).toContain('invoke job (worker)<br align="left"/>');
    expect(dot).toMatch(/"fixture\.idle" \[label=<<b>idle<\/b><br\/><font point-size="10">PING<br/);
    expect(dot).toContain('SKIP (ignored)<br align="left"/>');
  });

  it('gives the same text for the same machine', () => {
    expect(machineToDot(fixture)).toBe(dot);
  });
});

describe('renderSvg', () => {
  it('renders the DOT export to an SVG that shows every state', async () => {
    const svg = await renderSvg('fixture', machineToDot(fixture));
    expect(svg).toMatch(/^<\?xml[\s\S]*<svg [\s\S]*<\/svg>\n$/);
    for (const state of ['idle', 'busy (parallel)', 'left', 'right', 'finished'])
      expect(svg).toContain(`>${state}</text>`);
    expect(svg).toContain('> NEXT [ready &amp;&amp; allowed] </text>');
  });

  it('rejects DOT that Graphviz cannot parse with a DiagramRenderError naming the graph', async () => {
    const error = await renderSvg('broken', 'digraph { a -> }').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiagramRenderError);
    expect((error as Error).message).toMatch(/^graphviz could not render broken: error: /);
  });
});
