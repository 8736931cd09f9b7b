import { createDeps } from '#shared/deps';
import { countShareConversion } from '#shared/domain/shares/count-share-conversion';
import { defineConsumer, lambdaConsumer } from '#shared/events/consumer';
import { loadSecrets } from '#shared/secrets';

/** Counts a help, join or invite acceptance that came through a share link as that share's conversion. */
export const sharesConversionsConsumer = defineConsumer(
  'shares-conversions',
  ['BargainHelped', 'GroupBuyJoined', 'InviteAccepted'],
  async (event, deps) => {
    const d = event.detail;
    if (!d.via) return;
    const atMs = Date.parse(d.occurredAt);
    if ('helperId' in d)
      await countShareConversion(deps, {
        actorId: d.helperId,
        objectType: 'bargain',
        objectIds: [d.chainId],
        via: d.via,
        atMs,
      });
    else if ('inviteeId' in d)
      await countShareConversion(deps, {
        actorId: d.inviteeId,
        objectType: 'invite',
        objectIds: [d.code, d.inviteId, d.campaignId],
        via: d.via,
        atMs,
      });
    else
      await countShareConversion(deps, {
        actorId: d.userId,
        objectType: 'group_buy',
        objectIds: [d.groupId],
        via: d.via,
        atMs,
      });
  },
);

const deps = createDeps({ env: await loadSecrets() });
export const handler = lambdaConsumer(sharesConversionsConsumer, async () => deps);
