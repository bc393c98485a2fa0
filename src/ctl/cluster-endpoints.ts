import type { CtlContext } from './context';
import { CtlError, errorText, ExitCode } from './exit';

/**
 * The endpoints to visit: --endpoints, or with --cluster every member's client URLs. As etcdctl's
 * endpointsFromCluster, the member list is fetched without logging in (MemberList needs no token).
 */
export async function targetEndpoints(ctx: CtlContext, cluster: boolean): Promise<string[]> {
  if (!cluster) return ctx.globals.endpoints;
  try {
    const members = await (await ctx.client({ logIn: false })).memberList();
    return members.members.flatMap((m) => m.clientURLs);
  } catch (err) {
    if (err instanceof CtlError) throw err;
    throw new CtlError(ExitCode.Error, `failed to fetch endpoints from etcd cluster member list: ${errorText(err)}`);
  }
}
