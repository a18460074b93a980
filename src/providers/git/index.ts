export { GitProvider, type GitProviderOptions } from './git-provider.js';
export { gitOptionsFromStatic, type GitProviderConfig, type GitStaticSection } from './options.js';
