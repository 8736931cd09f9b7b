import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { parseFailedBatch, putOnBus } from '#shared/events/outbox-redrive';
import { type BusEvent, EVENT_SOURCE } from '#shared/events/schemas';

/** A dead letter of the outbox Pipe, as its stream source describes a batch it gave up on. */
const deadLetter = (info: Record<string, unknown>) =>
  JSON.stringify({
    context: { partnerResourceArn: 'arn:aws:pipes:us-east-1:123456789012:pipe/outbox' },
    version: '1.0',
    timestamp: '2026-11-24T10:05:00.000Z',
    DDBStreamBatchInfo: {
      shardId: 'shardId-00000001',
      startSequenceNumber: '100',
      endSequenceNumber: '109',
      streamArn: 'arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x',
      ...info,
    },
  });

describe('parseFailedBatch', () => {
  it('reads the arrival window and size of the failed batch', () => {
    expect(
      parseFailedBatch(
        deadLetter({
          approximateArrivalOfFirstRecord: '2026-11-24T10:00:00.000Z',
          approximateArrivalOfLastRecord: '2026-11-24T10:00:02.500Z',
          batchSize: 10,
        }),
      ),
    ).toEqual({
      fromMs: Date.parse('2026-11-24T10:00:00.000Z'),
      toMs: Date.parse('2026-11-24T10:00:02.500Z'),
      size: 10,
    });
  });

  it('takes a batch with only its first arrival as one instant', () => {
    const at = Date.parse('2026-11-24T10:00:00.000Z');
    expect(parseFailedBatch(deadLetter({ approximateArrivalOfFirstRecord: '2026-11-24T10:00:00.000Z' }))).toEqual({
      fromMs: at,
      toMs: at,
    });
  });

  it.each([
    ['not JSON', 'not json'],
    ['JSON null', 'null'],
    ['an EventBridge event', JSON.stringify({ 'detail-type': 'OrderPaid', detail: {} })],
    ['no arrival times', deadLetter({})],
    ['an unreadable time', deadLetter({ approximateArrivalOfFirstRecord: 'yesterday' })],
    [
      'a window that ends before it starts',
      deadLetter({
        approximateArrivalOfFirstRecord: '2026-11-24T10:00:02.000Z',
        approximateArrivalOfLastRecord: '2026-11-24T10:00:00.000Z',
      }),
    ],
  ])('answers nothing for %s', (_name, body) => {
    expect(parseFailedBatch(body)).toBeUndefined();
  });
});

describe('putOnBus', () => {
  const eb = mockClient(EventBridgeClient);
  const client = new EventBridgeClient({ region: 'local' });
  afterEach(() => eb.reset());
  const events: BusEvent[] = Array.from({ length: 23 }, (_, i) => ({
    id: `evt_${i}`,
    source: EVENT_SOURCE,
    'detail-type': 'OrderPaid',
    time: '2026-11-24T10:00:00.000Z',
    detail: { eventId: `evt_${i}`, n: i },
  })) as unknown as BusEvent[];
  const noWait = async () => {};
  const sent = () =>
    eb.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries!.map((e) => JSON.parse(e.Detail!).n));

  it('sends 10 entries a request with the event’s source, detail-type, time and detail', async () => {
    eb.on(PutEventsCommand).callsFake((input) => ({ FailedEntryCount: 0, Entries: input.Entries.map(() => ({})) }));
    await putOnBus(client, 'fission', events);
    expect(sent()).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
      [20, 21, 22],
    ]);
    const first = eb.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!;
    expect(first).toMatchObject({ EventBusName: 'fission', Source: EVENT_SOURCE, DetailType: 'OrderPaid' });
    expect(first.Time).toEqual(new Date('2026-11-24T10:00:00.000Z'));
  });

  it('sends again only the entries the bus refused', async () => {
    eb.on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 2,
        Entries: [{}, { ErrorCode: 'ThrottlingException' }, {}, { ErrorCode: 'InternalFailure' }],
      })
      .resolves({ FailedEntryCount: 0, Entries: [{}, {}] });
    await putOnBus(client, 'fission', events.slice(0, 4), noWait);
    expect(sent()).toEqual([
      [0, 1, 2, 3],
      [1, 3],
    ]);
  });

  it('sends every entry again when a failure comes without per-entry answers', async () => {
    eb.on(PutEventsCommand).resolvesOnce({ FailedEntryCount: 1 }).resolves({ FailedEntryCount: 0 });
    await putOnBus(client, 'fission', events.slice(0, 3), noWait);
    expect(sent()).toEqual([
      [0, 1, 2],
      [0, 1, 2],
    ]);
  });

  it('fails when the bus keeps refusing, so the dead letter stays queued', async () => {
    eb.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'down' }],
    });
    const waits: number[] = [];
    await expect(
      putOnBus(client, 'fission', events.slice(0, 1), async (ms) => {
        waits.push(ms);
      }),
    ).rejects.toThrow(/refused 1 events: down/);
    expect(eb.commandCalls(PutEventsCommand)).toHaveLength(6);
    expect(waits).toHaveLength(5);
    for (const [i, ms] of waits.entries()) expect(ms).toBeLessThanOrEqual(200 * 2 ** i);
  });
});
