import { CfnOutput, Duration, RemovalPolicy, type SecretValue, Stack, type StackProps, Token } from 'aws-cdk-lib';
import {
  HttpApi,
  type HttpMethod,
  HttpRoute,
  HttpRouteKey,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Alarm, ComparisonOperator, type IMetric, MathExpression, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { AttributeType, BillingMode, ProjectionType, StreamViewType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnPipe } from 'aws-cdk-lib/aws-pipes';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { areas as allAreas } from '#functions/areas';
import { mountSystemRoutes } from '#functions/system/routes';
import { loadConfig } from '#shared/config';
import { rules as allRules, type Rule as EventRule } from '#shared/events/rules';
import { EVENT_SOURCE } from '#shared/events/schemas';
import { createArea } from '#shared/http/app';
import type { AreaApp } from '#shared/http/context';
import { tableDefinition } from '#shared/store/table';
import { lambdaBundling } from './bundling.ts';
import { type LambdaEntry, lambdaEntries, ROOT } from './lambdas.ts';
import { httpRoutes } from './routes.ts';

/** A setting of the stack the Lambdas would refuse. */
export class SettingsError extends Error {}

/**
 * The settings the Lambdas check as they start, checked as the stack is made: a bad one stops
 * the synth (and the deploy) with its name, instead of every request of the deployed stack.
 */
function checkSettings(props: FissionStackProps): void {
  // Each setting's variable, with its context name and value.
  const settings: Record<string, [string, string | undefined]> = {
    // A token (a custom domain's URL from another construct) is known only at deploy: the Lambdas check it then.
    PUBLIC_BASE_URL: [
      'publicBaseUrl',
      props.publicBaseUrl && !Token.isUnresolved(props.publicBaseUrl) ? props.publicBaseUrl : undefined,
    ],
    ALLOWED_REDIRECT_HOSTS: ['allowedRedirectHosts', props.allowedRedirectHosts?.join(',')],
    CORS_ORIGINS: ['corsOrigins', props.corsOrigins?.join(',')],
    JWT_ISSUER: ['jwtIssuer', props.jwtIssuer],
    JWT_AUDIENCE: ['jwtAudience', props.jwtAudience],
    LOG_LEVEL: ['logLevel', props.logLevel],
  };
  try {
    loadConfig(Object.fromEntries(Object.entries(settings).map(([env, [, value]]) => [env, value])));
  } catch (e) {
    const message = (e as Error).message.replace(/\b[A-Z_]{3,}\b/g, (env) =>
      settings[env] ? `${settings[env][0]} (${env})` : env,
    );
    throw new SettingsError(`Fission stack: ${message}`);
  }
}

export interface FissionStackProps extends StackProps {
  /** Public URL of the API (share links, redirects); defaults to the HTTP API's own endpoint. */
  publicBaseUrl?: string;
  /** Hosts KOL links may redirect to (comma-separated list or array). */
  allowedRedirectHosts?: string[];
  /** Browser origins allowed by CORS (default: any). */
  corsOrigins?: string[];
  /** Expected `iss` of bearer tokens. */
  jwtIssuer?: string;
  /** Expected `aud` of bearer tokens. */
  jwtAudience?: string;
  /** An SNS topic every alarm notifies (e.g. the on-call's); without one the alarms only show in CloudWatch. */
  alarmTopicArn?: string;
  /** Log level of every Lambda. */
  logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** The HTTP areas to deploy (default: every area in functions/areas.ts). */
  areas?: { name: string; routes: AreaApp }[];
  /** The event rules to deploy (default: every rule in shared/events/rules.ts). */
  rules?: EventRule[];
}

/** The secret's keys: generated at deploy time, read by the Lambdas at cold start (shared/secrets.ts). */
export const SECRET_KEYS = ['JWT_SECRET', 'WEBHOOK_SECRET', 'ATTRIBUTION_SECRET'] as const;

const pascal = (s: string) => s.replace(/(^|[-_])(\w)/g, (_m, _d, c: string) => c.toUpperCase());

/**
 * Fission on AWS: HTTP API → one Lambda per area; one DynamoDB table; the outbox carried from
 * the table stream by an EventBridge Pipe onto the `fission` bus, whose rules fan out to
 * consumer Lambdas with retries and dead-letter queues; a schedule for the sweeper. Everything
 * is derived from the shared definitions (table, areas, rules), so nothing is defined twice.
 */
export class FissionStack extends Stack {
  readonly table: Table;
  readonly bus: EventBus;
  readonly api: HttpApi;
  readonly functions = new Map<string, NodejsFunction>();

  constructor(scope: Construct, id: string, props: FissionStackProps = {}) {
    super(scope, id, props);
    checkSettings(props);
    const areas = props.areas ?? allAreas;
    const rules = props.rules ?? allRules;
    const entries = lambdaEntries(areas, rules);
    const entry = (kind: LambdaEntry['kind'], name: string) => {
      const e = entries.find((x) => x.kind === kind && x.name === name);
      if (!e) throw new Error(`no Lambda entry ${kind}/${name}`);
      return e;
    };

    // ── the table ──
    const d = tableDefinition;
    this.table = new Table(this, 'Table', {
      partitionKey: { name: d.partitionKey, type: AttributeType.STRING },
      sortKey: { name: d.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: d.ttlAttribute,
      stream: StreamViewType.NEW_AND_OLD_IMAGES,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const index of d.indexes)
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
        projectionType: ProjectionType.ALL,
      });

    // ── secrets: each value generated, combined into the one secret the Lambdas read ──
    const parts = Object.fromEntries(
      SECRET_KEYS.map((key) => [
        key,
        new Secret(this, `SecretPart${pascal(key.toLowerCase())}`, {
          description: `Fission ${key} (generated; copied into AppSecrets at creation)`,
          generateSecretString: { passwordLength: 48, excludePunctuation: true },
        }).secretValue,
      ]),
    ) as Record<string, SecretValue>;
    const secrets = new Secret(this, 'AppSecrets', {
      description: 'Fission secrets: JWT_SECRET, WEBHOOK_SECRET (shared with the shop), ATTRIBUTION_SECRET',
      secretObjectValue: parts,
    });

    // ── the bus, its archive ──
    this.bus = new EventBus(this, 'Bus', { eventBusName: 'fission' });
    this.bus.archive('Archive', {
      archiveName: 'fission-events',
      description: 'Every Fission event, for replay',
      eventPattern: { source: [EVENT_SOURCE] },
      retention: Duration.days(365),
    });

    // ── the HTTP API (its endpoint is the default public base URL) ──
    this.api = new HttpApi(this, 'Api', {
      apiName: 'fission',
      description: 'Fission HTTP API',
      createDefaultStage: false,
    });
    const accessLogs = new LogGroup(this, 'ApiAccessLogs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    new HttpStage(this, 'ApiDefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: 1000, burstLimit: 2000 },
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs) },
    });

    const environment: Record<string, string> = {
      TABLE_NAME: this.table.tableName,
      EVENT_BUS_NAME: this.bus.eventBusName,
      PUBLIC_BASE_URL: props.publicBaseUrl ?? this.api.apiEndpoint,
      ALLOWED_REDIRECT_HOSTS: (props.allowedRedirectHosts ?? []).join(','),
      CORS_ORIGINS: (props.corsOrigins ?? []).join(','),
      JWT_ISSUER: props.jwtIssuer ?? 'fission',
      JWT_AUDIENCE: props.jwtAudience ?? 'fission',
      LOG_LEVEL: props.logLevel ?? 'INFO',
      // An event's delivery may be retried for up to 24 h by its rule, then 6 h by Lambda's async
      // retries (see the consumers below): reconciliation fails a missing entry only after that.
      SETTLE_GRACE_MINUTES: String(31 * 60),
      NODE_OPTIONS: '--enable-source-maps',
      AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
    };
    const withSecrets = { SECRETS_ARN: secrets.secretArn };

    const lambda = (
      e: LambdaEntry,
      opts: {
        id?: string;
        name?: string;
        description?: string;
        env?: Record<string, string>;
        memory?: number;
        timeout?: Duration;
      } = {},
    ): NodejsFunction => {
      const id = opts.id ?? `${pascal(e.kind)}${e.kind === e.name ? '' : pascal(e.name)}`;
      const fn = new NodejsFunction(this, `${id}Function`, {
        entry: e.entry,
        handler: 'handler',
        description: opts.description ?? e.description,
        runtime: Runtime.NODEJS_22_X,
        architecture: Architecture.ARM_64,
        memorySize: opts.memory ?? 512,
        timeout: opts.timeout ?? Duration.seconds(10),
        tracing: Tracing.ACTIVE,
        environment: { ...environment, ...opts.env },
        bundling: lambdaBundling,
        projectRoot: ROOT,
        depsLockFilePath: `${ROOT}/package-lock.json`,
        logGroup: new LogGroup(this, `${id}Logs`, {
          retention: RetentionDays.ONE_MONTH,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
      });
      this.functions.set(`${e.kind}:${opts.name ?? e.name}`, fn);
      return fn;
    };

    // ── HTTP areas: one Lambda each, its routes read from its Hono router ──
    for (const area of areas) {
      const fn = lambda(entry('area', area.name), { env: withSecrets });
      this.table.grantReadWriteData(fn);
      secrets.grantRead(fn);
      const integration = new HttpLambdaIntegration(`${pascal(area.name)}Integration`, fn);
      for (const route of httpRoutes(area.routes))
        this.api.addRoutes({ path: route.path, methods: [route.method as HttpMethod], integration });
    }
    // The admin area redrives dead letters by putting their events back on the bus.
    const admin = this.functions.get('area:admin');
    if (admin) this.bus.grantPutEventsTo(admin);

    // The system Lambda: /health, /openapi.json, /docs, and the default route (404 problem documents).
    const system = lambda(entry('system', 'system'), { env: withSecrets });
    this.table.grantReadData(system);
    secrets.grantRead(system);
    const systemIntegration = new HttpLambdaIntegration('SystemIntegration', system);
    const systemRoutes = createArea();
    mountSystemRoutes(systemRoutes);
    for (const route of httpRoutes(systemRoutes))
      this.api.addRoutes({ path: route.path, methods: [route.method as HttpMethod], integration: systemIntegration });
    // Everything no route claims (unknown paths, CORS preflights) gets the full app's answer.
    new HttpRoute(this, 'DefaultRoute', {
      httpApi: this.api,
      routeKey: HttpRouteKey.DEFAULT,
      integration: systemIntegration,
    });

    // ── consumers: one rule and one Lambda per rule entry, each with retries and a dead-letter queue ──
    /** An alarm when `metric` stays above 0 for `periods` periods in a row (missing data is fine). */
    const aboveZero = (id: string, description: string, metric: IMetric, periods = 1) =>
      new Alarm(this, id, {
        alarmDescription: description,
        metric,
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: periods,
        datapointsToAlarm: periods,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    const alarm = (id: string, queue: Queue, what: string) =>
      aboveZero(
        id,
        `${what}: messages are waiting in ${queue.node.id}`,
        queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      );
    /** Messages were sent to a queue whose consumer drains it: its depth alone could stay at 0. */
    const arriving = (id: string, queue: Queue, what: string) =>
      aboveZero(id, what, queue.metricNumberOfMessagesSent({ period: Duration.minutes(5), statistic: 'Sum' }));
    /**
     * A message its consumer keeps failing on: hidden between attempts (so depth alone misses it)
     * and, once received three times, left out of the age metric. The queue holding any message,
     * visible or in flight, through every 5 minutes of an hour is what shows it.
     */
    const stuck = (id: string, queue: Queue, what: string) =>
      aboveZero(
        id,
        `${what}: ${queue.node.id} has held messages for an hour`,
        new MathExpression({
          expression: 'visible + inFlight',
          usingMetrics: {
            visible: queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum' }),
            inFlight: queue.metricApproximateNumberOfMessagesNotVisible({ statistic: 'Maximum' }),
          },
          period: Duration.minutes(5),
        }),
        12,
      );
    const deadLetterQueue = (id: string, visibilityTimeout?: Duration) =>
      new Queue(this, id, {
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
        ...(visibilityTimeout ? { visibilityTimeout } : {}),
      });

    const recorderEntry = entry('dead-letter-recorder', 'dead-letter-recorder');
    for (const rule of rules) {
      const name = pascal(rule.consumer);
      const dlq = deadLetterQueue(`${name}DeadLetters`);
      const fn = lambda(entry('consumer', rule.consumer), { env: withSecrets, timeout: Duration.seconds(30) });
      this.table.grantReadWriteData(fn);
      secrets.grantRead(fn);
      // Function errors: Lambda's async retries, then the on-failure destination.
      fn.configureAsyncInvoke({
        retryAttempts: 2,
        maxEventAge: Duration.hours(6),
        onFailure: new SqsDestination(dlq),
      });
      // Delivery failures (throttling, permissions): the rule's own retries, then the same queue.
      new Rule(this, `${name}Rule`, {
        eventBus: this.bus,
        description: rule.description,
        eventPattern: { source: [EVENT_SOURCE], detailType: rule.detailTypes },
        targets: [new LambdaFunction(fn, { deadLetterQueue: dlq, retryAttempts: 8, maxEventAge: Duration.hours(24) })],
      });
      // Dead letters land in the table, where the admin API lists and redrives them.
      const recorder = lambda(recorderEntry, {
        id: `${name}DeadLetterRecorder`,
        name: rule.consumer,
        description: `${recorderEntry.description} (${rule.consumer})`.slice(0, 256),
        env: { DEAD_LETTER_CONSUMER: rule.consumer },
        memory: 256,
        timeout: Duration.seconds(30),
      });
      this.table.grantWriteData(recorder);
      recorder.addEventSource(new SqsEventSource(dlq, { batchSize: 10, reportBatchItemFailures: true }));
      alarm(`${name}DeadLettersAlarm`, dlq, `Consumer ${rule.consumer} dead-lettered events`);
      stuck(`${name}DeadLettersStuckAlarm`, dlq, `Dead letters of ${rule.consumer} are not being recorded`);
      arriving(
        `${name}DeadLettersArrivingAlarm`,
        dlq,
        `Consumer ${rule.consumer} dead-lettered events (see GET /v1/admin/dead-letters)`,
      );
    }

    // ── the outbox Pipe: table stream (outbox INSERTs) → enrichment → the bus ──
    const enrich = lambda(entry('outbox-enrich', 'outbox-enrich'), { memory: 256 });
    // A busy table puts thousands of events in a failed batch's window: the redrive may take
    // minutes, and the queue hides a message it is working on for six times as long (AWS's advice).
    const redriveTimeout = Duration.minutes(5);
    const pipeDlq = deadLetterQueue('OutboxPipeDeadLetters', Duration.minutes(redriveTimeout.toMinutes() * 6));
    alarm('OutboxPipeDeadLettersAlarm', pipeDlq, 'Outbox batches are waiting to be republished');
    stuck('OutboxPipeDeadLettersStuckAlarm', pipeDlq, 'An outbox batch could not be republished');
    arriving(
      'OutboxPipeDeadLettersArrivingAlarm',
      pipeDlq,
      'The outbox Pipe gave up on stream batches (the outbox redrive republishes them)',
    );
    // A batch the Pipe gave up on is read back (from the stream, else the outbox) and put on the bus.
    const redrive = lambda(entry('outbox-redrive', 'outbox-redrive'), { memory: 256, timeout: redriveTimeout });
    this.table.grantReadData(redrive);
    this.table.grantStreamRead(redrive);
    this.bus.grantPutEventsTo(redrive);
    redrive.addEventSource(new SqsEventSource(pipeDlq, { batchSize: 1, reportBatchItemFailures: true }));
    const pipeRole = new Role(this, 'OutboxPipeRole', { assumedBy: new ServicePrincipal('pipes.amazonaws.com') });
    this.table.grantStreamRead(pipeRole);
    enrich.grantInvoke(pipeRole);
    this.bus.grantPutEventsTo(pipeRole);
    pipeDlq.grantSendMessages(pipeRole);
    const pipe = new CfnPipe(this, 'OutboxPipe', {
      description: 'Outbox items from the table stream onto the fission bus',
      roleArn: pipeRole.roleArn,
      source: this.table.tableStreamArn!,
      sourceParameters: {
        filterCriteria: {
          filters: [
            {
              pattern: JSON.stringify({ eventName: ['INSERT'], dynamodb: { NewImage: { entity: { S: ['outbox'] } } } }),
            },
          ],
        },
        dynamoDbStreamParameters: {
          startingPosition: 'TRIM_HORIZON',
          batchSize: 10,
          maximumBatchingWindowInSeconds: 1,
          maximumRetryAttempts: 20,
          onPartialBatchItemFailure: 'AUTOMATIC_BISECT',
          deadLetterConfig: { arn: pipeDlq.queueArn },
        },
      },
      enrichment: enrich.functionArn,
      target: this.bus.eventBusArn,
      targetParameters: {
        inputTemplate: '<$.detail>',
        eventBridgeEventBusParameters: { source: EVENT_SOURCE, detailType: '$.detailType', time: '$.time' },
      },
    });
    pipe.node.addDependency(pipeRole);

    // ── the sweeper, every minute ──
    const sweeper = lambda(entry('sweeper', 'sweeper'), { env: withSecrets, timeout: Duration.seconds(60) });
    this.table.grantReadWriteData(sweeper);
    secrets.grantRead(sweeper);
    new Schedule(this, 'SweeperSchedule', {
      description: 'Runs the expiry sweeper: expires chains and groups, unlocks ledger entries',
      schedule: ScheduleExpression.rate(Duration.minutes(1)),
      target: new LambdaInvoke(sweeper, { retryAttempts: 0, maxEventAge: Duration.minutes(1) }),
    });

    // ── 5xx from the API ──
    aboveZero(
      'Api5xxAlarm',
      'The HTTP API answered 5xx',
      this.api.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' }),
    );

    if (props.alarmTopicArn) {
      const topic = Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn);
      for (const child of this.node.findAll()) if (child instanceof Alarm) child.addAlarmAction(new SnsAction(topic));
    }

    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint, description: 'Base URL of the HTTP API' });
    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'SecretsArn', {
      value: secrets.secretArn,
      description:
        'The Lambdas’ keys as JSON (JWT_SECRET, WEBHOOK_SECRET for the shop, ATTRIBUTION_SECRET): read or change them here',
    });
  }
}
