/** The fields of an `OrderPaid` event for `orderId` (a first order of user u1). */
export const paid = (orderId: string) => ({
  orderId,
  userId: 'u1',
  amount: 100,
  currency: 'CNY',
  paidAt: '2026-11-24T10:00:00.000Z',
  firstOrder: true,
});
