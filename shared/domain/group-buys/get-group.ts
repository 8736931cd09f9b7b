import type { Deps } from '../../deps.ts';
import { NotFoundError } from '../../errors.ts';
import { findGroup } from '../../store/group-buys.ts';
import type { GroupPage } from './group-buy.schema.ts';
import { pageOf } from './group-rules.ts';

/** The group page: status as of now (failed or formed at once past `expiresAt`), members with masked names only. */
export async function getGroup(deps: Deps, input: { groupId: string; viewerId: string }): Promise<GroupPage> {
  const g = await findGroup(deps.store, input.groupId);
  if (!g) throw new NotFoundError('group buy');
  return pageOf(g, deps.clock.now(), deps.config.h5BaseUrl, input.viewerId);
}
