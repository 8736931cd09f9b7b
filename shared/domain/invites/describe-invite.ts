import type { Deps } from '../../deps.ts';
import { NotFoundError } from '../../errors.ts';
import { CODE_PATTERN } from '../../ids.ts';
import { findInviteCode } from '../../store/invites.ts';
import { maskName } from '../mask.ts';
import type { InviteDescription } from './invite.schema.ts';
import { normalCode } from './invite-rules.ts';

/** The public view of an invite code: the campaign and the inviter's masked name, never a user id. */
export async function describeInvite(deps: Pick<Deps, 'store'>, typed: string): Promise<InviteDescription> {
  const code = normalCode(typed);
  const invite = CODE_PATTERN.test(code) ? await findInviteCode(deps.store, code) : undefined;
  if (!invite) throw new NotFoundError('invite code');
  const displayName = maskName(invite.inviterName);
  return { code: invite.code, campaignId: invite.campaignId, inviter: displayName ? { displayName } : {} };
}
