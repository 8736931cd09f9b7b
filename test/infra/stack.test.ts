import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { areas } from '#functions/areas';
import { mountSystemRoutes } from '#functions/system/routes';
import { rules } from '#shared/events/rules';
import { EVENT_SOURCE } from '#shared/events/schemas';
import { createArea } from '#shared/http/app';
import { tableDefinition } from '#shared/store/table';
import { lambdaEntries } from '../../infra/lambdas.ts';
import { applyNagSuppressions, nagAcknowledgments } from '../../infra/nag.ts';
import { httpRoutes, toApiGatewayPath } from '../../infra/routes.ts';
import { FissionStack, SECRET_KEYS } from '../../infra/stack.ts';

type Resources = Record<
  string,
  { Type: string; Properties: any; DeletionPolicy?: string; UpdateReplacePolicy?: string }
>;

/** Where this file's apps synthesize (else each leaves a cdk.out* directory in the temp folder). */
const outdirs = mkdtempSync(join(tmpdir(), 'fission-stack-'));
afterAll(() => rmSync(outdirs, { recursive: true, force: true }));

/** An app that skips bundling (the synth test bundles for real) and synthesizes under `outdirs`. */
const testApp = () =>
  new App({ context: { 'aws:cdk:bundling-stacks': [] }, outdir: mkdtempSync(join(outdirs, 'app-')) });

/** The stack synthesized in-process. */
function synthStack(): { stack: FissionStack; template: Template; resources: Resources } {
  const app = testApp();
  const stack = new FissionStack(app, 'Fission', {
    publicBaseUrl: 'https://go.example.com',
    allowedRedirectHosts: ['shop.example.com', 'm.example.com'],
  });
  applyNagSuppressions(stack);
  const template = Template.fromStack(stack);
  return { stack, template, resources: template.toJSON().Resources as Resources };
}

const ofType = (resources: Resources, type: string) =>
  Object.entries(resources).filter(([, r]) => r.Type === type) as [string, Resources[string]][];

describe('AWS stack template', () => {
  let stack: FissionStack;
  let template: Template;
  let resources: Resources;
  const fnId = (key: string) => stack.getLogicalId(stack.functions.get(key)!.node.defaultChild as any);

  beforeAll(() => {
    ({ stack, template, resources } = synthStack());
  });

  it('has the one table from the shared definition: keys, every GSI, TTL, stream, PITR, on-demand, retained', () => {
    const d = tableDefinition;
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: d.partitionKey, KeyType: 'HASH' },
          { AttributeName: d.sortKey, KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: d.ttlAttribute, Enabled: true },
        StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        GlobalSecondaryIndexes: d.indexes.map((i) => ({
          IndexName: i.name,
          KeySchema: [
            { AttributeName: i.partitionKey, KeyType: 'HASH' },
            { AttributeName: i.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        })),
      },
    });
  });

  it('runs every Lambda on Node.js 22 or newer, on arm64', () => {
    const fns = ofType(resources, 'AWS::Lambda::Function');
    expect(fns.length).toBeGreaterThan(areas.length + rules.length);
    for (const [id, fn] of fns) {
      const major = Number(/^nodejs(\d+)\.x$/.exec(fn.Properties.Runtime)?.[1] ?? 0);
      expect(major, `${id} runtime ${fn.Properties.Runtime}`).toBeGreaterThanOrEqual(22);
      expect(fn.Properties.Architectures, id).toEqual(['arm64']);
      expect(fn.Properties.Handler, id).toBe('index.handler');
    }
  });

  it('gives every HTTP area its own Lambda, and routes each of its Hono routes to it', () => {
    const routes = ofType(resources, 'AWS::ApiGatewayV2::Route');
    const integrations = ofType(resources, 'AWS::ApiGatewayV2::Integration');
    for (const area of areas) {
      template.resourcePropertiesCountIs('AWS::Lambda::Function', { Description: `Fission HTTP area ${area.name}` }, 1);
      const fn = fnId(`area:${area.name}`);
      const integration = integrations.find(([, r]) => r.Properties.IntegrationUri?.['Fn::GetAtt']?.[0] === fn);
      expect(integration, `integration of ${area.name}`).toBeDefined();
      const expected = httpRoutes(area.routes);
      expect(expected.length, `${area.name} declares routes`).toBeGreaterThan(0);
      for (const r of expected) {
        const route = routes.find(([, x]) => x.Properties.RouteKey === `${r.method} ${r.path}`);
        expect(route, `route ${r.method} ${r.path}`).toBeDefined();
        expect(JSON.stringify(route![1].Properties.Target)).toContain(integration![0]);
      }
    }
    expect(routes.find(([, r]) => r.Properties.RouteKey === 'POST /v1/admin/campaigns')).toBeDefined();
  });

  it('serves /health, /openapi.json, /docs and every unmatched path ($default) from the system Lambda', () => {
    template.resourcePropertiesCountIs('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('system') }, 1);
    const system = createArea();
    mountSystemRoutes(system);
    const keys = [...httpRoutes(system).map((r) => `${r.method} ${r.path}`), '$default'];
    expect(keys).toEqual(expect.arrayContaining(['GET /health', 'GET /openapi.json', 'GET /docs']));
    for (const key of keys) template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: key });
  });

  it('never declares the same route twice and has no middleware-only routes', () => {
    const keys = ofType(resources, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey as string);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.filter((k) => k.startsWith('ALL '))).toEqual([]);
  });

  it('makes one rule per rule entry on the fission bus, targeting its consumer Lambda with retries and a DLQ', () => {
    template.resourceCountIs('AWS::Events::Rule', rules.length);
    for (const rule of rules) {
      template.resourcePropertiesCountIs(
        'AWS::Lambda::Function',
        { Description: Match.stringLikeRegexp(`^Fission consumer ${rule.consumer}:`) },
        1,
      );
      const fn = fnId(`consumer:${rule.consumer}`);
      template.hasResourceProperties('AWS::Events::Rule', {
        EventBusName: { Ref: stack.getLogicalId(stack.bus.node.defaultChild as any) },
        EventPattern: { source: [EVENT_SOURCE], 'detail-type': rule.detailTypes },
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [fn, 'Arn'] },
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] } },
            RetryPolicy: { MaximumRetryAttempts: Match.anyValue(), MaximumEventAgeInSeconds: Match.anyValue() },
          }),
        ],
      });
      // Function errors: Lambda's async retries, then the same dead-letter queue.
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: fn },
        MaximumRetryAttempts: Match.anyValue(),
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] } } },
      });
    }
  });

  it('drains each consumer DLQ into the table through a dead-letter recorder, and alarms on its depth', () => {
    const eventRules = ofType(resources, 'AWS::Events::Rule');
    const mappings = ofType(resources, 'AWS::Lambda::EventSourceMapping');
    const fns = Object.fromEntries(ofType(resources, 'AWS::Lambda::Function'));
    for (const [, rule] of eventRules) {
      const target = rule.Properties.Targets[0];
      const dlq = target.DeadLetterConfig.Arn['Fn::GetAtt'][0];
      expect(resources[dlq]!.Type).toBe('AWS::SQS::Queue');
      const consumerFn = target.Arn['Fn::GetAtt'][0];
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: consumerFn },
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [dlq, 'Arn'] } } },
      });
      const mapping = mappings.find(([, m]) => m.Properties.EventSourceArn['Fn::GetAtt']?.[0] === dlq);
      expect(mapping, `recorder for ${dlq}`).toBeDefined();
      const recorder = fns[mapping![1].Properties.FunctionName.Ref]!;
      expect(recorder.Properties.Description).toMatch(/dead-letter recorder/);
      expect(recorder.Properties.Environment.Variables.DEAD_LETTER_CONSUMER).toBeTruthy();
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Namespace: 'AWS/SQS',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
    const recorders = mappings.filter(([, m]) =>
      /dead-letter recorder/.test(fns[m.Properties.FunctionName.Ref]!.Properties.Description),
    );
    expect(new Set(recorders.map(([, m]) => m.Properties.FunctionName.Ref)).size).toBe(rules.length);
  });

  it('republishes the batches the outbox Pipe dead-letters through the outbox redrive', () => {
    const [, pipe] = ofType(resources, 'AWS::Pipes::Pipe')[0]!;
    const pipeDlq = pipe.Properties.SourceParameters.DynamoDBStreamParameters.DeadLetterConfig.Arn['Fn::GetAtt'][0];
    const redrive = fnId('outbox-redrive:outbox-redrive');
    // The queue hides a message being republished for longer than the redrive may run.
    const timeout = resources[redrive]!.Properties.Timeout;
    expect(resources[pipeDlq]!.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * timeout);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: redrive },
      EventSourceArn: { 'Fn::GetAtt': [pipeDlq, 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    // It reads the batch back from the stream or the outbox and puts events on the bus; an arrival alarm sees every batch.
    const policies = ofType(resources, 'AWS::IAM::Policy').filter(([, p]) =>
      p.Properties.Roles.some((r: { Ref: string }) => r.Ref === resources[redrive]!.Properties.Role['Fn::GetAtt'][0]),
    );
    const actions = policies.flatMap(([, p]) => p.Properties.PolicyDocument.Statement.flatMap((st: any) => st.Action));
    expect(actions).toEqual(
      expect.arrayContaining([
        'dynamodb:Query',
        'dynamodb:GetShardIterator',
        'dynamodb:GetRecords',
        'events:PutEvents',
      ]),
    );
    expect(actions).not.toContain('dynamodb:PutItem');
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'NumberOfMessagesSent',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [pipeDlq, 'QueueName'] } }],
      Threshold: 0,
    });
  });

  it('alarms on every dead-letter queue (messages waiting, and messages held for an hour) and on the API answering 5xx', () => {
    for (const [id] of ofType(resources, 'AWS::SQS::Queue')) {
      const dimensions = [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id, 'QueueName'] } }];
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: dimensions,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
      const holding = ofType(resources, 'AWS::CloudWatch::Alarm').filter(([, a]) =>
        (a.Properties.Metrics ?? []).some(
          (m: any) =>
            m.MetricStat?.Metric.MetricName === 'ApproximateNumberOfMessagesNotVisible' &&
            JSON.stringify(m.MetricStat.Metric.Dimensions) === JSON.stringify(dimensions),
        ),
      );
      expect(holding, `held-messages alarm of ${id}`).toHaveLength(1);
      expect(holding[0]![1].Properties).toMatchObject({ Threshold: 0, EvaluationPeriods: 12, DatapointsToAlarm: 12 });
      expect(holding[0]![1].Properties.Metrics.map((m: any) => m.Expression).filter(Boolean)).toEqual([
        'visible + inFlight',
      ]);
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: '5xx',
      Namespace: 'AWS/ApiGateway',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('notifies the alarm topic from every alarm when one is given', () => {
    const topic = 'arn:aws:sns:us-east-1:123456789012:fission-oncall';
    const app = testApp();
    const withTopic = Template.fromStack(new FissionStack(app, 'WithTopic', { alarmTopicArn: topic }));
    const alarms = Object.values(withTopic.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBe(ofType(resources, 'AWS::CloudWatch::Alarm').length);
    for (const a of alarms) expect(a.Properties.AlarmActions).toEqual([topic]);
  });

  it('has the fission bus with an archive of every event', () => {
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'fission' });
    template.hasResourceProperties('AWS::Events::Archive', {
      SourceArn: { 'Fn::GetAtt': [stack.getLogicalId(stack.bus.node.defaultChild as any), 'Arn'] },
      EventPattern: { source: [EVENT_SOURCE] },
    });
  });

  it('pipes outbox INSERTs from the table stream through the enrichment onto the bus', () => {
    const tableId = stack.getLogicalId(stack.table.node.defaultChild as any);
    template.hasResourceProperties('AWS::Pipes::Pipe', {
      Source: { 'Fn::GetAtt': [tableId, 'StreamArn'] },
      SourceParameters: {
        FilterCriteria: {
          Filters: [
            {
              Pattern: JSON.stringify({
                eventName: ['INSERT'],
                dynamodb: { NewImage: { entity: { S: ['outbox'] } } },
              }),
            },
          ],
        },
        DynamoDBStreamParameters: Match.objectLike({
          StartingPosition: Match.anyValue(),
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] } },
        }),
      },
      Enrichment: { 'Fn::GetAtt': [fnId('outbox-enrich:outbox-enrich'), 'Arn'] },
      Target: { 'Fn::GetAtt': [stack.getLogicalId(stack.bus.node.defaultChild as any), 'Arn'] },
      TargetParameters: {
        InputTemplate: '<$.detail>',
        EventBridgeEventBusParameters: { Source: EVENT_SOURCE, DetailType: '$.detailType', Time: '$.time' },
      },
    });
  });

  it('runs the sweeper every minute from an EventBridge schedule', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
      Target: Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId('sweeper:sweeper'), 'Arn'] } }),
    });
  });

  it('keeps the secrets in one Secrets Manager secret that only the functions that need it can read', () => {
    const [secretId, secret] = ofType(resources, 'AWS::SecretsManager::Secret').find(([id]) =>
      id.startsWith('AppSecrets'),
    )!;
    const value = JSON.stringify(secret.Properties.SecretString);
    for (const key of SECRET_KEYS) expect(value).toContain(key);
    const fns = ofType(resources, 'AWS::Lambda::Function').filter(
      ([, f]) => f.Properties.Environment?.Variables?.SECRETS_ARN,
    );
    expect(fns.length).toBe(areas.length + 1 + rules.length + 1);
    for (const [, fn] of fns) expect(fn.Properties.Environment.Variables.SECRETS_ARN).toEqual({ Ref: secretId });
    const readers = ofType(resources, 'AWS::IAM::Policy').filter(([, p]) =>
      JSON.stringify(p.Properties.PolicyDocument).includes('secretsmanager:GetSecretValue'),
    );
    expect(readers.length).toBe(fns.length);
  });

  it('passes the public base URL and redirect hosts to the Lambdas', () => {
    for (const [, fn] of ofType(resources, 'AWS::Lambda::Function')) {
      const env = fn.Properties.Environment.Variables;
      expect(env.PUBLIC_BASE_URL).toBe('https://go.example.com');
      expect(env.ALLOWED_REDIRECT_HOSTS).toBe('shop.example.com,m.example.com');
      expect(env.TABLE_NAME).toBeDefined();
      // Reconciliation waits out the consumers' retries (24 h by the rule, 6 h by Lambda) before failing an entry.
      expect(env.SETTLE_GRACE_MINUTES).toBe('1860');
      for (const name of Object.keys(env)) expect(name.length).toBeGreaterThanOrEqual(2);
    }
  });

  it('refuses settings the Lambdas would refuse as they start, naming each', () => {
    const make = (props: ConstructorParameters<typeof FissionStack>[2]) => () =>
      new FissionStack(testApp(), 'Fission', props);
    expect(make({ publicBaseUrl: 'go.example.com' })).toThrow(
      /publicBaseUrl \(PUBLIC_BASE_URL\): must be an http\(s\) URL/,
    );
    expect(make({ allowedRedirectHosts: ['https://shop.example.com'] })).toThrow(
      /allowedRedirectHosts \(ALLOWED_REDIRECT_HOSTS\): must be host names/,
    );
    expect(make({ corsOrigins: ['https://m.example.com/app'] })).toThrow(/corsOrigins \(CORS_ORIGINS\)/);
  });

  it('lets only the admin area (redrive), the Pipe and the outbox redrive put events on the bus', () => {
    const putters = ofType(resources, 'AWS::IAM::Policy')
      .filter(([, p]) => JSON.stringify(p.Properties.PolicyDocument).includes('events:PutEvents'))
      .flatMap(([, p]) => p.Properties.Roles.map((r: { Ref: string }) => r.Ref));
    const roleOf = (key: string) => stack.getLogicalId(stack.functions.get(key)!.role!.node.defaultChild as any);
    expect(putters).toHaveLength(3);
    expect(putters).toEqual(
      expect.arrayContaining([
        roleOf('area:admin'),
        roleOf('outbox-redrive:outbox-redrive'),
        expect.stringMatching(/^OutboxPipeRole/),
      ]),
    );
  });

  it('passes cdk-nag AwsSolutions, each accepted finding carrying its reason', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    const unacknowledged = report.violations.map(
      (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.resourceLogicalId).join(', ')}`,
    );
    expect(unacknowledged).toEqual([]);
    expect(report.success).toBe(true);
    for (const a of nagAcknowledgments(stack)) expect(a.reason.length, a.id).toBeGreaterThan(40);
  });

  it('acknowledges only findings cdk-nag really reports (no stale suppressions)', () => {
    const bare = new FissionStack(testApp(), 'Bare');
    const found = new Set(new AwsSolutionsChecks().validateScope(bare).violations.map((v) => v.ruleName));
    const ids = nagAcknowledgments(stack).map((a) => a.id.replace(/<[^>]+\.Arn>/, '<X.Arn>'));
    const reported = [...found].map((id) => id.replace(/<[^>]+\.Arn>/, '<X.Arn>'));
    for (const id of ids) expect(reported, id).toContain(id);
  });
});

describe('Lambda entries', () => {
  it('has a handler file for every area, every rule consumer and each singleton', () => {
    const entries = lambdaEntries();
    expect(entries.filter((e) => e.kind === 'area').map((e) => e.name)).toEqual(areas.map((a) => a.name));
    expect(entries.filter((e) => e.kind === 'consumer').map((e) => e.name)).toEqual(rules.map((r) => r.consumer));
    const missing = entries.filter((e) => !existsSync(e.entry)).map((e) => e.entry);
    expect(missing).toEqual([]);
  });
});

describe('API Gateway routes from Hono routes', () => {
  it.each([
    ['/v1/admin/campaigns', '/v1/admin/campaigns'],
    ['/v1/admin/campaigns/:id', '/v1/admin/campaigns/{id}'],
    ['/v1/bargains/:id/helps', '/v1/bargains/{id}/helps'],
    ['/r/:code{[A-Za-z0-9]+}', '/r/{code}'],
    ['/files/*', '/files/{proxy+}'],
    ['/', '/'],
  ])('turns %s into %s', (hono, apigw) => {
    expect(toApiGatewayPath(hono)).toBe(apigw);
  });

  it('skips middleware-only entries and repeats', () => {
    const app = createArea();
    app.use('*', async (_c, next) => next());
    app.get('/v1/x/:id', (c) => c.text('a'));
    app.get('/v1/x/:id', (c) => c.text('b'));
    app.post('/v1/x', (c) => c.text('c'));
    expect(httpRoutes(app)).toEqual([
      { method: 'GET', path: '/v1/x/{id}' },
      { method: 'HEAD', path: '/v1/x/{id}' },
      { method: 'POST', path: '/v1/x' },
    ]);
  });
});
