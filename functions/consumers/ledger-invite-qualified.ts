import { createDeps } from '#shared/deps';
import { settleInvite } from '#shared/domain/ledger/settle-invite';
import { defineConsumer, lambdaConsumer } from '#shared/events/consumer';
import { loadSecrets } from '#shared/secrets';

/** InviteQualified → inviter and invitee reward entries, exactly once per invite. */
export const ledgerInviteQualifiedConsumer = defineConsumer(
  'ledger-invite-qualified',
  ['InviteQualified'],
  async (event, deps) => {
    await settleInvite(deps, event.detail);
  },
);

const deps = createDeps({ env: await loadSecrets() });
export const handler = lambdaConsumer(ledgerInviteQualifiedConsumer, async () => deps);
