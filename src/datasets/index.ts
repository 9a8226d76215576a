export * from './registry.js';
export * from './dataDir.js';
export * from './imageSet.js';
export * from './batches.js';
export * from './transforms.js';
export { loadCifar, readCifarFile, parseCifarRecords, cifarFiles, CIFAR_IMAGE_BYTES } from './cifar.js';
export { loadImageNet16, parseImageNet16Pickle, filterClasses, imageNet16Files } from './imagenet16.js';
export { unpickle, NdArray, NpDtype } from './pickle.js';
export * from './resolve.js';
export {
  openImageFolder, loadFolderSplit, checkImageSize, channelStats, decodeImage, decodeImageBytes, scanImageFolder,
  DEFAULT_IMAGE_SIZE, IMAGE_EXTENSIONS, DECODER_ID, type ImageFolderOptions,
} from './imageFolder/index.js';
