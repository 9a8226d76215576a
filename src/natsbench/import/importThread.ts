/**
 * Worker-thread entry of the NATS-Bench importer, run by the shared WorkerPool
 * (src/util/workerPool.ts): summarises one record file per task (see `summarizeRecords` in
 * natsImport.ts). Only used from the compiled build.
 */
import type { SpaceName } from '../../spaces/types.js';
import { isMfnasError } from '../../util/errors.js';
import { serveWorker } from '../../util/workerPool.js';
import { summarizeRecordFile, type ArchSummary } from './record.js';

export interface WorkerTask {
  file: string;
  index: number;
  space: SpaceName;
}

serveWorker<WorkerTask, ArchSummary>((task) => {
  try {
    return summarizeRecordFile(task.file, task.space, task.index);
  } catch (e) {
    // A user error already names its file; anything else is a bug, which must say which record
    // triggered it once it has crossed the thread boundary.
    if (isMfnasError(e) || !(e instanceof Error)) throw e;
    const bug = new Error(`${task.file}: ${e.message}`);
    bug.stack = e.stack;
    throw bug;
  }
});
