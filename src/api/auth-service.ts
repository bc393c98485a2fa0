import type { AuthHandlers } from '../generated/etcdserverpb/Auth';
import type { AuthenticateRequest__Output } from '../generated/etcdserverpb/AuthenticateRequest';
import type { AuthenticateResponse } from '../generated/etcdserverpb/AuthenticateResponse';
import type { AuthRequest } from '../generated/keelpb/AuthRequest';
import type { ResponseHeader } from '../generated/etcdserverpb/ResponseHeader';
import { KeelServer } from '../server/keel-server';
import { Logger } from '../util/logger';
import { unary, withHeader } from './handler';

/**
 * etcdserverpb.Auth. Every call but Authenticate is one request through the log, so users and
 * roles change (and read) the same on every member; Authenticate checks the password on this
 * member first. Who may call what is auth-guard.ts's business.
 */
export function authService(server: KeelServer, log: Logger): AuthHandlers {
  /** A handler that proposes the request under its name in keelpb.AuthRequest. */
  const through = (name: keyof AuthRequest) => unary(log, async (req: object) =>
    withHeader(server, (await server.authRequest({ [name]: req })) as { header?: ResponseHeader | null }));
  return {
    AuthEnable: through('enable'),
    AuthDisable: through('disable'),
    AuthStatus: through('status'),
    Authenticate: unary(log, async (req: AuthenticateRequest__Output) =>
      withHeader<AuthenticateResponse>(server, await server.authenticate(req.name, req.password))),
    UserAdd: through('user_add'),
    UserGet: through('user_get'),
    UserList: through('user_list'),
    UserDelete: through('user_delete'),
    UserChangePassword: through('user_change_password'),
    UserGrantRole: through('user_grant_role'),
    UserRevokeRole: through('user_revoke_role'),
    RoleAdd: through('role_add'),
    RoleGet: through('role_get'),
    RoleList: through('role_list'),
    RoleDelete: through('role_delete'),
    RoleGrantPermission: through('role_grant_permission'),
    RoleRevokePermission: through('role_revoke_permission'),
  };
}
