/**
 * A synthesized stack as IAM sees it once deployed: the policies of each role (identity policies,
 * permissions boundary) and the resource policies (queues, KMS keys), with CloudFormation's
 * intrinsic functions resolved to the physical names the tests use (the DynamoDB Local table's
 * name for the table, an API id per WebSocket API, ...). Read from the template, never from the
 * construct's own lists.
 */
import { createHash } from 'crypto';
import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

/** The account every test deployment lives in. */
export const ACCOUNT = '123456789012';
/** The Region of a stack without one. */
export const DEFAULT_REGION = 'us-east-1';

type Json = any;

/** An IAM policy document. */
export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: Json[];
}

/** What the simulator needs of a role. */
export interface RolePolicies {
  readonly roleArn: string;
  readonly identityPolicies: ReadonlyArray<{ readonly name: string; readonly policy: PolicyDocument }>;
  readonly permissionsBoundary?: PolicyDocument;
}

/** Physical names chosen by the test, by logical id. */
export type PhysicalNames = Readonly<Record<string, string>>;

/** A stable fake id made of `length` lowercase letters and digits (API ids are 10 such). */
function fakeId(seed: string, length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const digest = createHash('sha256').update(seed).digest();
  return Array.from({ length }, (_, index) => alphabet[digest[index] % alphabet.length]).join('');
}

/** The deployed stack: resolved resources and policies. */
export class Deployment {
  readonly template: Template;
  readonly region: string;
  readonly account = ACCOUNT;
  private readonly resources: Record<string, Json>;

  constructor(readonly stack: Stack, private readonly names: PhysicalNames = {}) {
    this.template = Template.fromStack(stack);
    this.resources = this.template.toJSON().Resources;
    this.region = stack.region.startsWith('${Token') ? DEFAULT_REGION : stack.region;
  }

  /** The logical id of a construct's (or a construct's default child's) resource. */
  logicalId(construct: { node: { defaultChild?: unknown } }): string {
    return this.stack.getLogicalId((construct.node.defaultChild ?? construct) as never);
  }

  /** The policies IAM evaluates for requests of the role with this logical id. */
  rolePolicies(roleLogicalId: string): RolePolicies {
    const role = this.resource(roleLogicalId, 'AWS::IAM::Role');
    const identityPolicies: Array<{ name: string; policy: PolicyDocument }> = [];
    for (const [id, resource] of Object.entries(this.resources)) {
      if (resource.Type !== 'AWS::IAM::Policy') continue;
      const roles = (resource.Properties.Roles ?? []) as Json[];
      if (!roles.some((ref) => ref?.Ref === roleLogicalId)) continue;
      identityPolicies.push({ name: id, policy: this.resolve(resource.Properties.PolicyDocument) });
    }
    for (const inline of role.Properties.Policies ?? []) {
      identityPolicies.push({ name: `${roleLogicalId}/${inline.PolicyName}`, policy: this.resolve(inline.PolicyDocument) });
    }
    for (const arn of role.Properties.ManagedPolicyArns ?? []) {
      const ref = arn?.Ref;
      // AWS managed policies (basic execution, VPC access) grant logs and network interfaces only.
      if (typeof ref === 'string' && this.resources[ref]?.Type === 'AWS::IAM::ManagedPolicy') {
        identityPolicies.push({ name: ref, policy: this.resolve(this.resources[ref].Properties.PolicyDocument) });
      }
    }
    const boundary = role.Properties.PermissionsBoundary;
    let permissionsBoundary: PolicyDocument | undefined;
    if (boundary !== undefined) {
      const ref = boundary.Ref;
      if (typeof ref !== 'string' || this.resources[ref]?.Type !== 'AWS::IAM::ManagedPolicy') {
        throw new Error(`role ${roleLogicalId}: its permissions boundary ${JSON.stringify(boundary)} is not a managed policy of the stack`);
      }
      permissionsBoundary = this.resolve(this.resources[ref].Properties.PolicyDocument);
    }
    return { roleArn: this.resolve({ 'Fn::GetAtt': [roleLogicalId, 'Arn'] }), identityPolicies, ...(permissionsBoundary ? { permissionsBoundary } : {}) };
  }

  /** The role of a Lambda function resource. */
  functionRole(functionLogicalId: string): string {
    const role = this.resource(functionLogicalId, 'AWS::Lambda::Function').Properties.Role;
    const id = role?.['Fn::GetAtt']?.[0];
    if (typeof id !== 'string') throw new Error(`function ${functionLogicalId}: its role ${JSON.stringify(role)} is not a role of the stack`);
    return id;
  }

  /** The resource policy of the resource with this ARN (queue policy, KMS key policy), if any. */
  resourcePolicy(arn: string): PolicyDocument | undefined {
    for (const [id, resource] of Object.entries(this.resources)) {
      if (resource.Type === 'AWS::KMS::Key' && this.resolve({ 'Fn::GetAtt': [id, 'Arn'] }) === arn) return this.resolve(resource.Properties.KeyPolicy);
      if (resource.Type === 'AWS::SQS::QueuePolicy') {
        const queues = (resource.Properties.Queues as Json[]).map((queue) => this.resolve(queue));
        if (queues.includes(this.queueUrlOfArn(arn))) return this.resolve(resource.Properties.PolicyDocument);
      }
    }
    return undefined;
  }

  /** The physical value of `Ref` or `Fn::GetAtt` of a resource, e.g. the API id. */
  resolve<T = Json>(value: Json): T {
    if (Array.isArray(value)) return value.map((item) => this.resolve(item)).filter((item) => item !== NO_VALUE) as T;
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) return this.intrinsic(keys[0], value[keys[0]]);
    const out: Record<string, Json> = {};
    for (const [key, item] of Object.entries(value)) {
      const resolved = this.resolve(item);
      if (resolved !== NO_VALUE) out[key] = resolved;
    }
    return out as T;
  }

  /** The name (table, queue, log group, role), id (API, key) or value a resource's `Ref` gives. */
  physicalName(logicalId: string): string {
    const resource = this.resources[logicalId];
    if (!resource) throw new Error(`no resource ${logicalId} in the stack`);
    const given = this.names[logicalId];
    if (given !== undefined) return given;
    switch (resource.Type) {
      case 'AWS::DynamoDB::GlobalTable':
      case 'AWS::DynamoDB::Table':
        return resource.Properties.TableName ?? logicalId.toLowerCase();
      case 'AWS::ApiGatewayV2::Api':
        return fakeId(logicalId, 10);
      case 'AWS::ApiGatewayV2::Stage':
        return resource.Properties.StageName;
      case 'AWS::KMS::Key':
        return `${fakeId(logicalId, 8)}-0000-0000-0000-${fakeId(`${logicalId}/key`, 12)}`;
      default:
        return logicalId;
    }
  }

  private queueUrlOfArn(arn: string): string | undefined {
    const match = /^arn:aws:sqs:([^:]+):(\d+):(.+)$/.exec(arn);
    return match ? `https://sqs.${match[1]}.amazonaws.com/${match[2]}/${match[3]}` : undefined;
  }

  private resource(logicalId: string, type: string): Json {
    const resource = this.resources[logicalId];
    if (resource?.Type !== type) throw new Error(`${logicalId} is not a ${type} of the stack (${resource?.Type ?? 'missing'})`);
    return resource;
  }

  private ref(name: string): string {
    switch (name) {
      case 'AWS::Partition': return 'aws';
      case 'AWS::Region': return this.region;
      case 'AWS::AccountId': return this.account;
      case 'AWS::URLSuffix': return 'amazonaws.com';
      case 'AWS::StackName': return this.stack.stackName;
      case 'AWS::NoValue': return NO_VALUE;
    }
    const resource = this.resources[name];
    if (!resource) throw new Error(`Ref to ${name}: not a resource of the stack`);
    const physical = this.physicalName(name);
    switch (resource.Type) {
      case 'AWS::SQS::Queue': return `https://sqs.${this.region}.amazonaws.com/${this.account}/${physical}`;
      case 'AWS::IAM::ManagedPolicy': return `arn:aws:iam::${this.account}:policy/${physical}`;
      default: return physical;
    }
  }

  private getAtt(logicalId: string, attribute: string): string {
    const resource = this.resources[logicalId];
    if (!resource) throw new Error(`Fn::GetAtt of ${logicalId}: not a resource of the stack`);
    const name = this.physicalName(logicalId);
    const arn = (service: string, resourcePart: string) => `arn:aws:${service}:${this.region}:${this.account}:${resourcePart}`;
    const key = `${resource.Type}.${attribute}`;
    switch (key) {
      case 'AWS::DynamoDB::GlobalTable.Arn':
      case 'AWS::DynamoDB::Table.Arn': return arn('dynamodb', `table/${name}`);
      case 'AWS::SQS::Queue.Arn': return arn('sqs', name);
      case 'AWS::SQS::Queue.QueueName': return name;
      case 'AWS::SQS::Queue.QueueUrl': return this.ref(logicalId);
      case 'AWS::KMS::Key.Arn': return arn('kms', `key/${name}`);
      case 'AWS::Logs::LogGroup.Arn': return arn('logs', `log-group:${name}:*`);
      case 'AWS::IAM::Role.Arn': return `arn:aws:iam::${this.account}:role/${name}`;
      case 'AWS::Lambda::Function.Arn': return arn('lambda', `function:${name}`);
      case 'AWS::Events::Rule.Arn': return arn('events', `rule/${name}`);
      case 'AWS::ApiGatewayV2::Api.ApiEndpoint': return `wss://${name}.execute-api.${this.region}.amazonaws.com`;
      default: throw new Error(`Fn::GetAtt ${logicalId}.${attribute} (${resource.Type}): not resolved yet; add it to test/iam/support/deployment.ts`);
    }
  }

  private intrinsic(name: string, argument: Json): Json {
    switch (name) {
      case 'Ref': return this.ref(argument);
      case 'Fn::GetAtt': {
        const [id, attribute] = Array.isArray(argument) ? argument : String(argument).split('.');
        return this.getAtt(id, attribute);
      }
      case 'Fn::Join': {
        const [separator, parts] = argument;
        return (this.resolve(parts) as Json[]).join(separator);
      }
      case 'Fn::Select': {
        const [index, list] = argument;
        return (this.resolve(list) as Json[])[Number(this.resolve(index))];
      }
      case 'Fn::Split': {
        const [separator, text] = argument;
        return String(this.resolve(text)).split(separator);
      }
      case 'Fn::Sub': {
        const [text, variables] = Array.isArray(argument) ? argument : [argument, {}];
        return String(text).replace(/\$\{([^}]+)\}/g, (_, variable: string) => {
          if (variable in variables) return this.resolve(variables[variable]);
          const [id, attribute] = variable.split('.');
          return attribute ? this.getAtt(id, attribute) : this.ref(id);
        });
      }
      default:
        throw new Error(`${name} is not resolved yet; add it to test/iam/support/deployment.ts`);
    }
  }
}

/** `AWS::NoValue`: dropped from lists and objects. */
const NO_VALUE = Symbol('AWS::NoValue') as unknown as string;
