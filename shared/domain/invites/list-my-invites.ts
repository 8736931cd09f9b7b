import type { Deps } from '../../deps.ts';
import { listBindingsOfInviter } from '../../store/invites.ts';
import type { Page } from '../../store/store.ts';
import type { MyInvite } from './invite.schema.ts';

/** The caller's invitees in a campaign, newest first. */
export async function listMyInvites(
  deps: Pick<Deps, 'store'>,
  input: { inviterId: string; campaignId: string; limit: number; cursor?: string },
): Promise<Page<MyInvite>> {
  const page = await listBindingsOfInviter(deps.store, input.campaignId, input.inviterId, input);
  return {
    items: page.items.map((b) => ({
      inviteId: b.inviteId,
      inviteeId: b.inviteeId,
      status: b.status,
      acceptedAt: b.acceptedAt,
      ...(b.qualifiedAt ? { qualifiedAt: b.qualifiedAt } : {}),
      rewarded: b.rewarded,
      held: b.held,
      ...(b.heldFor ? { heldFor: b.heldFor } : {}),
    })),
    nextCursor: page.nextCursor,
  };
}
