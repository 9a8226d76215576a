#!/usr/bin/env node
// Builds the optional oneDNN kernel addon (addon/build/Release/mfnas_native.node).
//
//   node addon/build.mjs            build; on failure print one line and exit 0
//   node addon/build.mjs --strict   same, but exit 1 on failure
//   node addon/build.mjs --verbose  stream node-gyp's output
//
// Needs g++, Node's headers (bundled with the distro's nodejs under
// <prefix>/include/node, or downloadable by node-gyp) and oneDNN
// (Debian/Ubuntu: `apt-get install libdnnl-dev`). Set MFNAS_DNNL_INCLUDE /
// MFNAS_DNNL_LIB for a oneDNN installed elsewhere. The whole log goes to
// addon/build-log.txt.
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = new Set(process.argv.slice(2));
const strict = args.has('--strict');
const verbose = args.has('--verbose');
const logPath = join(here, 'build-log.txt');

function fail(reason, log = '') {
  writeFileSync(logPath, `${reason}\n\n${log}`);
  console.warn(`mfnas: native kernels not built (${reason}); the tfjs-wasm path will be used. Log: ${logPath}`);
  process.exit(strict ? 1 : 0);
}

function findHeader() {
  const dirs = [process.env.MFNAS_DNNL_INCLUDE, '/usr/include', '/usr/local/include', '/opt/homebrew/include'];
  return dirs.some((d) => d && existsSync(join(d, 'oneapi', 'dnnl', 'dnnl.hpp')));
}

function findNodeGyp() {
  const candidates = [];
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not a project dependency
  }
  const prefix = dirname(dirname(process.execPath));
  candidates.push(join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  const which = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) {
    try {
      const npmBin = realpathSync(which.stdout.trim()); // .../npm/bin/npm-cli.js
      candidates.push(join(dirname(dirname(npmBin)), 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
    } catch {
      // ignore
    }
  }
  if (process.env.npm_config_node_gyp) candidates.unshift(process.env.npm_config_node_gyp);
  return candidates.find((c) => existsSync(c));
}

if (!findHeader()) fail('oneDNN headers not found: install libdnnl-dev (apt-get install libdnnl-dev)');
const nodeGyp = findNodeGyp();
if (!nodeGyp) fail('node-gyp not found (it ships with npm)');

const gypArgs = [nodeGyp, 'rebuild', '--jobs=max'];
// Use the headers installed next to this node binary (distro packages ship
// them) so that no download is needed; an explicit npm_config_nodedir wins.
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) {
  gypArgs.push(`--nodedir=${prefix}`);
}

const res = spawnSync(process.execPath, gypArgs, {
  cwd: here,
  encoding: 'utf8',
  stdio: verbose ? 'inherit' : 'pipe',
  env: process.env,
});
const log = `${res.stdout ?? ''}\n${res.stderr ?? ''}`;
if (res.error) fail(`node-gyp could not run: ${res.error.message}`, log);
if (res.status !== 0) {
  const lines = log.split('\n').filter((l) => /error|fatal/i.test(l) && !/gyp ERR! (cwd|node -v|node-gyp -v|System|command|not ok)/.test(l));
  fail(`compilation failed: ${(lines[0] ?? `node-gyp exited with ${res.status}`).trim().slice(0, 200)}`, log);
}

const addonPath = join(here, 'build', 'Release', 'mfnas_native.node');
try {
  const addon = createRequire(import.meta.url)(addonPath);
  writeFileSync(logPath, log);
  console.log(`mfnas: native kernels built (oneDNN ${addon.dnnlVersion}): ${addonPath}`);
} catch (err) {
  fail(`built but failed to load: ${String(err?.message ?? err).split('\n')[0]}`, log);
}
