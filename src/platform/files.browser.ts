/** The browser twin of files.ts: a page has no file system to read thinclient.toml from. */
export async function readTextFile(_path: string): Promise<string> {
  throw new Error('a browser has no file system: pass the text of thinclient.toml to parseConfig');
}
