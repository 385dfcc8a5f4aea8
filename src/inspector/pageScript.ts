/**
 * The inspector page's script (plain browser JavaScript, no dependencies): keeps the records that
 * arrive over `/events` (bounded like the server's: the oldest finished operation goes first), and
 * draws them as a WAI-ARIA tree (role=tree; treeitems with aria-level, aria-expanded,
 * aria-selected; one tabindex=0 item, arrows, Home and End to move) with each operation's lifecycle.
 * Mirrors src/inspector/tree.ts, whose model it draws.
 */
export const INSPECTOR_SCRIPT = `
'use strict';
const STRUCTURAL = new Set(['client', 'connection', 'registry']);
const records = new Map();
let limit = 500;
let focusedId = 'client';
const collapsed = new Set();
const tree = document.getElementById('tree');
const statusLine = document.getElementById('status');
const summary = document.getElementById('summary');

const pad = (n, w) => String(n).padStart(w || 2, '0');
/** 24-hour local time with milliseconds: 14:03:07.042 */
function clock(t) {
  const d = new Date(t);
  return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' + pad(d.getMilliseconds(), 3);
}

function checked(name) {
  return [...document.querySelectorAll('input[name="' + name + '"]:checked')].map((i) => i.value);
}
function passes(r) {
  if (STRUCTURAL.has(r.kind)) return true;
  if (document.getElementById('hide-finished').checked && r.phase !== 'active') return false;
  const kinds = checked('kind');
  const phases = checked('phase');
  return kinds.includes(r.kind) && phases.includes(r.phase);
}

function evict() {
  let operations = 0;
  for (const r of records.values()) if (!STRUCTURAL.has(r.kind)) operations++;
  while (operations > limit) {
    let victim;
    for (const r of records.values()) {
      if (STRUCTURAL.has(r.kind)) continue;
      victim = victim || r;
      if (r.phase !== 'active') { victim = r; break; }
    }
    if (!victim) return;
    records.delete(victim.id);
    operations--;
  }
}

/** Records → nested nodes, keeping a node that passes the filters or has a descendant that does. */
function model() {
  const children = new Map();
  const root = [...records.values()].find((r) => r.parent === undefined);
  for (const r of records.values()) {
    let parent = r.parent !== undefined && records.has(r.parent) ? r.parent : undefined;
    if (parent === undefined && r !== root) parent = root && root.id;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(r);
  }
  const grow = (parent, level) => (children.get(parent) || []).flatMap((record) => {
    const kids = grow(record.id, level + 1);
    return passes(record) || kids.length ? [{ record, level, children: kids }] : [];
  });
  return grow(undefined, 1);
}

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function lifecycle(r) {
  const ol = el('ol', 'steps');
  ol.setAttribute('aria-label', 'lifecycle of ' + r.label);
  if (r.stepsDropped) ol.appendChild(el('li', 'gap', '… ' + r.stepsDropped + ' steps dropped'));
  for (const s of r.steps) {
    const li = el('li', 'step');
    if (s.event) li.appendChild(el('span', 'event', s.event));
    const time = el('time', 'time', clock(s.t));
    time.dateTime = new Date(s.t).toISOString();
    li.appendChild(time);
    li.appendChild(el('span', 'state', s.state));
    ol.appendChild(li);
  }
  return ol;
}

function item(node) {
  const r = node.record;
  const li = el('li', 'node phase-' + r.phase);
  li.setAttribute('role', 'treeitem');
  li.setAttribute('aria-level', String(node.level));
  li.dataset.id = r.id;
  li.dataset.kind = r.kind;
  li.dataset.phase = r.phase;
  li.tabIndex = -1;
  const row = el('div', 'row');
  const label = el('span', 'label', r.label);
  label.id = 'label-' + r.id.replace(/[^a-zA-Z0-9_-]/g, '_');
  li.setAttribute('aria-labelledby', label.id);
  li.setAttribute('aria-selected', String(r.id === focusedId));
  const open = node.children.length > 0 && !collapsed.has(r.id);
  row.appendChild(el('span', 'twisty', node.children.length ? (open ? '▾' : '▸') : ''));
  row.appendChild(label);
  row.appendChild(el('span', 'kind', r.kind));
  row.appendChild(el('span', 'phase', r.outcome && r.outcome !== r.phase ? r.phase + ' · ' + r.outcome : r.phase));
  if (r.transmissions > 1) row.appendChild(el('span', 'retries', (r.transmissions - 1) + (r.transmissions === 2 ? ' retry' : ' retries')));
  if (r.replays) row.appendChild(el('span', 'replays', 'replayed ×' + r.replays));
  if (r.resyncs) row.appendChild(el('span', 'resyncs', 'resynced ×' + r.resyncs));
  li.appendChild(row);
  if (!STRUCTURAL.has(r.kind) || r.kind === 'connection') li.appendChild(lifecycle(r));
  if (node.children.length) {
    li.setAttribute('aria-expanded', String(open));
    if (open) {
      const group = el('ul', 'group');
      group.setAttribute('role', 'group');
      for (const child of node.children) group.appendChild(item(child));
      li.appendChild(group);
    }
  }
  return li;
}

let scheduled = false;
function schedule() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(render);
}
function render() {
  scheduled = false;
  const hadFocus = tree.contains(document.activeElement);
  tree.replaceChildren(...model().map(item));
  const items = visibleItems();
  let current = items.find((i) => i.dataset.id === focusedId);
  if (!current && items.length) { current = items[0]; focusedId = current.dataset.id; current.setAttribute('aria-selected', 'true'); }
  if (current) { current.tabIndex = 0; if (hadFocus) current.focus({ preventScroll: true }); }
  let active = 0, total = 0;
  for (const r of records.values()) if (!STRUCTURAL.has(r.kind)) { total++; if (r.phase === 'active') active++; }
  summary.textContent = total + ' operations, ' + active + ' active (keeping at most ' + limit + ')';
}

function visibleItems() { return [...tree.querySelectorAll('[role="treeitem"]')]; }
function moveTo(li) {
  if (!li) return;
  focusedId = li.dataset.id;
  for (const i of visibleItems()) { i.tabIndex = -1; i.setAttribute('aria-selected', 'false'); }
  li.tabIndex = 0;
  li.setAttribute('aria-selected', 'true');
  li.focus();
}
function toggle(li, open) {
  if (!li.hasAttribute('aria-expanded')) return false;
  const isOpen = li.getAttribute('aria-expanded') === 'true';
  if (isOpen === open) return false;
  if (open) collapsed.delete(li.dataset.id); else collapsed.add(li.dataset.id);
  render();
  moveTo(visibleItems().find((i) => i.dataset.id === li.dataset.id));
  return true;
}
tree.addEventListener('keydown', (e) => {
  const li = e.target.closest('[role="treeitem"]');
  if (!li) return;
  const items = visibleItems();
  const at = items.indexOf(li);
  const parentItem = li.parentElement.closest('[role="treeitem"]');
  switch (e.key) {
    case 'ArrowDown': moveTo(items[at + 1]); break;
    case 'ArrowUp': moveTo(items[at - 1]); break;
    case 'Home': moveTo(items[0]); break;
    case 'End': moveTo(items[items.length - 1]); break;
    case 'ArrowRight':
      if (!toggle(li, true) && li.getAttribute('aria-expanded') === 'true') moveTo(li.querySelector('[role="treeitem"]'));
      break;
    case 'ArrowLeft':
      if (!toggle(li, false)) moveTo(parentItem);
      break;
    case 'Enter': case ' ':
      toggle(li, li.getAttribute('aria-expanded') !== 'true');
      break;
    default: return;
  }
  e.preventDefault();
});
tree.addEventListener('click', (e) => {
  const li = e.target.closest('[role="treeitem"]');
  if (!li) return;
  if (e.target.classList.contains('twisty')) toggle(li, li.getAttribute('aria-expanded') !== 'true');
  else moveTo(li);
});
document.getElementById('filters').addEventListener('change', schedule);

const source = new EventSource('events');
source.onopen = () => { statusLine.textContent = 'live'; statusLine.className = 'live'; };
source.onerror = () => { statusLine.textContent = 'disconnected (retrying)'; statusLine.className = 'down'; };
source.addEventListener('hello', (m) => { limit = JSON.parse(m.data).limit; records.clear(); schedule(); });
source.addEventListener('record', (m) => {
  const r = JSON.parse(m.data);
  records.set(r.id, r);
  evict();
  schedule();
});
source.addEventListener('drop', (m) => { records.delete(JSON.parse(m.data).id); schedule(); });
`;
