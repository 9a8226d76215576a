/**
 * Every trained and exported byte, against digests recorded before the network rewrite
 * (test/fixtures/goldenTraining/README.md): a tiny TSS run (conv, pooling and skip edges) and a
 * tiny SSS run, on the native engine, and the SSS run on wasm.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, runCli } from './helpers/cli.js';

const WANT = JSON.parse(fs.readFileSync(path.join(REPO, 'test/fixtures/goldenTraining/digests.json'), 'utf8')) as Record<string, Digest>;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mfnas-golden-train-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Digest { tensors: string; weightsBin: string; modelJson: string; onnx: string; metrics: string }

const ARCHS: Record<string, string[]> = {
  tss: ['--space', 'tss', '--arch', '|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|'],
  sss: ['--space', 'sss', '--arch', '8:16:24:16:32'],
};

/** The digests README describes, of a finished run folder. */
function digest(dir: string): Digest {
  const buf = fs.readFileSync(path.join(dir, 'checkpoint.safetensors'));
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { shape: number[]; data_offsets: [number, number] }>;
  const h = createHash('sha256');
  for (const name of Object.keys(header).filter((k) => k !== '__metadata__').sort()) {
    const e = header[name];
    h.update(`${name}|${e.shape.join('x')}|`);
    h.update(buf.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]));
  }
  const sha = (f: string) => createHash('sha256').update(fs.readFileSync(path.join(dir, f))).digest('hex');
  const metrics = fs.readFileSync(path.join(dir, 'metrics.csv'), 'utf8').trim().split('\n').map((l) => l.split(',').slice(0, 6).join(',')).join('\n');
  return { tensors: h.digest('hex'), weightsBin: sha('model/weights.bin'), modelJson: sha('model/model.json'), onnx: sha('model.onnx'), metrics };
}

describe('trained bytes unchanged since they were recorded', { timeout: 300_000 }, () => {
  for (const [space, engine] of [['tss', 'native'], ['sss', 'native'], ['sss', 'wasm']]) {
    it(`${space} on ${engine}: checkpoint tensors, exported LayersModel and ONNX, metrics`, async () => {
      const out = path.join(tmp, `${space}-${engine}`);
      const r = await runCli(['train', ...ARCHS[space], '--dataset', 'cifar10', '--epochs', '2', '--batch', '64', '--limit', '256',
        '--test-limit', '128', '--out', out, '--json'], { MFNAS_ENGINE: engine });
      expect(r.code, r.stderr).toBe(0);
      expect(digest(out)).toEqual(WANT[`${space}-${engine}`]);
    });
  }
});
