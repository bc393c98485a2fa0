import type { AuthRequest__Output } from '../generated/keelpb/AuthRequest';
import type { Permission } from '../generated/authpb/Permission';
import { Engine, EngineOp } from '../storage/engine';
import { metaKey } from '../storage/keyspace';
import type { TokenProvider } from './auth-tokens';
import { ServerError } from './errors';
import { covers, KeyInterval, keyInterval } from './key-interval';

export type PermType = 'READ' | 'WRITE' | 'READWRITE';

interface User {
  /** The scrypt hash (password.ts); empty for a user added with no password (certificate only). */
  password: string;
  roles: string[];
}

interface StoredPermission {
  permType: PermType;
  key: Buffer;
  rangeEnd: Buffer;
}

/** The JSON record under metaKey('auth'); keys of permissions in base64. */
interface StoredAuth {
  enabled: boolean;
  revision: number;
  users: Array<{ name: string; password: string; roles: string[] }>;
  roles: Array<{ name: string; perms: Array<{ permType: PermType; key: string; rangeEnd: string }> }>;
}

const ROOT = 'root';

/** What the auth record holds before anything was ever configured (and what a snapshot sends then). */
export const EMPTY_AUTH = Buffer.from(JSON.stringify({ enabled: false, revision: 1, users: [], roles: [] } satisfies StoredAuth));

/**
 * etcd's auth store: whether auth is on, users (with password hashes) and roles (with key-range
 * permissions), and the auth revision that every change raises. Changed only by applying Auth
 * requests from the log, persisted in the same batch; tokens are kept beside it in memory.
 */
export class AuthStore {
  private enabled = false;
  private revision = 1;
  private users = new Map<string, User>();
  private roles = new Map<string, StoredPermission[]>();

  constructor(readonly tokens: TokenProvider) {}

  /** Reads the auth record of the data dir (again, after a snapshot replaced the state). */
  async load(engine: Engine): Promise<void> {
    const stored = JSON.parse(((await engine.get(metaKey('auth'))) ?? EMPTY_AUTH).toString('utf8')) as StoredAuth;
    this.enabled = stored.enabled;
    this.revision = stored.revision;
    this.users = new Map(stored.users.map((u) => [u.name, { password: u.password, roles: u.roles }]));
    this.roles = new Map(stored.roles.map((r) => [r.name, r.perms.map((p) => ({
      permType: p.permType, key: Buffer.from(p.key, 'base64'), rangeEnd: Buffer.from(p.rangeEnd, 'base64'),
    }))]));
    this.tokens.clear();
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  /** Raised by every change of users, roles, permissions or enablement. */
  get currentRevision(): number {
    return this.revision;
  }

  /**
   * Whether a request checked at auth revision `checkedAt` (0: not checked) may still be applied:
   * not if auth changed in between, since the check may no longer hold. Revisions start at 1, so
   * a write checked while auth was off is refused once auth is on.
   */
  stillPermits(checkedAt: number): boolean {
    return !this.enabled || checkedAt === 0 || checkedAt >= this.revision;
  }

  /** The password hash of a user, undefined for an unknown one. */
  passwordOf(name: string): string | undefined {
    return this.users.get(name)?.password;
  }

  hasUser(name: string): boolean {
    return this.users.has(name);
  }

  /** Whether the user holds the role (the root role included). */
  hasRole(user: string, role: string): boolean {
    return this.users.get(user)?.roles.includes(role) ?? false;
  }

  isAdmin(user: string): boolean {
    return this.hasRole(user, ROOT);
  }

  /**
   * Whether the user may read (or write) every key of [key, rangeEnd), with etcd's range
   * conventions: an empty rangeEnd is the key alone, "\0" everything from the key on.
   */
  isPermitted(user: string, key: Buffer, rangeEnd: Buffer, access: 'read' | 'write'): boolean {
    const u = this.users.get(user);
    if (u === undefined) return false;
    if (u.roles.includes(ROOT)) return true;
    const granted: KeyInterval[] = [];
    for (const role of u.roles) {
      for (const p of this.roles.get(role) ?? []) {
        if (p.permType === 'READWRITE' || p.permType === (access === 'read' ? 'READ' : 'WRITE')) granted.push(keyInterval(p.key, p.rangeEnd));
      }
    }
    return covers(granted, keyInterval(key, rangeEnd));
  }

  /** Applies one Auth request, as etcd's auth store does; refusals throw ServerError. */
  apply(req: AuthRequest__Output, batch: EngineOp[]): object {
    switch (req.request) {
      case 'enable': {
        if (this.enabled) return {};
        const root = this.users.get(ROOT);
        if (root === undefined) throw new ServerError('root-user-not-exist');
        if (!root.roles.includes(ROOT)) throw new ServerError('root-role-not-exist');
        this.enabled = true;
        this.tokens.clear();
        return this.changed(batch);
      }
      case 'disable':
        if (!this.enabled) return {};
        this.enabled = false;
        this.tokens.clear();
        return this.changed(batch);
      case 'status':
        return { enabled: this.enabled, authRevision: String(this.revision) };
      case 'authenticate': {
        const { name, simple_token, auth_revision } = req.authenticate!;
        if (!this.users.has(name)) throw new ServerError('auth-failed');
        const checkedAt = Number(auth_revision);
        if (checkedAt !== 0 && checkedAt < this.revision) throw new ServerError('auth-old-revision');
        this.tokens.assign(simple_token, name);
        return { token: simple_token };
      }
      case 'user_add': {
        const { name, hashedPassword, options } = req.user_add!;
        if (name === '') throw new ServerError('user-empty');
        if (this.users.has(name)) throw new ServerError('user-already-exist');
        this.users.set(name, { password: options?.no_password ? '' : hashedPassword, roles: [] });
        return this.changed(batch);
      }
      case 'user_get':
        return { roles: [...this.user(req.user_get!.name).roles] };
      case 'user_list':
        return { users: [...this.users.keys()].sort() };
      case 'user_delete': {
        const { name } = req.user_delete!;
        if (this.enabled && name === ROOT) throw new ServerError('invalid-auth-mgmt');
        this.user(name);
        this.users.delete(name);
        this.tokens.invalidateUser(name);
        return this.changed(batch);
      }
      case 'user_change_password': {
        const { name, hashedPassword } = req.user_change_password!;
        const u = this.user(name);
        // As etcd's: a user added with no password stays one (it keeps its options), a new password notwithstanding.
        if (u.password !== '') u.password = hashedPassword;
        this.tokens.invalidateUser(name);
        return this.changed(batch);
      }
      case 'user_grant_role': {
        const { user, role } = req.user_grant_role!;
        const u = this.user(user);
        // The root role needs no RoleAdd, as in etcd.
        if (role !== ROOT && !this.roles.has(role)) throw new ServerError('role-not-found');
        if (u.roles.includes(role)) return {};
        u.roles = [...u.roles, role].sort();
        return this.changed(batch);
      }
      case 'user_revoke_role': {
        const { name, role } = req.user_revoke_role!;
        if (this.enabled && name === ROOT && role === ROOT) throw new ServerError('invalid-auth-mgmt');
        const u = this.user(name);
        if (!u.roles.includes(role)) throw new ServerError('role-not-granted');
        u.roles = u.roles.filter((r) => r !== role);
        return this.changed(batch);
      }
      case 'role_add': {
        const { name } = req.role_add!;
        if (name === '') throw new ServerError('role-empty');
        if (this.roles.has(name)) throw new ServerError('role-already-exist');
        this.roles.set(name, []);
        return this.changed(batch);
      }
      case 'role_get':
        return { perm: this.role(req.role_get!.role).map(toPermission) };
      case 'role_list':
        return { roles: [...this.roles.keys()].sort() };
      case 'role_delete': {
        const { role } = req.role_delete!;
        if (this.enabled && role === ROOT) throw new ServerError('invalid-auth-mgmt');
        this.role(role);
        this.roles.delete(role);
        for (const u of this.users.values()) u.roles = u.roles.filter((r) => r !== role);
        return this.changed(batch);
      }
      case 'role_grant_permission': {
        const { name, perm } = req.role_grant_permission!;
        const perms = this.role(name);
        const granted: StoredPermission = { permType: perm!.permType as PermType, key: Buffer.from(perm!.key), rangeEnd: Buffer.from(perm!.range_end) };
        // The same key range granted again takes the new type, in its place; a new one is ordered by
        // its key only, after those with the same key (etcd's order, which RoleGet shows).
        const same = perms.findIndex((p) => p.key.equals(granted.key) && p.rangeEnd.equals(granted.rangeEnd));
        const updated = same >= 0 ? perms.map((p, i) => (i === same ? granted : p)) : [...perms, granted].sort((a, b) => Buffer.compare(a.key, b.key));
        this.roles.set(name, updated);
        return this.changed(batch);
      }
      case 'role_revoke_permission': {
        const { role, key, range_end } = req.role_revoke_permission!;
        const perms = this.role(role);
        const kept = perms.filter((p) => !(p.key.equals(Buffer.from(key)) && p.rangeEnd.equals(Buffer.from(range_end))));
        if (kept.length === perms.length) throw new ServerError('permission-not-granted');
        this.roles.set(role, kept);
        return this.changed(batch);
      }
      default:
        throw new Error(`auth request without a request: ${JSON.stringify(req)}`);
    }
  }

  private user(name: string): User {
    const u = this.users.get(name);
    if (u === undefined) throw new ServerError('user-not-found');
    return u;
  }

  private role(name: string): StoredPermission[] {
    const perms = this.roles.get(name);
    if (perms === undefined) throw new ServerError('role-not-found');
    return perms;
  }

  /** Every change raises the revision, which tokens and permission checks are measured against. */
  private changed(batch: EngineOp[]): object {
    this.revision++;
    const stored: StoredAuth = {
      enabled: this.enabled,
      revision: this.revision,
      users: [...this.users].sort(([a], [b]) => byName(a, b)).map(([name, u]) => ({ name, password: u.password, roles: u.roles })),
      roles: [...this.roles].sort(([a], [b]) => byName(a, b)).map(([name, perms]) => ({
        name, perms: perms.map((p) => ({ permType: p.permType, key: p.key.toString('base64'), rangeEnd: p.rangeEnd.toString('base64') })),
      })),
    };
    batch.push({ type: 'put', key: metaKey('auth'), value: Buffer.from(JSON.stringify(stored)) });
    return {};
  }
}

function toPermission(p: StoredPermission): Permission {
  return { permType: p.permType, key: p.key, range_end: p.rangeEnd };
}

/** Code-unit order, the same on every member whatever its locale. */
function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
