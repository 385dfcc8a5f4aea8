// The example page's script: connect, make a channel, write one box, read it back, and show each
// operation's states as they happen. It imports the browser bundle (npm run build:browser).
import { parseConfig, ThinClient } from './katzenpost-thin-client.js';

const form = document.getElementById('run');
const rows = document.getElementById('operations');
const result = document.getElementById('result');
const params = new URLSearchParams(location.search);
form.daemon.value = params.get('daemon') ?? '';
if (params.has('message')) form.message.value = params.get('message');

/** A table row whose state column grows as the operation moves: "sending → awaiting → done". */
function operation(name) {
  const row = rows.insertRow();
  row.dataset.operation = name;
  row.insertCell().textContent = name;
  const cell = row.insertCell();
  cell.className = 'state';
  const states = [];
  const enter = (state) => {
    if (states.at(-1) === state) return;
    states.push(state);
    row.dataset.states = states.join(' ');
    cell.textContent = states.join(' → ');
  };
  return {
    enter,
    async run(work) {
      enter('started');
      try {
        const value = await work();
        enter('done');
        row.dataset.final = 'done';
        return value;
      } catch (error) {
        enter(`failed: ${error.message}`);
        row.dataset.final = 'failed';
        throw error;
      }
    },
  };
}

// An ARQ operation is an actor `op:<query id>`: in `sending` it hands its frame to the transport
// (again after a reconnect), then rests in `awaiting` until the reply, and ends in `done`. Only the
// resting states appear as snapshots; the hand-over shows as the actor's sendTo action. The
// inspection stream (secrets redacted) tells the page what the current operation does.
let currentArq;
function inspect(event) {
  if (!currentArq) return;
  const systemId = event.actorRef?.systemId;
  if (typeof systemId !== 'string' || !systemId.startsWith('op:')) return;
  if (event.type === '@xstate.action' && event.action?.type === 'xstate.sendTo') currentArq.enter('sending');
  else if (event.type === '@xstate.snapshot' && typeof event.snapshot?.value === 'string')
    currentArq.enter(event.snapshot.value);
}

async function arq(name, work) {
  const op = operation(name);
  currentArq = op;
  try {
    return await op.run(work);
  } finally {
    currentArq = undefined;
  }
}

async function writeAndReadBack(address, text) {
  rows.replaceChildren();
  result.textContent = '';
  const config = parseConfig(`[Dial.Ws]\nAddress = ${JSON.stringify(address)}\n`, 'the page');
  const client = await operation('connect').run(() => ThinClient.connect(config, { inspect }));
  try {
    const seed = crypto.getRandomValues(new Uint8Array(32));
    const keys = await operation('newKeypair').run(() => client.newKeypair(seed));
    const index = keys.firstMessageIndex;
    const plaintext = new TextEncoder().encode(text);
    const written = await operation('encryptWrite').run(() =>
      client.encryptWrite(plaintext, keys.writeCap, index),
    );
    await arq('write box', () =>
      client.startResendingEncryptedMessage({ writeCap: keys.writeCap, ...written }),
    );
    const query = await operation('encryptRead').run(() => client.encryptRead(keys.readCap, index));
    const reply = await arq('read box', () =>
      client.startResendingEncryptedMessage({ readCap: keys.readCap, messageBoxIndex: index, ...query }),
    );
    const readBack = new TextDecoder().decode(reply.plaintext);
    result.dataset.plaintext = readBack;
    result.textContent = `read back: ${readBack}`;
  } finally {
    await client.close();
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  writeAndReadBack(form.daemon.value, form.message.value).catch((error) => {
    result.dataset.error = `${error.name}: ${error.message}`;
    result.textContent = `failed: ${error.name}: ${error.message}`;
  });
});
if (params.has('daemon') && params.has('run')) form.requestSubmit();
