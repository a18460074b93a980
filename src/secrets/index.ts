export { SecretStore, SECRETS_PROVIDER, type SecretStatus } from './store.js';
export { KeyVaultClient, KeyVaultError, type VaultSecret } from './keyvault-client.js';
export { secretsOptionsFromStatic, type SecretsOptions, type AzureKeyVaultOptions } from './options.js';
