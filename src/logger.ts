/**
 * The logger option: any pino-compatible object. The client logs link changes, redials, protocol
 * errors and contained actor failures; it never passes key material, payloads or capabilities.
 */
export type LogFn = (fields: Record<string, unknown>, message?: string) => void;

export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

const ignore: LogFn = () => {};

export const silentLogger: Logger = { debug: ignore, info: ignore, warn: ignore, error: ignore };

/** A logger whose failures never reach the client. */
export function safeLogger(logger: Logger | undefined): Logger {
  if (!logger) return silentLogger;
  const wrap =
    (level: keyof Logger): LogFn =>
    (fields, message) => {
      try {
        logger[level](fields, message);
      } catch {
        // A broken logger must not break the client.
      }
    };
  return { debug: wrap('debug'), info: wrap('info'), warn: wrap('warn'), error: wrap('error') };
}
