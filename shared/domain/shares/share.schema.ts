import { z } from 'zod';
import { normalCode } from '../invites/invite-rules.ts';
import { SHARE_OBJECT_TYPES } from '../links/link.schema.ts';
import { textSchema } from '../text.ts';

const objectId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,128}$/, 'letters, digits, _ and - only (1–128)')
  .describe('Id of the shared object (chain id, group id, invite code in any letter case, product id)');

/** An invite code is taken in any letter case, as `GET /v1/invites/{code}` takes it: the share keeps its stored form. */
const canonical = <T extends { objectType: string; objectId: string }>(v: T): T =>
  v.objectType === 'invite' ? { ...v, objectId: normalCode(v.objectId) } : v;

/** `POST /v1/shares`. */
export const createShareSchema = z
  .strictObject({
    objectType: z.enum(SHARE_OBJECT_TYPES),
    objectId,
    channel: textSchema(64).describe('Where it is shared: wechat_friend, moments, …'),
  })
  .transform(canonical);
export type CreateShareInput = z.output<typeof createShareSchema>;

/** `GET /v1/shares/stats?objectType=&objectId=`. */
export const shareStatsQuerySchema = z
  .object({ objectType: z.enum(SHARE_OBJECT_TYPES), objectId })
  .transform(canonical);

/** A share as stored beside its object's stats. */
export interface Share {
  shareId: string;
  ownerId: string;
  objectType: (typeof SHARE_OBJECT_TYPES)[number];
  objectId: string;
  channel: string;
  code: string;
  createdAt: string;
}
