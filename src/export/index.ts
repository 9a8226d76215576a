/**
 * Export of a trained network for deployment, and prediction with the export.
 *
 * `exportModel(trained, RUN)` writes, all or nothing:
 * - RUN/model/model.json + RUN/model/weights.bin — a TensorFlow.js LayersModel (./layersModel.ts);
 * - RUN/model.onnx — the same function in ONNX, opset 13 (./onnx.ts);
 * - RUN/labels.json — the class names in label order;
 * - RUN/preprocess.json — `imageSize`, `channelOrder`, `mean`, `std`: feed RGB images resized
 *   to imageSize × imageSize as NHWC float32 pixels / 255; the models normalise with mean and
 *   std themselves.
 * Both models compute mfnas's evaluation-mode network (src/networks/model.ts) on that input.
 */
import path from 'node:path';
import type { TrainedNetwork } from '../networks/trained.js';
import { checkOutputDir, writeFilesAtomic } from '../util/atomicWrite.js';
import { exportMetadata, layersModelFiles } from './layersModel.js';
import { onnxModelBytes } from './onnx.js';
import { LABELS_JSON, MODEL_DIR, PREPROCESS_JSON } from './predict.js';

export { exportGraph, type ExportGraph, type GraphNode } from './graph.js';
export { buildLayersModel, checkWeightsCover, exportLayersModel, fileModelHandler, MODEL_JSON, WEIGHTS_BIN, type ExportMetadata } from './layersModel.js';
export { exportOnnx, onnxModelBytes, ONNX_OPSET } from './onnx.js';
export {
  predict, loadExportedModel, readLabels, readPreprocess, LABELS_JSON, PREPROCESS_JSON, MODEL_DIR,
  type PredictOptions, type Prediction, type ClassProbability,
} from './predict.js';

export const ONNX_FILE = 'model.onnx';

export interface ExportResult {
  /** The run folder. */
  readonly dir: string;
  /** Every file written, as paths under `dir`. */
  readonly files: readonly string[];
}

/**
 * Export a trained network into the run folder `runDir` (see the module comment). Throws an
 * InputError when the folder cannot be written, a DataError when the network's parameters do
 * not fit its spec.
 */
export async function exportModel(trained: TrainedNetwork, runDir: string): Promise<ExportResult> {
  checkOutputDir(runDir, 'export folder', [ONNX_FILE, LABELS_JSON, PREPROCESS_JSON]);
  const meta = exportMetadata(trained);
  const files = [
    ...(await layersModelFiles(trained, path.join(runDir, MODEL_DIR))),
    { path: path.join(runDir, ONNX_FILE), data: onnxModelBytes(trained) },
    { path: path.join(runDir, LABELS_JSON), data: JSON.stringify(meta.labels, null, 2) + '\n' },
    { path: path.join(runDir, PREPROCESS_JSON), data: JSON.stringify(meta.preprocess, null, 2) + '\n' },
  ];
  writeFilesAtomic(files);
  return { dir: runDir, files: files.map((f) => path.relative(runDir, f.path)) };
}
