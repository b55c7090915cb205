import { Key } from 'aws-cdk-lib/aws-kms';
import type { IamRequest } from './support/iam-requests';
import { simulateAll } from './support/simulator';
import { grantStack } from './support/stacks';

/**
 * A table with a customer managed key: DynamoDB uses the key on behalf of the caller
 * (`kms:ViaService` = DynamoDB), so every role whose code calls DynamoDB needs it, as the key
 * policy and the role's policy together allow (an independent IAM simulator; the key policy is the
 * key's resource policy). The runtime itself sends no KMS request.
 */
test('with a customer managed table key, every role that calls DynamoDB may use the key through DynamoDB', async () => {
  let key: Key | undefined;
  const grants = grantStack({
    tableName: 'iam-kms',
    region: 'eu-west-1',
    props: {},
    withStack: (stack) => ({ encryptionKey: (key = new Key(stack, 'TableKey')) }),
  });
  const keyArn = grants.deployment.resolve<string>({ 'Fn::GetAtt': [grants.deployment.logicalId(key!), 'Arn'] });
  const context = { 'aws:SecureTransport': 'true', 'kms:ViaService': 'dynamodb.eu-west-1.amazonaws.com', 'kms:CallerAccount': grants.deployment.account };
  const uses: IamRequest[] = ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:Encrypt'].map((action) => ({ action, resource: keyArn, context, describe: action }));
  // The key policy is the key's own (it lets the account's IAM policies decide).
  expect(grants.deployment.resourcePolicy(keyArn)).toBeDefined();
  for (const role of grants.roles) {
    const decisions = await simulateAll(grants.deployment, grants.deployment.rolePolicies(role.roleLogicalId), uses);
    expect({ role: role.name, refused: decisions.filter((decision) => decision.result !== 'Allowed').map((decision) => `${decision.request.describe}: ${decision.why}`) })
      .toEqual({ role: role.name, refused: [] });
    expect(decisions.flatMap((decision) => decision.ignoredContextKeys)).toEqual([]);
  }
  // A key nobody granted is refused: the allowance above is the grant's.
  const other = uses.map((use) => ({ ...use, resource: keyArn.replace(/key\/.*/, 'key/00000000-0000-0000-0000-000000000000') }));
  const handler = grants.roles.find((role) => role.name === '$default handler')!;
  expect((await simulateAll(grants.deployment, grants.deployment.rolePolicies(handler.roleLogicalId), other)).map((decision) => decision.result))
    .toEqual(['ImplicitlyDenied', 'ImplicitlyDenied', 'ImplicitlyDenied']);
});
