import { DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { parseFailedBatch, putOnBus, readFailedBatch } from '#shared/events/outbox-redrive';
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
    ).toMatchObject({
      fromMs: Date.parse('2026-11-24T10:00:00.000Z'),
      toMs: Date.parse('2026-11-24T10:00:02.500Z'),
      size: 10,
    });
  });

  it('names the batch’s records on the stream when the message gives them', () => {
    const batch = parseFailedBatch(
      deadLetter({
        approximateArrivalOfFirstRecord: '2026-11-24T10:00:00Z',
        approximateArrivalOfLastRecord: '2026-11-24T10:00:01Z',
      }),
    );
    expect(batch?.stream).toEqual({
      arn: 'arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x',
      shardId: 'shardId-00000001',
      start: '100',
      end: '109',
    });
    const noSequence = parseFailedBatch(
      deadLetter({ approximateArrivalOfFirstRecord: '2026-11-24T10:00:00Z', startSequenceNumber: 'abc' }),
    );
    expect(noSequence).toBeDefined();
    expect(noSequence!.stream).toBeUndefined();
  });

  it('takes a batch with only its first arrival as one instant', () => {
    const at = Date.parse('2026-11-24T10:00:00.000Z');
    expect(parseFailedBatch(deadLetter({ approximateArrivalOfFirstRecord: '2026-11-24T10:00:00.000Z' }))).toMatchObject(
      {
        fromMs: at,
        toMs: at,
      },
    );
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

describe('readFailedBatch', () => {
  const ddbs = mockClient(DynamoDBStreamsClient);
  const client = new DynamoDBStreamsClient({ region: 'local' });
  afterEach(() => ddbs.reset());
  const stream = { arn: 'arn:stream', shardId: 'shard-1', start: '100', end: '105' };
  const outbox = (seq: number, orderId: string) => ({
    eventName: 'INSERT',
    dynamodb: {
      SequenceNumber: String(seq),
      NewImage: {
        pk: { S: `EVENT#evt_${seq}` },
        sk: { S: 'EVENT' },
        entity: { S: 'outbox' },
        eventId: { S: `evt_${seq}` },
        detailType: { S: 'OrderPaid' },
        detail: { S: JSON.stringify({ eventId: `evt_${seq}`, orderId }) },
        occurredAt: { S: '2026-11-24T10:00:00.000Z' },
      },
    },
  });
  const other = (seq: number, eventName = 'MODIFY') => ({
    eventName,
    dynamodb: { SequenceNumber: String(seq), NewImage: { entity: { S: 'bargain' } } },
  });

  it('reads the outbox INSERTs from the batch’s first record through its last, across pages, and no further', async () => {
    ddbs.on(GetShardIteratorCommand).resolves({ ShardIterator: 'it-1' });
    ddbs
      .on(GetRecordsCommand, { ShardIterator: 'it-1' })
      .resolves({ Records: [outbox(100, 'o1') as never, other(101) as never], NextShardIterator: 'it-2' })
      .on(GetRecordsCommand, { ShardIterator: 'it-2' })
      .resolves({ Records: [], NextShardIterator: 'it-3' })
      .on(GetRecordsCommand, { ShardIterator: 'it-3' })
      .resolves({
        Records: [other(102, 'INSERT') as never, outbox(105, 'o2') as never, outbox(106, 'not-this') as never],
        NextShardIterator: 'it-4',
      });
    const read = await readFailedBatch(client, stream);
    expect(read?.unreadable).toEqual([]);
    expect(read?.events.map((e) => [e.id, e['detail-type'], (e.detail as { orderId: string }).orderId])).toEqual([
      ['evt_100', 'OrderPaid', 'o1'],
      ['evt_105', 'OrderPaid', 'o2'],
    ]);
    expect(ddbs.commandCalls(GetShardIteratorCommand)[0]!.args[0].input).toMatchObject({
      StreamArn: 'arn:stream',
      ShardId: 'shard-1',
      ShardIteratorType: 'AT_SEQUENCE_NUMBER',
      SequenceNumber: '100',
    });
    expect(ddbs.commandCalls(GetRecordsCommand)).toHaveLength(3);
  });

  it('reads the other records of the batch when one outbox item is malformed, and names it', async () => {
    const bad = outbox(101, 'o-bad');
    bad.dynamodb.NewImage.detail = { S: '{not json' };
    ddbs.on(GetShardIteratorCommand).resolves({ ShardIterator: 'it-1' });
    ddbs
      .on(GetRecordsCommand)
      .resolves({ Records: [outbox(100, 'o1') as never, bad as never, outbox(105, 'o2') as never] });
    const read = await readFailedBatch(client, stream);
    expect(read?.events.map((e) => e.id)).toEqual(['evt_100', 'evt_105']);
    expect(read?.unreadable).toEqual(['EVENT#evt_101']);
  });

  it('answers nothing when the shard ends, or stays empty, before the batch’s last record', async () => {
    ddbs.on(GetShardIteratorCommand).resolves({ ShardIterator: 'it-1' });
    ddbs.on(GetRecordsCommand).resolvesOnce({ Records: [outbox(100, 'o1') as never] }); // closed shard: no next iterator
    expect(await readFailedBatch(client, stream)).toBeUndefined();
    ddbs.reset();
    ddbs.on(GetShardIteratorCommand).resolves({ ShardIterator: 'it-1' });
    ddbs.on(GetRecordsCommand).resolves({ Records: [], NextShardIterator: 'it-1' });
    expect(await readFailedBatch(client, stream)).toBeUndefined();
    expect(ddbs.commandCalls(GetRecordsCommand)).toHaveLength(10);
  });

  it('throws when the stream no longer has the records, so the caller reads the outbox instead', async () => {
    ddbs
      .on(GetShardIteratorCommand)
      .rejects(Object.assign(new Error('trimmed'), { name: 'TrimmedDataAccessException' }));
    await expect(readFailedBatch(client, stream)).rejects.toThrow('trimmed');
  });
});
