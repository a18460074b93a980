export { KubernetesProvider, type KubernetesProviderOptions } from './kubernetes-provider.js';
export { kubernetesOptionsFromStatic, type KubernetesProviderConfig } from './options.js';
