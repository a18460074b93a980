export { FileProvider, type FileProviderOptions } from './file-provider.js';
export { FileSource, MAX_FILE_BYTES, type FileSourceOptions, type FileDocuments } from './file-source.js';
export { parseConfigText, formatOf, type ConfigFormat, type ParsedFile } from '../../config/parse-documents.js';
