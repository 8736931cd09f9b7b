import { type CfnResource, Validations } from 'aws-cdk-lib';
import type { FissionStack } from './stack.ts';

/** One accepted cdk-nag AwsSolutions finding and why. */
export interface NagAcknowledgment {
  id: string;
  reason: string;
}

/** The AwsSolutions findings this stack accepts, each with its reason. */
export function nagAcknowledgments(stack: FissionStack): NagAcknowledgment[] {
  const ref = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as CfnResource);
  const invoked = [stack.functions.get('outbox-enrich:outbox-enrich'), stack.functions.get('sweeper:sweeper')];
  return [
    {
      id: 'AwsSolutions-APIG4',
      reason:
        'Authorization happens in the Lambdas, per route: HS256 bearer JWTs with the algorithm, iss, aud and exp ' +
        'pinned and roles checked, and HMAC-signed shop webhooks. API Gateway JWT authorizers only verify ' +
        'asymmetric keys from a JWKS, and some routes are public by contract (/health, /docs, link redirects).',
    },
    {
      id: 'AwsSolutions-SMG4',
      reason:
        'No rotation Lambda: the webhook key is shared with the shop and the JWT key with the token issuer, so a ' +
        'rotation is a coordinated change made in the secret by an operator; Lambdas pick it up at cold start.',
    },
    {
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to Node.js 22, the version the bundles target (esbuild target node22) and the toolchain the ' +
        'bundles are tested on; the runtime moves together with the local Node version.',
    },
    {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'The AWS managed basic execution role only lets a function write its own CloudWatch logs.',
    },
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only actions that have no resource-level permissions: X-Ray PutTraceSegments/PutTelemetryRecords ' +
        '(active tracing) and dynamodb:ListStreams (the Pipe reading the table stream).',
    },
    {
      id: `AwsSolutions-IAM5[Resource::<${ref(stack.table)}.Arn>/index/*]`,
      reason: "Queries on the table's own GSIs (gsi1..gsi4); no other table is reachable.",
    },
    ...invoked
      .filter((f) => f !== undefined)
      .map((f) => ({
        id: `AwsSolutions-IAM5[Resource::<${ref(f)}.Arn>:*]`,
        reason: 'Invoke permission on the versions and aliases of this one function (the Pipe, the Scheduler).',
      })),
    {
      id: 'AwsSolutions-SQS3',
      reason:
        'Every queue in this stack is itself a dead-letter queue (EventBridge rule targets, Lambda on-failure ' +
        'destinations, the outbox Pipe); a DLQ for a DLQ adds nothing. Depth alarms watch them.',
    },
  ];
}

/** Acknowledges the accepted findings on the stack. */
export function applyNagSuppressions(stack: FissionStack): void {
  for (const a of nagAcknowledgments(stack)) Validations.of(stack).acknowledge(a);
}
