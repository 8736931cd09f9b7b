import { createRoute, z } from '@hono/zod-openapi';
import { verifyAttributionToken } from '#shared/domain/links/attribution-token';
import { paidOrderSchema, refundSchema } from '#shared/domain/orders/order.schema';
import { recordPaidOrder } from '#shared/domain/orders/record-paid-order';
import { recordRefund } from '#shared/domain/orders/record-refund';
import { createArea } from '#shared/http/app';
import { idempotency } from '#shared/http/idempotency';
import { jsonBody, jsonResponse, problems, webhookSecurity } from '#shared/http/openapi';
import { requireWebhookSignature } from '#shared/http/webhook';
import { writePendingHistory } from '#shared/store/links';

const paidAnswerSchema = z
  .object({
    orderId: z.string(),
    attributed: z.boolean(),
    linkCode: z.string().optional(),
    kolId: z.string().optional(),
    commission: z.number().int().optional().describe('floor(amount * rateBps / 10000)'),
  })
  .openapi('PaidOrderAnswer');
const refundAnswerSchema = z
  .object({
    orderId: z.string(),
    refundId: z.string(),
    amount: z.number().int(),
    refundedTotal: z.number().int(),
    reversal: z.number().int().optional().describe('Commission reversed by this refund (attributed orders)'),
  })
  .openapi('RefundAnswer');

/** The timestamp the signature covers (the signature itself is the `webhookSignature` scheme). */
const signedHeaders = z.object({
  'x-fission-timestamp': z
    .string()
    .describe(
      'Unix seconds when the shop signed the request; more than 300 s from the server’s clock → 401 `bad_signature`',
    ),
});

export const orderRoutes = createArea();

// POST /v1/orders/paid — the shop reports a paid order (signed webhook)
orderRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/v1/orders/paid',
    tags: ['Orders'],
    summary: 'A paid order (shop webhook)',
    description:
      'Signed with X-Fission-Timestamp / X-Fission-Signature (401 `bad_signature`). Idempotent per `orderId`: a repeat answers 200 with the first answer and has no second effect (the same `orderId` with another user, amount or currency → 409 `conflict`). Attribution: candidates are the attribution token (when its signature verifies) and the KOL clicks in the click history of `userId` and `visitorId` (read newest first, and oldest first too when the history holds more than 1,000 clicks); a candidate counts when its link belongs to an active commission campaign and it lies within that campaign’s window before `paidAt` (or up to 5 minutes after it: the shop’s clock may run behind). The newest counting click’s campaign decides the model: `last_click` takes the newest, `first_click` the oldest of that campaign; a token wins a tie. Commission = floor(amount × rateBps / 10000). An order whose buyer is the KOL, or whose click (or `visitorId`) came from a device (`X-Device-Id`) or browser (`fission_vid`) the KOL has sent on any request that remembers them (creating a link, asking for an invite code, accepting an invite), or whose buyer has sent such a device or browser on one, is attributed with `held: true` in OrderAttributed. Emits OrderPaid (with `firstOrder`) and, when attributed, OrderAttributed, in the same transaction as the order. An order that another user opened or joined a group buy with before this webhook (a group action is taken as the caller’s until the shop reports the order) leaves that group in the same transaction while it is open: the group it leads fails (`leader_order_of_another_user`, GroupBuyFailed refunding the other members’ orders, not this one), or its member is taken out (GroupBuyLeft, reason `order_of_another_user`); the buyer can then open or join a group with it. Writes for the buyer or that group that keep landing first end in 409 `conflict` after a few seconds (retry). A `paidAt` more than 5 minutes ahead of the server’s clock → 400 `validation_failed`.',
    security: webhookSecurity,
    middleware: [requireWebhookSignature(), idempotency()] as const,
    request: { body: jsonBody(paidOrderSchema), headers: signedHeaders },
    responses: {
      201: jsonResponse(paidAnswerSchema, 'Recorded'),
      200: jsonResponse(paidAnswerSchema, 'Already recorded: the first answer'),
      ...problems(400, 401, 409, 422),
    },
  }),
  async (c) => {
    const order = c.req.valid('json');
    // The local server writes a click just after its redirect: a new order right behind it has the
    // KOL click history of its buyer, its visitor and the visitor its token vouches for (whose device
    // decides a hold) written first, however many other clicks are queued. Money: a failure there
    // fails the webhook (the shop sends it again) rather than record the order unattributed.
    const tokenVisitor = verifyAttributionToken(
      c.get('deps').config.attributionSecret,
      order.attributionToken,
    )?.visitorId;
    const visitors = [...new Set([order.visitorId, tokenVisitor].filter((v) => v !== undefined))];
    const subjects = [`u:${order.userId}`, ...visitors.map((v) => `v:${v}`)];
    const r = await recordPaidOrder(c.get('deps'), order, {
      beforeAttribution: () => writePendingHistory(c.get('deps').store, subjects, 'kol'),
    });
    return r.status === 201 ? c.json(r.body, 201) : c.json(r.body, 200);
  },
);

// POST /v1/orders/refunded — the shop reports a (partial) refund (signed webhook)
orderRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/v1/orders/refunded',
    tags: ['Orders'],
    summary: 'A refund of an order (shop webhook)',
    description:
      'Idempotent per (`orderId`, `refundId`): a repeat answers 200 with the first answer (another amount → 409 `conflict`). Unknown order → 404; refunds adding up past the order amount → 409 `refund_exceeds_order`; an order takes at most 1,000 refunds, the next → 409 `conflict`. For an attributed order this refund reverses floor(commission × refundedTotal / amount) minus what earlier refunds reversed, so the reversals never exceed the commission and a full refund reverses it all. Emits OrderRefunded in the same transaction. A refund that completes the refund of an order in a group buy still open changes the group in the same transaction: the leader’s order fails it (`leader_refunded`, GroupBuyFailed), a member’s order takes the member out and opens the slot again (GroupBuyLeft, reason `order_refunded`); joins or refunds of the same order that keep landing first end in 409 `conflict` after about 20 s (retry). A `refundedAt` more than 5 minutes ahead of the server’s clock, or more than 5 minutes before the order’s `paidAt`, → 400 `validation_failed`.',
    security: webhookSecurity,
    middleware: [requireWebhookSignature(), idempotency()] as const,
    request: { body: jsonBody(refundSchema), headers: signedHeaders },
    responses: {
      201: jsonResponse(refundAnswerSchema, 'Recorded'),
      200: jsonResponse(refundAnswerSchema, 'Already recorded: the first answer'),
      ...problems(400, 401, 404, 409, 422),
    },
  }),
  async (c) => {
    const r = await recordRefund(c.get('deps'), c.req.valid('json'));
    return r.status === 201 ? c.json(r.body, 201) : c.json(r.body, 200);
  },
);
