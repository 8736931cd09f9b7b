import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { applyNagSuppressions } from './nag.ts';
import { FissionStack, SettingsError } from './stack.ts';

/**
 * `npx cdk synth|deploy`. Configuration comes from context, never from the shell's environment (which
 * holds local settings): `-c publicBaseUrl=https://go.example.com`, `-c allowedRedirectHosts=a.com,b.com`,
 * `-c corsOrigins=https://m.example.com`, `-c jwtIssuer=…`, `-c jwtAudience=…`,
 * `-c alarmTopicArn=arn:aws:sns:…` (where alarms notify). cdk-nag's AwsSolutions
 * pack runs on every synth; accepted findings are acknowledged with reasons in nag.ts.
 */
const app = new App();
const context = (key: string): string | undefined => app.node.tryGetContext(key) as string | undefined;

const list = (s: string | undefined) =>
  s
    ?.split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const stack = makeStack();

function makeStack(): FissionStack {
  try {
    return new FissionStack(app, 'Fission', {
      description: 'Fission: serverless growth backend (invites, bargains, group buys, KOL attribution, rewards)',
      env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
      publicBaseUrl: context('publicBaseUrl'),
      allowedRedirectHosts: list(context('allowedRedirectHosts')),
      corsOrigins: list(context('corsOrigins')),
      jwtIssuer: context('jwtIssuer'),
      jwtAudience: context('jwtAudience'),
      alarmTopicArn: context('alarmTopicArn'),
    });
  } catch (e) {
    if (!(e instanceof SettingsError)) throw e;
    // A bad setting: its one line, not a stack trace.
    console.error(e.message);
    process.exit(1);
  }
}

Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
applyNagSuppressions(stack);
app.synth();
