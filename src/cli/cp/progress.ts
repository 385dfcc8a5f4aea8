// Progress bars on stderr: only on a terminal unless the runtime says otherwise, or none with --quiet.
import { MultiBar, Presets, SingleBar } from 'cli-progress';
import type { TransferProgress } from '../../pigeonhole/channels.js';
import type { CommonOptions } from './options.js';
import type { CpRuntime } from './runtime.js';

export interface Bar {
  update: (p: TransferProgress) => void;
  stop: () => void;
}

const BAR_FORMAT = '{label} [{bar}] {percentage}% | {value}/{total} bytes | {boxes} boxes';
const NO_BAR: Bar = { update: () => undefined, stop: () => undefined };

function wantBars(rt: CpRuntime, opts: CommonOptions): boolean {
  if (opts.quiet) return false;
  return rt.progress ?? Boolean((rt.stderr as NodeJS.WriteStream).isTTY);
}

function barOptions(rt: CpRuntime) {
  return { format: BAR_FORMAT, stream: rt.stderr as NodeJS.WriteStream, noTTYOutput: true, hideCursor: true };
}

function boxes(p: TransferProgress): string {
  return `${p.boxesDone}/${p.boxesTotal ?? '?'}`;
}

/** One bar; its total is the first report's (the receiver learns it from the share). */
export function progressBar(rt: CpRuntime, opts: CommonOptions, label: string): Bar {
  if (!wantBars(rt, opts)) return NO_BAR;
  const bar = new SingleBar(barOptions(rt), Presets.shades_classic);
  let started = false;
  let stopped = false;
  return {
    update: (p) => {
      const payload = { label, boxes: boxes(p) };
      if (!started) {
        bar.start(p.bytesTotal ?? 0, p.bytesDone, payload);
        started = true;
      } else {
        if (p.bytesTotal !== undefined) bar.setTotal(p.bytesTotal);
        bar.update(p.bytesDone, payload);
      }
    },
    stop: () => {
      if (started && !stopped) bar.stop();
      stopped = true;
    },
  };
}

/** Several bars drawn together (the demo's send and recv). */
export function multiBar(
  rt: CpRuntime,
  opts: CommonOptions,
): { add(label: string, total: number): Bar; stop(): void } {
  if (!wantBars(rt, opts)) return { add: () => NO_BAR, stop: () => undefined };
  const multi = new MultiBar(barOptions(rt), Presets.shades_classic);
  let stopped = false;
  return {
    add(label, total) {
      const bar = multi.create(total, 0, { label, boxes: '0/?' });
      return {
        update: (p) => bar.update(p.bytesDone, { label, boxes: boxes(p) }),
        stop: () => bar.stop(),
      };
    },
    stop() {
      if (!stopped) multi.stop();
      stopped = true;
    },
  };
}
