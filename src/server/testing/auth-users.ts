import type { AuthRequest } from '../../generated/keelpb/AuthRequest';

/**
 * Auth requests that set up user root (password r, root role) and user w (password w), who may
 * read and write [k, l) through role writer; auth is left off.
 */
export const ROOT_AND_WRITER: AuthRequest[] = [
  { user_add: { name: 'root', password: 'r' } }, { role_add: { name: 'root' } }, { user_grant_role: { user: 'root', role: 'root' } },
  { user_add: { name: 'w', password: 'w' } }, { role_add: { name: 'writer' } },
  { role_grant_permission: { name: 'writer', perm: { permType: 'READWRITE', key: Buffer.from('k'), range_end: Buffer.from('l') } } },
  { user_grant_role: { user: 'w', role: 'writer' } },
];
