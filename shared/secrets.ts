import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * The environment with secrets filled in. On AWS, `SECRETS_ARN` names a Secrets Manager secret
 * holding `{ JWT_SECRET, WEBHOOK_SECRET, ATTRIBUTION_SECRET }`; it is read once, at cold start.
 * Locally the variables come from the environment as they are.
 */
export async function loadSecrets(
  env: Record<string, string | undefined> = process.env,
): Promise<Record<string, string | undefined>> {
  const arn = env.SECRETS_ARN;
  if (!arn) return env;
  const client = new SecretsManagerClient({ region: env.AWS_REGION });
  const r = await client.send(new GetSecretValueCommand({ SecretId: arn }));
  const values = JSON.parse(r.SecretString ?? '{}') as Record<string, string>;
  for (const k of ['JWT_SECRET', 'WEBHOOK_SECRET']) if (!values[k]) throw new Error(`Secret ${arn} has no ${k}`);
  return { ...env, ...values };
}
