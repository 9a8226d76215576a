/**
 * The NAS-Bench-Macro search space (`macro`): 6,561 MobileNetV2-style networks, 8 searchable
 * layers (./arch.ts), the authors' network (./network.ts). Indices are arithmetic (base 3);
 * 3,969 classes of functionally identical networks. Its table (CIFAR-10 accuracies) is read by
 * src/natsbench and found through `tableOf('macro')`.
 */
import { arithmeticIndex, completeSpace } from '../complete.js';
import { type SpaceDefinition, type SpaceDescription } from '../types.js';
import {
  checkMacroArch, crossoverMacroArch, formatMacroArch, macroCanonical, macroFromIndex, macroIndexOf, macroRepresentative,
  MACRO_SIZE, mutateMacroArch, parseMacroArch, sampleMacroArch, type MacroArch,
} from './arch.js';
import { macroDrawing } from './drawing.js';
import { macroNetworkSpec } from './network.js';

export * from './arch.js';
export * from './network.js';

export const macroDescription: SpaceDescription<MacroArch> = {
  name: 'macro',
  aliases: ['nas-bench-macro'],
  parse: parseMacroArch,
  format: formatMacroArch,
  validate: checkMacroArch,
  canonical: macroCanonical,
  representative: macroRepresentative,
  ...arithmeticIndex('macro', MACRO_SIZE, macroIndexOf, macroFromIndex),
  sample: sampleMacroArch,
  mutate: mutateMacroArch,
  crossover: crossoverMacroArch,
  networkSpec: (arch, dataset) => macroNetworkSpec(arch, dataset),
  drawing: macroDrawing,
  // The recipe its table was trained with (issue 23; src/train/recipe.ts).
  trainingRecipe: 'nas-bench-macro',
};

export const macro: SpaceDefinition<MacroArch> = completeSpace(macroDescription);
