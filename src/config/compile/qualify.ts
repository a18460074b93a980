/**
 * Provider-qualified names (`name@provider`), Traefik's
 * `provider.GetQualifiedName`: one definition for the compiler and the build.
 */

/** `name` as seen from `provider`: unchanged when it already names a provider. */
export function qualify(name: string, provider: string): string {
  return name.includes('@') ? name : `${name}@${provider}`;
}

/** The provider part of a qualified name (`''` for a name without `@`). */
export function providerOf(qualified: string): string {
  const at = qualified.lastIndexOf('@');
  return at < 0 ? '' : qualified.slice(at + 1);
}
