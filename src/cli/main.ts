#!/usr/bin/env node
// The `mfnas` executable. All behaviour lives in program.ts so that it can be imported and tested.
import { runCli } from './program.js';

runCli(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e) => {
    process.stderr.write(`mfnas: internal error: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 1;
  },
);
