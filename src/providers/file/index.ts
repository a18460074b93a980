export { FileProvider, MAX_FILE_BYTES, type FileProviderOptions, type FileSnapshot } from './file-provider.js';
export { parseConfigText, formatOf, type ConfigFormat, type ParsedFile } from '../../config/parse-documents.js';
