// The commander definition of `cp`, `cp send` and `cp recv`: arguments, options, help text.
import { type Command, Option } from 'commander';
import { type CommonOptions, milliseconds, seconds } from './options.js';
import { runDemo } from './runDemo.js';
import { runRecv, runSend } from './runSendRecv.js';
import { type CpRuntime, defaultCpRuntime } from './runtime.js';

/**
 * Adds `cp` (with `send` and `recv`) to a commander program. `runtime` defaults to the real ThinClient
 * and embedded devnet.
 */
export function registerCpCommand(
  program: Command,
  runtime?: CpRuntime | (() => Promise<CpRuntime>),
): Command {
  const getRuntime = async (): Promise<CpRuntime> =>
    typeof runtime === 'function' ? runtime() : (runtime ?? defaultCpRuntime());

  const cp = program
    .command('cp')
    .description(
      'copy a file over a Pigeonhole channel: `cp FILE OUT` (demo, embedded devnet), `cp send FILE`, `cp recv SHARE OUT`',
    )
    .argument('[file]', 'file to send (demo mode)')
    .argument('[out]', 'where to write the received copy (demo mode)')
    .option(
      '-c, --config <thinclient.toml>',
      'daemon to use (send/recv default: localhost:64331; demo default: embedded devnet)',
    )
    .option(
      '--state <file.db>',
      'keep channel state in this SQLite file, so an interrupted run can be resumed',
    )
    .addOption(
      new Option('--timeout <seconds>', 'give up when a box stays unwritten this long')
        .argParser(seconds)
        .default(120),
    )
    .addOption(
      new Option('--poll <ms>', 'delay between reads of a box not written yet').argParser(milliseconds),
    )
    .option('-f, --force', 'replace OUT if it exists')
    .option('-q, --quiet', 'no progress bar')
    .configureHelp({ showGlobalOptions: true })
    .addHelpText(
      'after',
      `
Examples:
  pigeonhole cp photo.jpg copy.jpg                      both ends here, on an embedded devnet
  pigeonhole cp send photo.jpg -c thinclient.toml       prints SHARE (read cap, first index, length)
  pigeonhole cp recv SHARE copy.jpg -c thinclient.toml  on the other side
  pigeonhole cp send big.iso --state cp.db              re-run the same command to resume`,
    )
    .action(async (file: string | undefined, out: string | undefined, _opts: unknown, cmd: Command) => {
      if (!file || !out) {
        cmd.help({ error: true });
        return;
      }
      const opts = cmd.opts<CommonOptions>();
      await runDemo(await getRuntime(), file, out, opts);
    });

  cp.command('send')
    .description('send FILE on a channel of its own and print the share string the receiver needs')
    .configureHelp({ showGlobalOptions: true })
    .argument('<file>', 'file to send')
    .action(async (file: string, _opts: unknown, cmd: Command) => {
      await runSend(await getRuntime(), file, cmd.optsWithGlobals<CommonOptions>());
    });

  cp.command('recv')
    .alias('receive')
    .description('receive the file SHARE points at into OUT')
    .configureHelp({ showGlobalOptions: true })
    .argument('<share>', 'the string `cp send` printed')
    .argument('<out>', 'file to write')
    .action(async (share: string, out: string, _opts: unknown, cmd: Command) => {
      await runRecv(await getRuntime(), share, out, cmd.optsWithGlobals<CommonOptions>());
    });

  return cp;
}
