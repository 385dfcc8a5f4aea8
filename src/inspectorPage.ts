/** The inspector's single page: no external scripts or styles, so it works offline. */
export const INSPECTOR_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>katzenpost thin client: operations</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d1d1f; }
  h1 { font-size: 1.2rem; margin: 0 0 1rem; }
  table { border-collapse: collapse; width: 100%; margin-bottom: 1.5rem; }
  th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #e5e5e5; vertical-align: top; }
  th { background: #f5f5f7; font-weight: 600; }
  td.state { font-family: ui-monospace, monospace; }
  tr.done td { color: #1a7f37; } tr.error td { color: #cf222e; } tr.stopped td { color: #8c959f; }
  #log { font-family: ui-monospace, monospace; font-size: 12px; max-height: 40vh; overflow: auto; background: #f6f8fa; padding: .5rem; }
  .muted { color: #6e7781; }
</style>
</head>
<body>
<h1>Operations <span id="status" class="muted">(connecting…)</span></h1>
<table>
  <thead><tr><th>actor</th><th>state</th><th>status</th><th>last event</th><th>updated</th></tr></thead>
  <tbody id="actors"></tbody>
</table>
<h1>Transitions</h1>
<div id="log"></div>
<script>
  const actors = new Map();
  const tbody = document.getElementById('actors');
  const log = document.getElementById('log');
  const fmt = (v) => typeof v === 'string' ? v : JSON.stringify(v);
  function render() {
    const rows = [...actors.values()].sort((a, b) => a.first - b.first);
    tbody.replaceChildren(...rows.map((a) => {
      const tr = document.createElement('tr');
      tr.className = a.status || '';
      for (const text of [a.name, fmt(a.value ?? ''), a.status ?? '', a.event ?? '', new Date(a.t).toLocaleTimeString()]) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.appendChild(td);
      }
      tr.children[1].className = 'state';
      return tr;
    }));
  }
  const source = new EventSource('/events');
  source.onopen = () => { document.getElementById('status').textContent = '(live)'; };
  source.onerror = () => { document.getElementById('status').textContent = '(disconnected)'; };
  source.onmessage = (m) => {
    const row = JSON.parse(m.data);
    const key = row.actor;
    const a = actors.get(key) || { name: row.systemId || row.actor, first: row.t };
    if (row.systemId) a.name = row.systemId;
    if ('value' in row) a.value = row.value;
    if (row.status) a.status = row.status;
    if (row.type === '@xstate.event' && row.event) a.event = row.event;
    a.t = row.t;
    actors.set(key, a);
    if (row.type === '@xstate.snapshot') {
      const line = document.createElement('div');
      line.textContent = new Date(row.t).toISOString().slice(11, 23) + '  ' + a.name + '  ' + (row.event || '') + ' → ' + fmt(row.value ?? '') + (row.status && row.status !== 'active' ? ' [' + row.status + ']' : '');
      log.prepend(line);
    }
    render();
  };
</script>
</body>
</html>
`;
