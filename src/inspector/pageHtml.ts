/** The inspector's single page: no external scripts or styles, so it works offline. */
import { OPERATION_KINDS } from './kinds.js';
import { INSPECTOR_SCRIPT } from './pageScript.js';

const FILTER_KINDS = [...OPERATION_KINDS, 'copy stream', 'window', 'actor'];
const PHASES = ['active', 'done', 'failed', 'cancelled'];

const checkbox = (name: string, value: string) =>
  `<label><input type="checkbox" name="${name}" value="${value}" checked> ${value}</label>`;

const STYLE = `
  :root { color-scheme: light; --muted: #6e7781; --line: #e5e7eb; }
  body { font: 14px/1.45 system-ui, sans-serif; margin: 1.25rem 1.5rem; color: #1d1d1f; background: #fff; }
  header { display: flex; align-items: baseline; gap: 1rem; margin-bottom: .75rem; }
  h1 { font-size: 1.15rem; margin: 0; }
  #status { font-size: .85rem; padding: .05rem .5rem; border-radius: 1rem; background: #f3f4f6; color: var(--muted); }
  #status.live { background: #dcfce7; color: #166534; } #status.down { background: #fee2e2; color: #991b1b; }
  #summary { color: var(--muted); font-size: .85rem; }
  #filters { display: flex; flex-wrap: wrap; gap: .4rem 1.25rem; margin-bottom: 1rem; padding: .6rem .8rem;
    border: 1px solid var(--line); border-radius: .5rem; background: #fafafa; }
  #filters fieldset { border: 0; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: .2rem .7rem; align-items: center; }
  #filters legend { float: left; font-weight: 600; margin-right: .5rem; }
  ul[role="tree"], ul[role="group"] { list-style: none; margin: 0; padding: 0; }
  ul[role="group"] { margin-left: 1.1rem; border-left: 1px solid var(--line); padding-left: .5rem; }
  li[role="treeitem"] { margin: .15rem 0; outline: none; }
  li[role="treeitem"] > .row { display: flex; flex-wrap: wrap; gap: .6rem; align-items: baseline; padding: .15rem .35rem; border-radius: .3rem; }
  li[role="treeitem"]:focus > .row { box-shadow: 0 0 0 2px #2563eb; }
  li[aria-selected="true"] > .row { background: #eff6ff; }
  .twisty { width: 1ch; color: var(--muted); cursor: pointer; }
  .label { font-family: ui-monospace, monospace; font-weight: 600; }
  .kind { font-size: .78rem; padding: 0 .45rem; border-radius: .3rem; background: #eef2ff; color: #3730a3; }
  .phase { font-size: .85rem; }
  .phase-active > .row .phase { color: #9a6700; } .phase-done > .row .phase { color: #1a7f37; }
  .phase-failed > .row .phase { color: #cf222e; } .phase-cancelled > .row .phase { color: var(--muted); }
  .retries, .replays, .resyncs { font-size: .78rem; padding: 0 .45rem; border-radius: .3rem; background: #fff7ed; color: #9a3412; }
  .steps { list-style: none; display: flex; flex-wrap: wrap; gap: .1rem .35rem; margin: .05rem 0 .3rem 1.6rem; padding: 0;
    font: 12px/1.5 ui-monospace, monospace; color: #374151; }
  .step .event { color: var(--muted); margin-right: .35rem; }
  .step .event::after { content: " →"; }
  .step .time { color: var(--muted); margin-right: .3rem; }
  .step .state { padding: 0 .3rem; border-radius: .25rem; background: #f3f4f6; }
  .gap { color: var(--muted); }
`;

export const INSPECTOR_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>katzenpost thin client: inspector</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1 id="tree-title">Client actors and operations</h1>
  <span id="status" role="status">connecting…</span>
  <span id="summary"></span>
</header>
<form id="filters" aria-label="Filters" onsubmit="return false">
  <fieldset><legend>Kind</legend>${FILTER_KINDS.map((k) => checkbox('kind', k)).join('')}</fieldset>
  <fieldset><legend>State</legend>${PHASES.map((p) => checkbox('phase', p)).join('')}</fieldset>
  <fieldset><label><input type="checkbox" id="hide-finished"> hide finished</label></fieldset>
</form>
<ul id="tree" role="tree" aria-labelledby="tree-title"></ul>
<script>${INSPECTOR_SCRIPT}</script>
</body>
</html>
`;
