import { ConflictError } from '../../errors.ts';
import type { InviteBinding, InviteCode } from './invite.schema.ts';

/** The user already has a code in this campaign (another request won the race): `existing` is it. */
export class InviterHasCodeError extends Error {
  constructor(readonly existing: InviteCode) {
    super('The inviter already has a code in this campaign.');
  }
}

/** A freshly drawn code is already taken: draw another. */
export class InviteCodeTakenError extends Error {}

/** The invitee had a paid order before this accept: not a new user. */
export class ExistingCustomerError extends Error {}

/** The inviter is bound as the invitee's own invitee in this campaign: a mutual invite. */
export class MutualInviteError extends Error {}

/** The inviter's rewarded slots in this campaign are used up. */
export class RewardCapReachedError extends Error {}

/** The binding is no longer pending: another delivery qualified it already. */
export class BindingNotPendingError extends Error {}

/** 409 `already_invited`: the invitee is bound in this campaign already; `binding` is that binding. */
export class AlreadyInvitedError extends ConflictError {
  constructor(readonly binding: InviteBinding | undefined) {
    super('already_invited', 'You already accepted an invite in this campaign.');
  }
}
