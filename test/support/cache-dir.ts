/**
 * @module
 * Where built and installed test tools are cached, outside the checkout and keyed by version, so a
 * fresh clone (what CI runs) reuses them: `${XDG_CACHE_HOME:-$HOME/.cache}/cloud-egress/<tool>-<version>/`.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The cache root for this project's test tools. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return join(env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'cloud-egress');
}

/** The cache folder of one tool at one version. */
export function toolCacheDir(tool: string, version: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheRoot(env), `${tool}-${version}`);
}
