#!/usr/bin/env node
// Readiness probe for the local testnet: connects to kpclientd, does the
// handshake and waits until (a) the daemon reports is_connected (to its
// gateway) and (b) it has pushed a PKI document listing at least
// --min-replicas StorageReplicas and a courier service. Prints one JSON line
// and exits 0 when ready, 1 otherwise (connection refused, timeout).
//
//   node probe.mjs --config work/net/client/thinclient.toml [--min-replicas 2] [--timeout 60]
import { parseArgs } from 'node:util';
import { decodePkiPayload, field, frameKind, handshake, readThinConfig, ThinConn } from './thinwire.mjs';

const { values } = parseArgs({
  options: {
    config: { type: 'string' },
    'min-replicas': { type: 'string', default: '2' },
    timeout: { type: 'string', default: '60' },
  },
});
if (!values.config) {
  console.error('usage: probe.mjs --config thinclient.toml [--min-replicas N] [--timeout S]');
  process.exit(2);
}
const minReplicas = Number(values['min-replicas']);
const deadline = Date.now() + Number(values.timeout) * 1000;

function docFacts(payload) {
  const doc = decodePkiPayload(payload);
  if (!(doc instanceof Map)) return null;
  const replicas = doc.get('StorageReplicas') ?? [];
  const services = doc.get('ServiceNodes') ?? [];
  let couriers = 0;
  for (const raw of services) {
    const d = raw instanceof Uint8Array ? decodePkiPayload(raw) : raw;
    const k = d instanceof Map ? d.get('Kaetzchen') : null;
    if (k instanceof Map && k.has('courier')) couriers++;
  }
  return {
    epoch: String(doc.get('Epoch')),
    storageReplicas: replicas.length,
    replicaNames: replicas.map((r) => (r instanceof Map ? r.get('Name') : '?')),
    serviceNodes: services.length,
    couriers,
  };
}

let conn;
try {
  conn = await ThinConn.connect(readThinConfig(values.config), 5000);
  const hs = await handshake(conn, undefined, Math.max(1000, deadline - Date.now()));
  let connected = field(hs.status.msg, 'connection_status_event', 'is_connected') === true;
  let facts = docFacts(field(hs.pki.msg, 'new_pki_document_event', 'payload'));
  const ready = () => connected && facts && facts.storageReplicas >= minReplicas && facts.couriers >= 1;
  const pending = hs.before;
  while (!ready()) {
    const f =
      pending.shift() ??
      (await conn.next(() => true, Math.max(1, deadline - Date.now()), 'PKI document / connection status'));
    const kind = frameKind(f.msg);
    if (kind === 'connection_status_event') connected = field(f.msg, kind, 'is_connected') === true;
    if (kind === 'new_pki_document_event') facts = docFacts(field(f.msg, kind, 'payload')) ?? facts;
  }
  console.log(JSON.stringify({ ready: true, isConnected: connected, ...facts }));
  conn.close();
  process.exit(0);
} catch (e) {
  console.error(`${new Date().toISOString()} probe: not ready: ${e.message}`);
  conn?.close({ thinClose: !conn.closed });
  process.exit(1);
}
