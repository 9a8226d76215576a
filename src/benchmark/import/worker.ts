/**
 * Worker-thread entry of the NATS-Bench importer: summarises record files sent by the main
 * thread (see `summarizeRecords` in nats-import.ts). Only used from the compiled build.
 */
import { parentPort } from 'node:worker_threads';
import type { SpaceName } from '../../spaces/types.js';
import { DataError, InputError } from '../../util/errors.js';
import { summarizeRecordFile, type ArchSummary } from './record.js';

export interface WorkerTask {
  id: number;
  file: string;
  index: number;
  space: SpaceName;
}

export type WorkerReply =
  | { id: number; ok: true; summary: ArchSummary }
  | { id: number; ok: false; kind: 'data' | 'input' | 'bug'; message: string; stack?: string };

parentPort?.on('message', (task: WorkerTask) => {
  let reply: WorkerReply;
  try {
    const summary = summarizeRecordFile(task.file, task.space, task.index);
    reply = { id: task.id, ok: true, summary };
  } catch (e) {
    const err = e as Error;
    const kind = e instanceof DataError ? 'data' : e instanceof InputError ? 'input' : 'bug';
    reply = { id: task.id, ok: false, kind, message: kind === 'bug' ? `${task.file}: ${err.message}` : err.message, stack: err.stack };
  }
  parentPort!.postMessage(reply);
});
