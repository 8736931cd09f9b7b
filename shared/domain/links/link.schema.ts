import { z } from 'zod';
import { textSchema } from '../text.ts';

/** Attribution window used when a link has no commission campaign: 7 days. */
export const DEFAULT_WINDOW_SECONDS = 7 * 24 * 3600;

/** `POST /v1/links`. */
export const createLinkSchema = z.strictObject({
  targetUrl: z
    .string()
    .min(1)
    .max(2048)
    .describe('https URL (http only for localhost) on a host in ALLOWED_REDIRECT_HOSTS, without user:password'),
  campaignId: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .describe('A commission campaign earns commission on attributed orders; any other campaign only tracks clicks'),
  channel: textSchema(64).optional().describe('Free label of where the link is posted'),
});
export type CreateLinkInput = z.output<typeof createLinkSchema>;

export const SHARE_OBJECT_TYPES = ['bargain', 'group_buy', 'invite', 'product'] as const;
export type ShareObjectType = (typeof SHARE_OBJECT_TYPES)[number];

/** A short link as stored. Links never change after creation (so they may be cached). */
export interface Link {
  code: string;
  /** `kol`: a promotion link (KOL stats, commission); `share`: a user's tracked share of an object. */
  kind: 'kol' | 'share';
  ownerId: string;
  targetUrl: string;
  campaignId?: string;
  /** True when `campaignId` names a commission campaign. */
  commission: boolean;
  channel?: string;
  /** How long a click (and its attribution token) stays valid for attribution. */
  windowSeconds: number;
  createdAt: string;
  /** Keyed hashes of the owner's device id and visitor id at creation, to hold self-referred orders. */
  ownerDeviceHash?: string;
  ownerVisitorId?: string;
  shareId?: string;
  objectType?: ShareObjectType;
  objectId?: string;
}

/** A link's click totals (sum of its counter shards). */
export interface LinkCounts {
  clicks: number;
  uniqueClicks: number;
  /** Visitors whose first click on the owner's shares of the object was on this link (share links only). */
  newVisitors: number;
}
