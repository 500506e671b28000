// The role names alone, so that the CLI can list and check them without loading the roles.
export const ROLE_NAMES = ['encoder', 'query', 'reindex', 'watch', 'gateway'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

export function isRoleName(name: string): name is RoleName {
  return (ROLE_NAMES as readonly string[]).includes(name);
}
