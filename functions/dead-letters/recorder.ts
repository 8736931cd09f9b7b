import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createDeps } from '#shared/deps';
import { recordDeadLetter } from '#shared/events/dead-letters';
import { type BusEvent, EVENT_SOURCE } from '#shared/events/schemas';

const deps = createDeps();
/** The consumer whose dead-letter queue this recorder drains (one recorder per queue). */
const consumer = process.env.DEAD_LETTER_CONSUMER ?? 'unknown';

interface EventBridgeEvent {
  id?: string;
  source?: string;
  'detail-type'?: string;
  time?: string;
  detail?: unknown;
}

/** A dead letter as it arrives: from the rule target (the event) or from Lambda's on-failure destination. */
export function parseDeadLetter(record: SQSRecord): { event: BusEvent; error: string; attempts: number } {
  const body = JSON.parse(record.body) as Record<string, unknown>;
  const attr = (n: string) => record.messageAttributes?.[n]?.stringValue;
  let raw: EventBridgeEvent;
  let error: string;
  let attempts: number;
  if (body.requestContext && 'requestPayload' in body) {
    // Lambda async invocation record: the function kept failing on the event.
    const ctx = body.requestContext as { condition?: string; approximateInvokeCount?: number };
    const response = body.responsePayload as { errorType?: string; errorMessage?: string } | undefined;
    raw = body.requestPayload as EventBridgeEvent;
    error = response?.errorMessage
      ? `${response.errorType ?? 'Error'}: ${response.errorMessage}`
      : (ctx.condition ?? 'failed');
    attempts = ctx.approximateInvokeCount ?? 1;
  } else {
    // EventBridge rule target: the event could not be delivered to the consumer at all.
    raw = body as EventBridgeEvent;
    error = [attr('ERROR_CODE'), attr('ERROR_MESSAGE')].filter(Boolean).join(': ') || 'delivery failed';
    attempts = Number(attr('RETRY_ATTEMPTS') ?? 0) + 1;
  }
  if (typeof raw?.['detail-type'] !== 'string') throw new Error('dead letter carries no EventBridge event');
  const detail = (raw.detail ?? {}) as { eventId?: string; occurredAt?: string };
  const event = {
    id: detail.eventId ?? raw.id ?? record.messageId,
    source: raw.source ?? EVENT_SOURCE,
    'detail-type': raw['detail-type'],
    time: detail.occurredAt ?? raw.time ?? new Date(Number(record.attributes.SentTimestamp)).toISOString(),
    detail: raw.detail,
  } as BusEvent;
  return { event, error: error.slice(0, 2000), attempts };
}

/**
 * Drains one consumer's dead-letter queue into the table, so `GET /v1/admin/dead-letters`
 * lists what failed and `POST .../redrive` can put it back on the bus; a message delivered
 * twice is recorded once. A message that cannot be recorded stays in the queue (partial batch
 * failure), where the queue-depth alarm sees it.
 */
export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    try {
      await recordDeadLetter(deps, { consumer, ...parseDeadLetter(record), messageId: record.messageId });
    } catch (e) {
      deps.log.error('dead letter not recorded', { messageId: record.messageId, error: e as Error });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
};
